"""The docker role's Docker CE path against the stand-in of Docker's repository (and of its mainland-China mirror).

The stand-in is strict the way the real one is: it serves only Docker's paths, is signed with its own key and holds
exactly Docker's package names and versions (plus a newer release of each, which a lost pin would install). So these
pass only if the role writes the right repository, key, package names and pins; the last tests show that a wrong key
and a wrong pin do fail.
"""

from __future__ import annotations

import json

import pytest

from tests.gpu.conftest import DOCKER_ONLY
from tests.gpu.standin_packages import DOCKER_MIRROR, PINS, docker_ce_versions

pytestmark = [pytest.mark.docker, pytest.mark.rehearsal_host]

HOSTS = ["debian_host", "ubuntu_host"]


@pytest.fixture(params=HOSTS)
def gpu_host(request):
    return request.getfixturevalue(request.param)


def deb822(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        name, separator, value = line.partition(":")
        if separator and not line.startswith((" ", "#")):
            fields[name] = value.strip()
    return fields


def installed_versions(host, packages) -> dict[str, str]:
    """The installed version of each of the packages that is installed (ii; hi when held, as the roles hold pins)."""
    listing = host.sh(
        f"dpkg-query -W -f '${{db:Status-Abbrev}} ${{Package}} ${{Version}}\\n' {' '.join(packages)}", check=False
    ).stdout
    rows = [line.split() for line in listing.splitlines()]
    return {fields[1]: fields[2] for fields in rows if fields[0] in ("ii", "hi")}


def test_the_conflicting_packages_go_before_docker_ce_comes(debian_host):
    run = debian_host.provisioned.run
    assert run.returncode == 0 and run.succeeded(debian_host.name), run.explain()
    changed = run.changed_tasks(debian_host.name)
    removal = "docker : Remove the distribution's Docker packages, which conflict with Docker CE"
    install = f"docker : Install Docker CE {PINS['hymt_docker_ce_version']}"
    assert removal in changed and install in changed, run.explain()
    assert changed.index(removal) < changed.index(install)
    # docker-doc was installed before the converge; nothing but the role's removal would take it away.
    assert "docker-doc" not in installed_versions(debian_host, ["docker-doc"])


def test_the_ubuntu_branch_converges_through_the_mirror(ubuntu_host):
    run = ubuntu_host.provisioned.run
    assert run.returncode == 0 and run.succeeded(ubuntu_host.name), run.explain()
    summaries = [m for m in run.messages(ubuntu_host.name) if m.startswith("Ubuntu 24.04 (noble) x86_64")]
    assert summaries, run.explain()


def test_the_five_packages_are_installed_at_exactly_the_pinned_versions(gpu_host):
    wanted = docker_ce_versions(gpu_host.distribution)
    assert installed_versions(gpu_host, wanted) == wanted


def test_dockers_source_is_deb822_signed_by_dockers_key(gpu_host, apt_repo):
    path = gpu_host.distribution.docker_path
    mirror = gpu_host.docker_mirror
    source = deb822(gpu_host.out("cat /etc/apt/sources.list.d/docker.sources"))
    assert {name: source.get(name) for name in ("Types", "URIs", "Suites", "Components", "Architectures")} == {
        "Types": "deb",
        "URIs": apt_repo.url_of(f"{mirror}/linux/{path}"),
        "Suites": gpu_host.distribution.codename,
        "Components": "stable",
        "Architectures": "amd64",
    }
    assert source["Signed-By"] == "/etc/apt/keyrings/docker.asc"
    assert (
        gpu_host.out("cat /etc/apt/keyrings/docker.asc")
        == (apt_repo.tree / f"{mirror}/linux/{path}/gpg").read_text().strip()
    )
    # One definition of Docker's repository (two with different keys would make apt refuse both).
    defining = gpu_host.out(f"grep -l -r -e /linux/{path} /etc/apt/sources.list /etc/apt/sources.list.d || true")
    assert defining.split() == ["/etc/apt/sources.list.d/docker.sources"]


def test_the_mirror_variable_moves_repository_and_key_together(ubuntu_host, apt_repo):
    # Only the ubuntu host asks for Docker's Ubuntu repository, and it was given the mirror.
    requests = apt_repo.requests()
    assert f"/{DOCKER_MIRROR}/linux/ubuntu/gpg" in requests
    assert f"/{DOCKER_MIRROR}/linux/ubuntu/dists/noble/InRelease" in requests
    assert not [r for r in requests if r.startswith("/download.docker.com/linux/ubuntu")]


def test_the_engine_from_the_docker_ce_packages_answers(gpu_host):
    engine = json.loads(gpu_host.out("docker info --format '{{json .}}'"))
    assert engine["LoggingDriver"] == "json-file" and engine["LiveRestoreEnabled"] is True
    assert engine["Driver"] == "overlay2"
    assert gpu_host.out("systemctl is-active docker.service containerd.service").split() == ["active", "active"]
    assert gpu_host.out("systemctl is-enabled docker.service containerd.service").split() == ["enabled", "enabled"]
    # The engine's files come from Docker CE's packages (stand-ins carrying Debian's programs), not docker.io.
    owners = gpu_host.out("dpkg-query -S /usr/bin/dockerd /usr/bin/containerd /usr/bin/runc /usr/bin/docker")
    assert sorted(line.split(":")[0] for line in owners.splitlines()) == [
        "containerd.io",
        "containerd.io",
        "docker-ce",
        "docker-ce-cli",
    ]
    assert "docker.io" not in installed_versions(gpu_host, ["docker.io", "containerd", "runc"])


def test_compose_answers_as_the_pinned_plugin_and_runs(gpu_host):
    assert gpu_host.out("docker compose version --short") == PINS["hymt_docker_compose_plugin_version"]
    services = gpu_host.out(
        "printf 'services:\\n  web:\\n    image: example\\n' | docker compose -p probe -f - config --services"
    )
    assert services == "web"
    assert gpu_host.out("docker buildx version").split()[1] == "v" + PINS["hymt_docker_buildx_version"]


def test_provisioning_again_changes_nothing(gpu_host, provisioned_again):
    again = provisioned_again[gpu_host.tag]["run"]
    assert again.run.returncode == 0, again.run.explain()
    assert again.run.changed_count(gpu_host.name) == 0, again.run.explain()
    print(f"re-run ({gpu_host.tag} host): {again.seconds:.0f} s")


def test_a_check_run_reports_nothing_to_change(gpu_host, provisioned_again):
    checked = provisioned_again[gpu_host.tag]["check"]
    assert checked.run.returncode == 0, checked.run.explain()
    assert checked.run.changed_count(gpu_host.name) == 0, checked.run.explain()
    print(f"check run ({gpu_host.tag} host): {checked.seconds:.0f} s")


def test_a_pin_the_repository_does_not_have_fails(debian_host, apt_repo):
    missing = "29.7.9"
    run = debian_host.converge(DOCKER_ONLY, extra_vars={"hymt_docker_ce_version": missing}).run
    assert run.returncode != 0, run.explain()
    # The role's own message comes last: what failed, and which variables to check.
    message = run.failure_messages(debian_host.name)[-1]
    assert message.startswith(f"Installing Docker CE from {apt_repo.url_of('download.docker.com/linux/debian')} failed")
    assert f"no available installation candidate for docker-ce=5:{missing}-1~debian.12~bookworm" in message
    assert "Check docker_ce_mirror" in message
    # Nothing changed on the host: the pinned release stays.
    assert installed_versions(debian_host, ["docker-ce"]) == {
        "docker-ce": docker_ce_versions(debian_host.distribution)["docker-ce"]
    }


def test_another_repositorys_key_is_refused_before_apt_trusts_it(debian_host, apt_repo):
    wrong_key = apt_repo.url_of("nvidia.github.io/libnvidia-container/gpgkey")
    key_before = debian_host.out("cat /etc/apt/keyrings/docker.asc")
    failed = debian_host.converge(DOCKER_ONLY, extra_vars={"docker_ce_gpg_key_url": wrong_key}).run
    assert failed.returncode != 0, failed.explain()
    message = failed.failure_messages(debian_host.name)[-1]
    assert message.startswith(
        f"The signing key at {wrong_key} has fingerprint {apt_repo.fingerprints['nvidia-container-toolkit']}, "
        f"not Docker CE's pinned {apt_repo.fingerprints['docker']}"
    ), message
    # Stopped before the key was installed: apt still trusts Docker's key only, and nothing changed.
    assert failed.changed_count(debian_host.name) == 0, failed.explain()
    assert debian_host.out("cat /etc/apt/keyrings/docker.asc") == key_before
    debian_host.sh("apt-get update -qq")


def test_apt_upgrade_leaves_the_pinned_releases_where_they_are(gpu_host):
    wanted = docker_ce_versions(gpu_host.distribution)
    assert set(wanted) <= set(gpu_host.out("apt-mark showhold").split())
    upgrade = "apt-get -s -o Debug::NoLocking=1 upgrade"
    upgraded = {line.split()[1] for line in gpu_host.out(upgrade).splitlines() if line.startswith("Inst ")}
    assert not upgraded & set(wanted), upgraded
    # The hold is what keeps them: released, apt upgrade would take the newer release the repository offers.
    gpu_host.sh(f"apt-mark unhold {' '.join(wanted)} >/dev/null")
    try:
        released = gpu_host.out(upgrade)
    finally:
        gpu_host.sh(f"apt-mark hold {' '.join(wanted)} >/dev/null")
    assert "docker-ce" in {line.split()[1] for line in released.splitlines() if line.startswith("Inst ")}, released
