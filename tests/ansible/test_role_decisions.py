"""What the docker role decides from the preflight facts, before it would change anything.

Run on this machine with faked facts, in check mode: a snap Docker and a daemon.json the engine would refuse stop the
run with a message. The NVIDIA roles' decisions are tested on transcribed outputs of GPU machines in tests/gpu/.
"""

from __future__ import annotations

import pytest

from tests.ansible.conftest import GPU_SERVER_GROUPS, Case


def role_case(role: str, facts: dict | None = None, groups=GPU_SERVER_GROUPS, **host_vars) -> Case:
    # Check mode: whatever a role would change on this machine, it only reports.
    return Case(
        groups=groups, host_vars={"test_role": role, **host_vars}, facts=facts or {}, playbook="role.yml", check=True
    )


CASES = {
    "docker-refuses-snap": role_case("docker", {"preflight_docker_snap": True}),
    "docker-unknown-engine-source": role_case("docker", docker_engine_source="snap"),
    "docker-daemon-json-the-engine-would-refuse": role_case(
        "docker",
        docker_daemon_extra_options={"log-opts": {"max-file": 5}, "live-restor": True},
    ),
}

REFUSALS = {
    "docker-refuses-snap": ["is the snap package", "sudo snap remove --purge docker", "could not select device driver"],
    "docker-unknown-engine-source": ["docker_engine_source", "ce, distribution", "snap"],
    "docker-daemon-json-the-engine-would-refuse": [
        "would not start with this daemon.json",
        '"live-restor" is not a daemon.json option',
        'log option "max-file" must be a string',
    ],
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_role_refuses_with_a_message_that_says_what_to_do(local_runs, name):
    message = local_runs.result(name).refusal(name)
    for words in REFUSALS[name]:
        assert words in message, f"{name}: {words!r} is not in the message:\n{message}"
