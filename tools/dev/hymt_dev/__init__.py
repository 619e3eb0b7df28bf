"""Development tools of the hymt-deploy checkout (not shipped: the hymt wheel holds only hymt and hymt_web).

- rehearsal_host: the VM-like rehearsal host container (make rehearsal-host-image / -up / -down, the tests).
- apt_repo: the stand-in apt repositories of the GPU-path tests, built, signed and served from a tools image
  (make gpu-repo-image, tests/gpu).
- gateway_bench: the gateway's figures in docs/reliability.md (make bench-gateway).
- overhead_bench: direct, gateway and proxy + gateway side by side (make bench-overhead, docs/performance.md).
- startup_bench: the rehearsal stack from compose up to /readyz 200, cold, recreated, restarted (make bench-startup).

They work on the checkout they live in: REPO_ROOT, stated here once. The Makefile runs them with PYTHONPATH=tools/dev;
pytest finds them through pyproject.toml's pythonpath.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
