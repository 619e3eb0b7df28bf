"""Steps of the NVIDIA roles that run for real on this machine without touching it: the driver role stopping because
it may not reboot, and the toolkit role's proof that a container sees the GPUs (skipped without a GPU; with a real
Docker engine that lacks the toolkit, the engine's own error turned into advice).
"""

from __future__ import annotations

import subprocess
import sys

import yaml

from tests.ansible.playbook import ROOT, run_playbook, write_inventory
from tests.conftest import require

HERE = ROOT / "tests/gpu"
PINS = yaml.safe_load((ROOT / "inventory/group_vars/all/versions.yml").read_text())
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


def test_an_installed_driver_that_may_not_reboot_leaves_a_marker_and_says_what_to_do(tmp_path):
    marker = tmp_path / "state" / "nvidia-driver-reboot-pending"
    plan = {
        "action": "install",
        "reason": "Installing NVIDIA driver branch 580 on gpu-1.",
        "reboot_allowed": False,
        "reboot_advice": "Reboot gpu-1, then run the playbook again (test).",
    }
    run = run_playbook(
        HERE / "playbooks/driver-reboot.yml",
        inventory(tmp_path, {"gpu-1": {}}),
        extra_vars={
            "nvidia_driver_plan": plan,
            "__nvidia_driver_changed": True,
            "__nvidia_driver_reboot_marker": str(marker),
        },
        timeout=120,
    )
    assert run.failure_messages("gpu-1") == [plan["reboot_advice"]], run.explain("gpu-1")
    # The next run finds the marker and reboots (when allowed) even though nothing changes then.
    assert marker.read_text() == plan["reason"] + "\n"


def test_without_a_gpu_device_the_proof_is_skipped_saying_why(tmp_path):
    hosts = {
        "toolkit-not-installed": {},
        "no-gpu-device": {"nvidia_container_toolkit_plan": INSTALLED},
        "proof-turned-off": {"nvidia_container_toolkit_plan": INSTALLED, "nvidia_container_toolkit_verify": False},
    }
    run = run_playbook(
        HERE / "playbooks/toolkit-verify.yml",
        inventory(tmp_path, hosts),
        extra_vars={"__nvidia_container_toolkit_device": "/nonexistent/hymt-test/nvidiactl"},
        timeout=120,
    )
    expected = {
        "toolkit-not-installed": "the toolkit was not installed here (its role did not run)",
        "no-gpu-device": "no /nonexistent/hymt-test/nvidiactl on this host: no NVIDIA GPU with a loaded driver",
        "proof-turned-off": "nvidia_container_toolkit_verify is false",
    }
    for host, reason in expected.items():
        assert run.succeeded(host), run.explain(host)
        assert any(
            message.startswith(f"Skipping the proof that containers see the GPUs: {reason}")
            for message in run.messages(host)
        ), run.explain(host)


def test_a_docker_engine_without_the_toolkit_fails_the_proof_with_advice(docker_engine, tmp_path):
    image = PINS["hymt_debian_image"]
    present = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode == 0
    require(present, f"the stand-in image {image} is not built (make standins)")
    run = run_playbook(
        HERE / "playbooks/toolkit-verify.yml",
        inventory(tmp_path, {"gpu-1": {"nvidia_container_toolkit_plan": INSTALLED}}),
        # A device that exists, so the proof runs, in an image this machine has: Docker itself answers.
        extra_vars={"__nvidia_container_toolkit_device": "/dev/null", "nvidia_container_toolkit_verify_image": image},
        timeout=120,
    )
    failures = run.failure_messages("gpu-1")
    assert len(failures) == 1, run.explain("gpu-1")
    assert 'could not select device driver "" with capabilities: [[gpu]]' in failures[0]
    assert "the NVIDIA Container Toolkit is missing, or Docker was not restarted" in failures[0]
