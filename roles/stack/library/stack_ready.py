#!/usr/bin/python
"""Whether the stack serves: vLLM's container state and, once vLLM is healthy, the web app's /readyz, in one call.

The stack role asked the two in two tasks (docker_container_info, then docker_container_exec), two module calls on the
host even when the stack was ready long ago, as every re-run finds it. This module asks Docker's command line for
vLLM's container (docker inspect: exists, State, RestartCount, as docker_container_info returns them) and, when its
health check passes, asks the web app's /readyz from inside its container (docker exec, as the exec task did). The
role polls it while vLLM loads the model and keeps its own wait for a web app that is not ready yet.
"""

from __future__ import annotations

import json

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: stack_ready
short_description: Ask whether vLLM is healthy and, if so, whether the web app answers /readyz
description:
  - vLLM's container as docker inspect shows it (exists, State, RestartCount).
  - When its health check passes, the web app's readiness, asked inside its container with its own Python.
  - Changes nothing; runs in check mode.
options:
  vllm_container:
    description: vLLM's container.
    type: str
    required: true
  web_container:
    description: The web app's container.
    type: str
    required: true
  readyz_url:
    description: The web app's readiness address inside its container.
    type: str
    default: http://127.0.0.1:8000/readyz
  docker:
    description: Docker's command line.
    type: str
    default: docker
"""

RETURN = r"""
vllm:
  description: "{exists, container: {State, RestartCount}}; container is {} when vLLM's container does not exist."
  type: dict
  returned: success
web:
  description: >-
    {asked, rc, stderr}: whether /readyz was asked (only when vLLM is healthy), the check's exit code (0: ready) and
    what it said.
  type: dict
  returned: success
"""

READYZ_CHECK = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)"


def inspect(module: AnsibleModule, container: str) -> dict:
    rc, stdout, stderr = module.run_command([module.params["docker"], "container", "inspect", container])
    if rc != 0:
        if "no such" in stderr.lower():
            return {"exists": False, "container": {}}
        module.fail_json(msg=f"docker container inspect {container} failed: {stderr.strip() or stdout.strip()}")
    try:
        (details,) = json.loads(stdout)
    except ValueError:
        module.fail_json(msg=f"docker container inspect {container} printed what is not one container: {stdout[:300]}")
    return {
        "exists": True,
        "container": {"State": details.get("State", {}), "RestartCount": details.get("RestartCount", 0)},
    }


def healthy(vllm: dict) -> bool:
    return vllm["exists"] and (vllm["container"]["State"].get("Health") or {}).get("Status") == "healthy"


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "vllm_container": {"type": "str", "required": True},
            "web_container": {"type": "str", "required": True},
            "readyz_url": {"type": "str", "default": "http://127.0.0.1:8000/readyz"},
            "docker": {"type": "str", "default": "docker"},
        },
        supports_check_mode=True,
    )
    params = module.params
    vllm = inspect(module, params["vllm_container"])
    web = {"asked": False, "rc": None, "stderr": ""}
    if healthy(vllm):
        # A web app that cannot be asked (no container, no Python) is not ready: the role's own wait then says why.
        rc, _, stderr = module.run_command(
            [params["docker"], "exec", params["web_container"], "python3", "-c", READYZ_CHECK, params["readyz_url"]]
        )
        web = {"asked": True, "rc": rc, "stderr": stderr.strip()}
    module.exit_json(changed=False, vllm=vllm, web=web)


if __name__ == "__main__":
    main()
