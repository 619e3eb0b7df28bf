"""The roles take every version from versions.yml, the one place for pins."""

from __future__ import annotations

import re
import subprocess

import yaml

from tests.support.playbook import ROOT, VENV_BIN, ansible_env
from tests.support.repo import PINS

ROLE_FILES = sorted(
    path
    for path in (ROOT / "roles").rglob("*")
    if path.is_file() and path.suffix in {".yml", ".j2"} and "meta" not in path.parts
)
VERSION = re.compile(r"(?<![\w.])\d+\.\d+\.\d+(?![\w.])")


def test_role_defaults_take_their_versions_from_the_pins():
    expected = {
        ("docker", "docker_ce_version"): "hymt_docker_ce_version",
        ("docker", "docker_compose_deb_version"): "hymt_compose_deb_version",
        ("nvidia_driver", "nvidia_driver_branch"): "hymt_nvidia_driver_branch",
        ("nvidia_container_toolkit", "nvidia_container_toolkit_version"): "hymt_nvidia_container_toolkit_version",
    }
    for (role, variable), pin in expected.items():
        defaults = yaml.safe_load((ROOT / "roles" / role / "defaults/main.yml").read_text())
        assert defaults[variable] == "{{ " + pin + " }}", f"{role}: {variable} is {defaults[variable]!r}"
        assert pin in PINS


def test_no_role_writes_a_version_of_its_own():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in ROLE_FILES
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if VERSION.search(line.replace("127.0.0.1", ""))
    ]
    assert not found, "versions belong in versions.yml:\n" + "\n".join(found)


def test_the_control_machines_compose_fallback_is_the_pinned_one():
    # tools/scripts/ensure-docker installs the same Compose v2 package as the docker role when called directly.
    script = (ROOT / "tools/scripts/ensure-docker").read_text()
    fallback = re.search(r"HYMT_COMPOSE_DEB_VERSION:-([^}]+)\}", script)
    assert fallback and fallback.group(1) == PINS["hymt_compose_deb_version"]


def test_the_pins_reach_the_roles_through_the_inventory():
    shown = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", str(ROOT / "inventory/cloud.example.yml"), "--host", "gpu-1"],
        cwd=ROOT,
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    host_vars = yaml.safe_load(shown.stdout)
    for pin in ("hymt_docker_ce_version", "hymt_compose_deb_version", "hymt_nvidia_driver_branch"):
        assert host_vars[pin] == PINS[pin]
    assert host_vars["hymt_profile"] == "gpu"
