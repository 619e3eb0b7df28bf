"""Steps of the NVIDIA roles that run for real on this machine without touching it: the driver role stopping because
it may not reboot, and the toolkit role's proof that a container sees the GPUs (skipped without a GPU; with a real
Docker engine that lacks the toolkit, the engine's own error turned into advice).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import require
from tests.support.playbook import ROOT, run_playbook, write_inventory
from tests.support.repo import PINS

HERE = ROOT / "tests/gpu"
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
INSTALLED = {"action": "install", "reason": "Installing the NVIDIA Container Toolkit (test)."}


def inventory(directory, hosts: dict) -> str:
    return write_inventory(
        directory,
        {
            "all": {
                "hosts": {name: LOCAL | host_vars for name, host_vars in hosts.items()},
                "children": {"gpu_hosts": {"hosts": {name: {} for name in hosts}}},
            }
        },
    )


PLAN = {
    "action": "install",
    "reason": "Installing NVIDIA driver branch 580 on the host.",
    "reboot_allowed": False,
    "reboot_advice": "Reboot the host, then run the playbook again (test).",
    "image": PINS["hymt_vllm_image"],
}
UBUNTU = {
    "preflight_distribution": "Ubuntu",
    "preflight_kernel_release": "6.8.0-1021-aws",
    "preflight_secure_boot": False,
}
A10G = {"name": "NVIDIA A10G", "memory_mb": 23028, "bus_id": "00000000:00:1E.0", "uuid": "GPU-0"}


@pytest.fixture(scope="module")
def reboot_step(tmp_path_factory):
    """One run of the driver role's reboot step, a host per case; the installed driver is the stand-in nvidia-smi."""
    directory = tmp_path_factory.mktemp("driver-reboot")
    configs = {
        "answers": {"driver_version": "580.95.05", "gpus": [A10G]},
        "too-old": {"driver_version": "575.64.05", "cuda_version": "12.9", "gpus": [A10G]},
        "not-loaded": {"gpus": [A10G], "loaded_marker": str(directory / "never-loaded")},
        "mismatch": {"driver_version": "580.105.08", "gpus": [A10G], "state": "mismatch"},
    }
    hosts = {"may-not-reboot": {"nvidia_driver_plan": PLAN, "nvidia_driver_reboot_due": True}}
    for name, config in configs.items():
        (directory / f"{name}.json").write_text(json.dumps(config))
        hosts[name] = UBUNTU | {
            "nvidia_driver_plan": PLAN,
            "standin_bin": str(HERE / "standin_bin"),
            "standin_config": str(directory / f"{name}.json"),
            # How long to wait for nvidia-smi: one try is enough for a program that answers at once.
            "nvidia_driver_answer_timeout": 1,
        }
    # The note of a pending reboot goes below the test's directory, not this machine's /var/lib.
    markers = directory / "markers"
    run = run_playbook(
        HERE / "playbooks/driver-reboot.yml",
        inventory(directory, hosts),
        extra_vars={"nvidia_driver_reboot_marker": f"{markers}/{{{{ inventory_hostname }}}}"},
        timeout=900,
    )
    return run, markers


def test_an_installed_driver_that_may_not_reboot_leaves_a_marker_and_says_what_to_do(reboot_step):
    run, markers = reboot_step
    assert run.failure_messages("may-not-reboot") == [PLAN["reboot_advice"]], run.explain("may-not-reboot")
    # The next run finds the marker and reboots (when allowed) even though nothing changes then.
    assert (markers / "may-not-reboot").read_text() == PLAN["reason"] + "\n"
    # Hosts whose driver was checked leave none.
    assert sorted(path.name for path in markers.iterdir()) == ["may-not-reboot"]


