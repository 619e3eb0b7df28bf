"""The GPU test script as `hymt verify` runs it (`python3 -c <script>`), with a NumPy stand-in for PyTorch that
pretends to have GPUs (tests/verify/standin_torch/README.md): every line of its GPU branch runs here, and a broken
GPU or missing CUDA is reported. The real script on the real CPU image runs in test_rehearsal_host.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hymt.verify.gpu import probe_source, read_probe

STANDIN = Path(__file__).parent / "standin_torch"


def probe(*args: str, gpus: int = 2, broken: str = "", with_torch: bool = True) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYMT_STANDIN")}
    env |= {"HYMT_STANDIN_GPUS": str(gpus), "HYMT_STANDIN_BROKEN_GPU": broken, "PATH": "/usr/bin:/bin"}
    env["PYTHONPATH"] = str(STANDIN) if with_torch else "/nonexistent"
    done = subprocess.run(
        [sys.executable, "-I" if not with_torch else "-B", "-c", probe_source(), *args],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    assert done.stderr or not with_torch
    return read_probe(done.stdout)


SMALL = ("--size", "64", "--bench-size", "32", "--repeats", "2")


def test_each_gpu_gets_a_tensor_and_a_product_checked_against_the_cpu_with_its_speed():
    report = probe(*SMALL)
    assert report["cuda_available"] is True and report["device_count"] == 2
    assert [d["index"] for d in report["devices"]] == [0, 1]
    for device in report["devices"]:
        assert device["name"] == "Stand-in GPU" and device["memory_mib"] == 24 * 1024 and device["capability"] == "8.9"
        assert device["tensor_ok"] is True
        assert device["matmul"]["ok"] is True and device["matmul"]["relative_error"] < 1e-6
        assert device["matmul"]["fp16_tflops"] >= 0
    # No nvidia-smi on this PATH: reported, not hidden; nvcc reported where the machine has CUDA's.
    assert report["nvidia_smi"]["rc"] == 127
    has_nvcc = Path("/usr/local/cuda/bin/nvcc").exists()
    assert (report["nvcc"] is not None) == has_nvcc


def test_a_gpu_that_multiplies_wrongly_is_caught():
    report = probe(*SMALL, broken="1")
    assert report["devices"][0]["matmul"]["ok"] is True
    assert report["devices"][1]["matmul"]["ok"] is False and report["devices"][1]["matmul"]["relative_error"] > 0.1


def test_quick_mode_moves_a_tensor_only():
    report = probe("--quick")
    assert all("matmul" not in device for device in report["devices"]) and "nvidia_smi" not in report


def test_without_cuda_it_says_so_and_proves_the_cpu_computes():
    report = probe(gpus=0)
    assert report["cuda_available"] is False and report["devices"] == [] and report["cpu_matmul_ok"] is True


def test_without_torch_it_reports_the_import_error():
    report = probe(with_torch=False)
    assert report["torch"] is None and report["error"].startswith("import torch failed: ModuleNotFoundError")
