"""`hymt_mirror_preset: cn` alone moves a GPU server's downloads to the mainland-China mirrors.

The ubuntu host of the session (tests/gpu/conftest.py) is given the preset and no repository variable; the stand-in
server serves USTC's trees at their real paths (links to the official trees), with the preset's table moved onto the
server. So the paths the roles use are the preset's own, and the server's log shows what came through which path.
Docker CE and the toolkit through the mirror are checked in test_repo_docker_ce.py and test_repo_nvidia.py (the
ubuntu host's docker_mirror and toolkit_mirror are the mirrors' paths); this file checks the distribution's archive,
and that nothing but the preset put the host on the mirrors.
"""

from __future__ import annotations

import pytest

from tests.gpu.standin_packages import UBUNTU_ARCHIVE, UBUNTU_MIRROR
from tests.gpu.test_repo_docker_ce import deb822

pytestmark = [pytest.mark.docker, pytest.mark.rehearsal_host]

MIRROR_VARIABLES = {
    "base_apt_mirror",
    "base_apt_security_mirror",
    "docker_ce_mirror",
    "docker_ce_repository_url",
    "nvidia_container_toolkit_repository_url",
}


def stanzas(text: str) -> list[dict[str, str]]:
    return [deb822(block) for block in text.strip().split("\n\n")]


def test_only_the_preset_names_the_mirrors(ubuntu_host, debian_host):
    assert ubuntu_host.extra_vars["hymt_mirror_preset"] == "cn"
    assert not MIRROR_VARIABLES & set(ubuntu_host.extra_vars)
    # The debian host takes the official sites, without a preset, through the variables.
    assert "hymt_mirror_preset" not in debian_host.extra_vars


def test_the_archive_and_its_security_updates_come_from_the_mirror(ubuntu_host, apt_repo):
    codename = ubuntu_host.distribution.codename
    mirror = apt_repo.url_of(UBUNTU_MIRROR)
    sources = stanzas(ubuntu_host.out("cat /etc/apt/sources.list.d/ubuntu.sources"))
    assert [(source["URIs"], source["Suites"]) for source in sources] == [
        (mirror, f"{codename} {codename}-updates {codename}-backports"),
        (mirror, f"{codename}-security"),
    ]
    assert {source["Signed-By"] for source in sources} == {"/usr/share/keyrings/ubuntu-archive-keyring.gpg"}
    assert ubuntu_host.out("cat /etc/apt/sources.list").startswith("# The distribution's sources are in")


def test_the_driver_was_downloaded_through_the_mirror(ubuntu_host, apt_repo):
    # Before provisioning the host knew the official archive (its index was fetched from there); every package of the
    # archive, Canonical's driver among them, came through the mirror's path once the base role had moved it.
    debs = [path for path in apt_repo.requests() if path.endswith(".deb")]
    assert [path for path in debs if path.startswith(f"/{UBUNTU_MIRROR}/pool/restricted/")]
    assert not [path for path in debs if path.startswith(f"/{UBUNTU_ARCHIVE}/")]
    assert f"/{UBUNTU_MIRROR}/dists/{ubuntu_host.distribution.codename}-security/InRelease" in apt_repo.requests()
