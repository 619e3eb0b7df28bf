"""Each role's README.md is generated from its meta/argument_specs.yml (make role-docs), whose defaults match
defaults/main.yml: a README that is out of date, or a spec that disagrees with the role's defaults, fails here."""

from __future__ import annotations

import shutil

import pytest
import yaml

from hymt_dev import role_docs


@pytest.mark.parametrize("role", role_docs.roles(), ids=lambda role: role.name)
def test_the_readme_and_the_spec_are_up_to_date(role):
    assert role_docs.problems(role) == []


def test_every_role_has_a_spec_and_a_readme():
    assert {role.name for role in role_docs.roles()} == {
        path.name for path in role_docs.ROLES.iterdir() if (path / "tasks/main.yml").exists()
    }


def test_the_readme_names_every_variable_with_its_default():
    readme = (role_docs.ROLES / "nvidia_driver/README.md").read_text()
    assert "| `nvidia_driver_reboot` | bool | `false` |" in readme
    assert "| `nvidia_driver_branch` | str | `{{ hymt_nvidia_driver_branch }}` |" in readme


def test_the_check_fails_on_a_changed_spec_and_on_a_default_that_differs(tmp_path, monkeypatch):
    role = tmp_path / "docker"
    shutil.copytree(role_docs.ROLES / "docker", role)
    monkeypatch.setattr(role_docs, "REPO_ROOT", tmp_path)
    assert role_docs.problems(role) == []
    spec_file = role / "meta/argument_specs.yml"
    spec = yaml.safe_load(spec_file.read_text())
    options = spec["argument_specs"]["main"]["options"]
    options["docker_ce_channel"]["description"] = "A description the README does not have yet."
    options["docker_ce_channel"]["default"] = "test"
    spec_file.write_text(yaml.safe_dump(spec))
    found = role_docs.problems(role)
    assert "docker/README.md is out of date: run 'make role-docs'" in found
    assert any("docker_ce_channel's default is 'test'" in problem for problem in found)