def test_a_driver_that_answers_after_installing_passes_the_check(reboot_step):
    run, _ = reboot_step
    assert run.succeeded("answers"), run.explain("answers")
    assert "NVIDIA driver 580.95.05 answers." in run.messages("answers")
    recorded = [
        r
        for r in run.results
        if r.host == "answers" and "nvidia_driver_installed_version" in r.result.get("ansible_facts", {})
    ]
    assert recorded and recorded[0].result["ansible_facts"]["nvidia_driver_installed_version"] == "580.95.05"


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("too-old", [f"driver 575.64.05 is older than {PINS['hymt_vllm_cuda_driver_min']}", "stale mirror"]),
        (
            "not-loaded",
            ["nvidia-smi does not answer", "couldn't communicate", "sudo modprobe nvidia", "6.8.0-1021-aws"],
        ),
        ("mismatch", ["Driver/library version mismatch", "reboot the host"]),
    ],
)
def test_a_driver_that_does_not_work_after_installing_stops_the_run_with_advice(reboot_step, host, words):
    run, _ = reboot_step
    failures = run.failure_messages(host)
    assert len(failures) == 1, run.explain(host)
    for word in words:
        assert word in failures[0], f"{word!r} is not in: {failures[0]}"


def test_without_a_gpu_device_the_proof_is_skipped_saying_why(tmp_path):
    hosts = {
        "toolkit-not-installed": {},
        "no-gpu-device": {"nvidia_container_toolkit_plan": INSTALLED},
        "proof-turned-off": {"nvidia_container_toolkit_plan": INSTALLED, "nvidia_container_toolkit_verify": False},
        "no-gpu-device-cu129": {"nvidia_container_toolkit_plan": INSTALLED, "hymt_vllm_image_variant": "-cu129"},
    }
    run = run_playbook(
        HERE / "playbooks/toolkit-verify.yml",
        inventory(tmp_path, hosts),
        extra_vars={"nvidia_container_toolkit_gpu_device": "/nonexistent/hymt-test/nvidiactl"},
        timeout=120,
    )
    expected = {
        "toolkit-not-installed": "the toolkit was not installed here (its role did not run)",
        "no-gpu-device": "no /nonexistent/hymt-test/nvidiactl on this host: no NVIDIA GPU with a loaded driver",
        "proof-turned-off": "nvidia_container_toolkit_verify is false",
        "no-gpu-device-cu129": "no /nonexistent/hymt-test/nvidiactl on this host",
    }
    for host, reason in expected.items():
        assert run.succeeded(host), run.explain(host)
        assert any(
            message.startswith(f"Skipping the proof that containers see the GPUs: {reason}")
            for message in run.messages(host)
        ), run.explain(host)
    # The opted-in -cu129 image's start-up smoke test needs the GPUs too: skipped, saying why.
    cu129 = PINS["hymt_vllm_image"] + "-cu129"
    assert any(
        message.startswith(f"Skipping the start-up smoke test of {cu129}: no /nonexistent/hymt-test/nvidiactl")
        for message in run.messages("no-gpu-device-cu129")
    ), run.explain("no-gpu-device-cu129")
    assert not any("smoke test" in message for message in run.messages("no-gpu-device"))


def test_a_docker_engine_without_the_toolkit_fails_the_proof_with_advice(docker_engine, tmp_path):
    image = PINS["hymt_debian_image"]
    present = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode == 0
    require(present, f"the stand-in image {image} is not built (make standins)")
    run = run_playbook(
        HERE / "playbooks/toolkit-verify.yml",
        inventory(tmp_path, {"gpu-1": {"nvidia_container_toolkit_plan": INSTALLED}}),
        # A device that exists, so the proof runs, in an image this machine has: Docker itself answers.
        extra_vars={"nvidia_container_toolkit_gpu_device": "/dev/null", "nvidia_container_toolkit_verify_image": image},
        timeout=120,
    )
    failures = run.failure_messages("gpu-1")
    assert len(failures) == 1, run.explain("gpu-1")
    assert 'could not select device driver "" with capabilities: [[gpu]]' in failures[0]
    assert "the NVIDIA Container Toolkit is missing, or Docker was not restarted" in failures[0]
