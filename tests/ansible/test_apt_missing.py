"""hymt_apt_missing: which apt requests the installed packages (package_facts' list, which preflight reads with
dpkg-query) do not satisfy. The roles skip their apt task when none are missing, so a wrong "satisfied" would leave a
package uninstalled: every doubt must count as missing."""

from __future__ import annotations

from hymt.hostfacts import apt_missing, packages_from_dpkg_query

# package_facts' shape for apt (name -> one entry per installed architecture), abridged from a Debian 12 host.
INSTALLED = {
    "acl": [{"name": "acl", "version": "2.3.1-3", "arch": "amd64", "source": "apt"}],
    "pciutils": [{"name": "pciutils", "version": "1:3.9.0-4", "arch": "amd64", "source": "apt"}],
    "docker-compose": [{"name": "docker-compose", "version": "2.26.1-4", "arch": "amd64", "source": "apt"}],
    "ufw": [{"name": "ufw", "version": "0.36.2-1", "arch": "all", "source": "apt"}],
}


def test_installed_names_and_exact_versions_are_satisfied():
    assert apt_missing(["ufw", "acl=2.3.1-3", "pciutils=1:3.9.0-4", "docker-compose=2.26.1-4"], INSTALLED) == []


def test_a_missing_package_or_another_version_is_missing():
    wanted = ["ufw", "docker.io", "acl=2.3.1-4", "pciutils=3.9.0-4"]
    # pciutils without its epoch is not the installed version: apt would install it, so it must run.
    assert apt_missing(wanted, INSTALLED) == ["docker.io", "acl=2.3.1-4", "pciutils=3.9.0-4"]


def test_a_version_pattern_matches_like_apt_s():
    assert apt_missing(["docker-compose=2.26.*"], INSTALLED) == []
    assert apt_missing(["docker-compose=2.27.*"], INSTALLED) == ["docker-compose=2.27.*"]


def test_unknown_facts_make_everything_missing():
    wanted = ["ufw", "acl=2.3.1-3"]
    assert apt_missing(wanted, {}) == wanted
    assert apt_missing(wanted, None) == wanted


def test_what_it_cannot_judge_is_left_to_apt():
    assert apt_missing(["ufw:amd64", "acl>=2.3"], INSTALLED) == ["ufw:amd64", "acl>=2.3"]


# What preflight's dpkg-query prints for those packages (its --showformat: package, version, architecture, status), with
# a library installed for two architectures and, as dpkg keeps them, a package removed with its configuration kept.
DPKG_QUERY = (
    "acl 2.3.1-3 amd64 installed\n"
    "pciutils 1:3.9.0-4 amd64 installed\n"
    "docker-compose 2.26.1-4 amd64 installed\n"
    "ufw 0.36.2-1 all installed\n"
    "libc6 2.36-9+deb12u13 amd64 installed\n"
    "libc6 2.36-9+deb12u13 i386 installed\n"
    "docker.io 20.10.24+dfsg1-1+deb12u1 amd64 config-files\n"
)


def test_dpkg_query_s_list_reads_as_package_facts_lists_installed_packages():
    packages = packages_from_dpkg_query(DPKG_QUERY)
    assert {name: packages[name] for name in INSTALLED} == INSTALLED
    assert [entry["arch"] for entry in packages["libc6"]] == ["amd64", "i386"]
    # Removed with its configuration kept: not installed, so a role asking for it still runs apt.
    assert "docker.io" not in packages
    assert apt_missing(["docker.io"], packages) == ["docker.io"]


def test_an_unreadable_list_is_no_list():
    assert packages_from_dpkg_query("") == {}
    assert packages_from_dpkg_query("dpkg-query: error: some complaint\n") == {}
