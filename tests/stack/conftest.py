"""The rehearsal stack for real on the local Docker engine: CPU vLLM with the rehearsal model, the web app, Caddy.

One stack for the whole module, started the way `make stack-up` starts it (tools/scripts/stack up, which also
runs `hymt verify`), under its own Compose project name and free ports so it never touches a user's rehearsal, and
torn down at the end with nothing left behind.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import require
from tests.support.local_stack import MODEL_DIR, REHEARSE, Stack, images_present, local_stack
from tests.support.repo import PINS, ROOT

PROJECT = "hymt-test-stack"

# What the package's tests import from here.
__all__ = ["PROJECT", "REHEARSE", "ROOT"]


@pytest.fixture(scope="package")
def stack(docker_engine, tmp_path_factory) -> Iterator[Stack]:
    pins = PINS
    needed = (pins["hymt_vllm_cpu_image"], pins["hymt_web_image"], pins["hymt_caddy_image"])
    require(images_present(*needed), f"images {needed} are missing: run 'make stack-up' or 'make test'")
    require((MODEL_DIR / "config.json").exists(), "no rehearsal model: run 'make rehearsal-model'")
    with local_stack(PROJECT, tmp_path_factory.mktemp("hymt-state")) as stack:
        yield stack
