"""What the docker and NVIDIA roles decide from the preflight facts, before they would change anything.

Run on this machine with faked facts (and in check mode for the docker role): a snap Docker and a daemon.json the
engine would refuse stop the run with a message; the NVIDIA roles skip, saying why, without a GPU or on WSL, keep a
working driver, and say plainly that installing one is not automated yet.
"""

from __future__ import annotations

import pytest

from tests.ansible.conftest import A10, GPU_SERVER_GROUPS, REHEARSAL_GROUPS, UNDRIVEN_L4, Case


def role_case(role: str, facts: dict | None = None, groups=GPU_SERVER_GROUPS, **host_vars) -> Case:
    # Check mode: whatever a role would change on this machine, it only reports.
    return Case(
        groups=groups, host_vars={"test_role": role, **host_vars}, facts=facts or {}, playbook="role.yml", check=True
    )


WORKING_DRIVER = {
    "preflight_nvidia_gpus": [A10],
    "preflight_nvidia_driver_version": "580.95.05",
    "preflight_nvidia_cuda_version": "13.0",
}

CASES = {
    "docker-refuses-snap": role_case("docker", {"preflight_docker_snap": True}),
    "docker-unknown-engine-source": role_case("docker", docker_engine_source="snap"),
    "docker-daemon-json-the-engine-would-refuse": role_case(
        "docker",
        docker_daemon_extra_options={"log-opts": {"max-file": 5}, "live-restor": True},
    ),
    "driver-no-gpu": role_case("nvidia_driver"),
    "driver-rehearsal": role_case("nvidia_driver", groups=REHEARSAL_GROUPS),
    "driver-wsl": role_case("nvidia_driver", {"preflight_is_wsl": True, **WORKING_DRIVER}),
    "driver-working": role_case("nvidia_driver", WORKING_DRIVER),
    "driver-missing": role_case("nvidia_driver", {"preflight_nvidia_gpus": [UNDRIVEN_L4]}),
    "toolkit-no-gpu": role_case("nvidia_container_toolkit"),
    "toolkit-rehearsal": role_case("nvidia_container_toolkit", groups=REHEARSAL_GROUPS),
    "toolkit-gpu": role_case("nvidia_container_toolkit", WORKING_DRIVER),
}

REFUSALS = {
    "docker-refuses-snap": ["is the snap package", "sudo snap remove --purge docker", "could not select device driver"],
    "docker-unknown-engine-source": ["docker_engine_source", "ce, distribution", "snap"],
    "docker-daemon-json-the-engine-would-refuse": [
        "would not start with this daemon.json",
        '"live-restor" is not a daemon.json option',
        'log option "max-file" must be a string',
    ],
    "driver-missing": [
        "AD104GL [L4] but no working NVIDIA driver",
        "does not install one yet",
        "branch 580",
        "nvidia-open",
    ],
    "toolkit-gpu": ["does not install the NVIDIA Container Toolkit yet", "1.20.0-1", "nvidia-container-runtime"],
}

SKIPS = {
    "driver-no-gpu": "Skipping the NVIDIA driver: no NVIDIA GPU on this host",
    "driver-rehearsal": "Skipping the NVIDIA driver: nvidia_driver_enabled is false in the inventory (as in the",
    "driver-wsl": "Skipping the NVIDIA driver: this is WSL: the NVIDIA driver comes from Windows",
    "toolkit-no-gpu": "Skipping the NVIDIA Container Toolkit: no NVIDIA GPU on this host",
    "toolkit-rehearsal": "Skipping the NVIDIA Container Toolkit: nvidia_container_toolkit_enabled is false",
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_role_refuses_with_a_message_that_says_what_to_do(local_runs, name):
    run = local_runs.result(name)
    assert not run.succeeded(name), f"{name}: the run passed\n{run.explain(name)}"
    failures = run.failure_messages(name)
    assert len(failures) == 1, run.explain(name)
    for words in REFUSALS[name]:
        assert words in failures[0], f"{name}: {words!r} is not in the message:\n{failures[0]}"


@pytest.mark.parametrize("name", sorted(SKIPS))
def test_an_nvidia_role_skips_saying_why(local_runs, name):
    run = local_runs.result(name)
    assert run.succeeded(name), run.explain(name)
    assert any(message.startswith(SKIPS[name]) for message in run.messages(name)), run.explain(name)
    assert not run.changed_tasks(name), run.explain(name)


def test_a_working_driver_is_kept(local_runs):
    run = local_runs.result("driver-working")
    assert run.succeeded("driver-working"), run.explain("driver-working")
    assert "Keeping NVIDIA driver 580.95.05 (CUDA 13.0) on NVIDIA A10." in run.messages("driver-working")


def test_a_skipped_toolkit_contributes_no_runtime(local_runs):
    run = local_runs.result("toolkit-no-gpu")
    decided = [
        r
        for r in run.results
        if r.host == "toolkit-no-gpu" and r.task.endswith("Decide whether this host needs the toolkit")
    ]
    assert decided, run.explain("toolkit-no-gpu")
    assert decided[0].result["ansible_facts"]["nvidia_container_toolkit_docker_runtimes"] == {}
