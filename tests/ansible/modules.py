"""The project's own Ansible modules (roles/*/library/), run in-process as Ansible runs them on a host: loaded from
their file, given their parameters the way AnsiballZ passes them, their result caught as the JSON they would print."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Exited(Exception):
    def __init__(self, result: dict):
        self.result = result


def run_module(module: ModuleType, monkeypatch: pytest.MonkeyPatch, **params) -> dict:
    """The module's result for these parameters (with failed: true when it failed), as its JSON would reach Ansible."""
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": params})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)

    def exit_json(self, **result):
        raise Exited(result)

    def fail_json(self, **result):
        raise Exited(result | {"failed": True})

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    with pytest.raises(Exited) as exited:
        module.main()
    return exited.value.result
