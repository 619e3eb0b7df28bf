"""Docker CE's companion pins reach the docker role from versions.yml, and the stand-ins' documentation names the
pinned releases (no Docker needed)."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.gpu.standin_packages import DEBIAN_12, UBUNTU_2404, docker_ce_versions, driver_version
from tests.support.repo import PINS, ROOT

DOC = (ROOT / "docs/standin-repositories.md").read_text()


@pytest.mark.parametrize(
    ("variable", "pin"),
    [
        ("docker_ce_version", "hymt_docker_ce_version"),
        ("docker_ce_containerd_version", "hymt_containerd_io_version"),
        ("docker_ce_buildx_version", "hymt_docker_buildx_version"),
        ("docker_ce_compose_plugin_version", "hymt_docker_compose_plugin_version"),
    ],
)
def test_the_docker_role_takes_docker_ces_releases_from_the_pins(variable, pin):
    defaults = yaml.safe_load((ROOT / "roles/docker/defaults/main.yml").read_text())
    assert defaults[variable] == "{{ " + pin + " }}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", PINS[pin])


def test_docker_ce_versions_carry_the_distribution_suffix_and_the_engines_epoch():
    assert docker_ce_versions(DEBIAN_12)["docker-ce"] == f"5:{PINS['hymt_docker_ce_version']}-1~debian.12~bookworm"
    assert docker_ce_versions(UBUNTU_2404)["containerd.io"] == (
        f"{PINS['hymt_containerd_io_version']}-1~ubuntu.24.04~noble"
    )


@pytest.mark.parametrize(
    ("wording", "pin"),
    [
        (r"next to\s+`hymt_docker_ce_version` \((\S+)\)", "hymt_docker_ce_version"),
        (r"containerd\.io\s+(\d\S*),", "hymt_containerd_io_version"),
        (r"buildx\s+(\d\S*)\s+and", "hymt_docker_buildx_version"),
        (r"Compose\s+(\d\S*)\s+\(", "hymt_docker_compose_plugin_version"),
        (r"`(\S+)-1` \(the release `hymt_vllm_cuda_driver_min`", "hymt_vllm_cuda_driver_min"),
    ],
)
def test_the_documentation_names_the_pinned_releases(wording, pin):
    found = re.findall(wording, DOC)
    assert found and set(found) == {PINS[pin]}, f"docs/standin-repositories.md names {found} for {pin}"


def test_the_stand_in_driver_is_the_release_the_image_needs():
    assert driver_version() == PINS["hymt_vllm_cuda_driver_min"]
    assert driver_version().split(".")[0] == PINS["hymt_nvidia_driver_branch"]
