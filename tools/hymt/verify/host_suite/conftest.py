"""Settings of the host suite: what `hymt verify` passes in the environment, then the inventory's variables
(Testinfra's ansible backend) for what it left out."""

from __future__ import annotations

import os

import pytest

NO_GPU = "no GPU: "  # the prefix hymt verify reads as the rehearsal profile's expected skip


@pytest.fixture
def settings(host) -> dict:
    values = {
        "profile": os.environ.get("HYMT_VERIFY_PROFILE", "gpu"),
        "stack_dir": os.environ.get("HYMT_VERIFY_STACK_DIR", "/opt/hymt/stack/current"),
        "project": os.environ.get("HYMT_VERIFY_COMPOSE_PROJECT", "hymt"),
        "services": os.environ.get("HYMT_VERIFY_SERVICES", "vllm,web,proxy").split(","),
        "model_dir": os.environ.get("HYMT_VERIFY_MODEL_DIR", ""),
        "ssh_port": int(os.environ.get("HYMT_VERIFY_SSH_PORT", "22")),
        "web_ports": [80, 443],
    }
    if host.backend.NAME == "ansible":
        variables = host.ansible.get_variables()
        values["model_dir"] = values["model_dir"] or str(variables.get("hymt_model_dir") or "")
        values["ssh_port"] = int(variables.get("firewall_ssh_port") or values["ssh_port"])
    return values
