"""The Testinfra suite's results folded into the report: pytest's junit XML turned into checks per host, with the
rehearsal profile's "no GPU: " skips expected and nothing else; the suite's command line and host addresses; which of
its tests each host gets, by its part in the deployment (collected through ansible-inventory, no host connected to)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

from hymt.verify import testinfra as suite
from hymt.verify.host_suite import test_host as host_suite
from hymt.verify.host_suite.conftest import let_in_before_drop, pinned_packages, settings_of, stat_listing
from hymt.verify.result import SkipKind, Status
from hymt.verify.shape import Shape
from hymt.verify.ssh import Target
from tests.support.playbook import ansible_env

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="2" tests="4">
<testcase classname="test_host" name="test_the_docker_engine_runs_and_starts_at_boot[ansible://gpu-1]" time="0.8"/>
<testcase classname="test_host" name="test_every_compose_service_runs[ansible://gpu-1]" time="0.3">
  <failure message="AssertionError: not running in Compose project 'hymt': vllm&#10;assert not ['vllm']">trace</failure>
</testcase>
<testcase classname="test_host" name="test_daemon_json_has_the_nvidia_runtime[ansible://gpu-1]" time="0.1">
  <skipped type="pytest.skip" message="no GPU: the rehearsal host has no NVIDIA runtime">skip</skipped>
</testcase>
<testcase classname="test_host" name="test_sshd_allows_key_logins_only[ssh://203.0.113.7]" time="0.2">
  <skipped type="pytest.skip" message="something else">skip</skipped>
</testcase>
</testsuite></testsuites>"""


def test_junit_becomes_one_check_per_test_and_host():
    results = suite.parse_junit(JUNIT, {"gpu-1": "gpu-1", "203.0.113.7": "edge-1"})
    by_name = {(r.target, r.name): r for r in results}
    engine = by_name[("gpu-1", "testinfra: the docker engine runs and starts at boot")]
    assert engine.status is Status.PASS and engine.seconds == 0.8
    services = by_name[("gpu-1", "testinfra: every compose service runs")]
    assert services.status is Status.FAIL and "not running in Compose project 'hymt': vllm" in services.reason
    nvidia = by_name[("gpu-1", "testinfra: daemon json has the nvidia runtime")]
    assert nvidia.status is Status.SKIP and nvidia.skip_kind is SkipKind.NO_GPU and nvidia.expected_by("rehearsal")
    other = by_name[("edge-1", "testinfra: sshd allows key logins only")]
    assert other.skip_kind is SkipKind.NOT_JUDGED and not other.expected_by("rehearsal")


def effective_ssh_settings(config: Path, target: Target) -> dict[str, str]:
    """What ssh itself makes of `config` for `target` (ssh -G: the settings it would log in with, nothing connected)."""
    command = ["ssh", "-G", "-F", str(config), "-p", str(target.port), f"{target.user}@{target.address}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    return dict(line.partition(" ")[::2] for line in done.stdout.splitlines())


def test_hosts_are_reached_through_the_inventory_or_by_ssh_with_host_keys_checked(tmp_path):
    target = Target("gpu-1", "203.0.113.7", 2222, "ubuntu", "/keys/id", known_hosts=("/kh",))
    inventory = f"ansible_inventory={tmp_path}/inv.yml"
    assert suite.testinfra_host(target, tmp_path / "inv.yml") == f"ansible://gpu-1?{inventory}"
    config = tmp_path / "ssh_config"
    config.write_text(suite.ssh_config_text(tmp_path, target))
    # Testinfra's ssh:// addresses drop any ssh_extra_args: the login settings must reach ssh through the file.
    backend = testinfra.get_host(suite.testinfra_host(target, None, config)).backend
    assert (backend.host.name, backend.host.port, backend.host.user) == ("203.0.113.7", "2222", "ubuntu")
    assert (backend.ssh_config, backend.ssh_identity_file) == (str(config), "/keys/id")
    settings = effective_ssh_settings(config, target)
    assert (settings["batchmode"], settings["stricthostkeychecking"]) == ("yes", "true")
    home = Path.home()
    assert settings["userknownhostsfile"].split() == [f"{home}/.ssh/known_hosts", f"{home}/.ssh/known_hosts2", "/kh"]


@pytest.mark.parametrize(("checking", "said"), [("accept-new", "accept-new"), ("off", "false")])
def test_a_host_key_let_in_unchecked_is_written_to_no_file_of_the_user_s(tmp_path, checking, said):
    target = Target("gpu-1", "203.0.113.7", 22, "ubuntu", known_hosts=("/kh",), host_key_checking=checking)
    config = tmp_path / "ssh_config"
    config.write_text(suite.ssh_config_text(tmp_path, target))
    settings = effective_ssh_settings(config, target)
    assert settings["stricthostkeychecking"] == said
    # ssh adds a new key to the first file named; the user's own files are still read, so a changed key is refused.
    files = settings["userknownhostsfile"].split()
    assert files[0] == "/dev/null" and f"{Path.home()}/.ssh/known_hosts" in files and "/kh" in files


def test_the_suite_s_commands_share_one_ssh_connection_per_host_whatever_the_working_directory(tmp_path):
    config = tmp_path / "ssh_config"
    target = Target("gpu-1", "203.0.113.7", 2222, "ubuntu")
    assert suite.testinfra_host(target, tmp_path / "inv.yml", config).endswith(f"&ssh_config={config}")
    assert suite.testinfra_host(target, None, config).endswith(f"?ssh_config={config}")
    lines = suite.ssh_config_text(tmp_path).splitlines()
    assert {"ControlMaster auto", f"ControlPath {tmp_path}/%C"} <= set(lines)
    # ssh -F reads that file alone: the user's and the system's settings (a jump host, say) come after it.
    assert lines[-2:] == ["Include ~/.ssh/config", "Include /etc/ssh/ssh_config"]
    config.write_text(suite.ssh_config_text(tmp_path, target))
    settings = effective_ssh_settings(config, target)
    assert settings["controlmaster"] == "auto" and Path(settings["controlpath"]).parent == tmp_path


def test_the_suite_ships_in_the_package_and_covers_what_the_issue_lists():
    source = (suite.suite_dir() / "test_host.py").read_text()
    for subject in ("docker", "daemon.json", "compose", "ufw", "sshd -T", "model"):
        assert subject in source


FLEET_INVENTORY = """
all:
  children:
    gpu_hosts:
      hosts:
        gpu-1: {ansible_host: 203.0.113.7, hymt_private_address: 10.0.0.11, hymt_web_private_port: 8000}
        one-server: {ansible_host: 203.0.113.9}
    edge:
      hosts:
        edge-1: {ansible_host: 203.0.113.5, hymt_private_address: 10.0.0.21}
        one-server: {}
"""


def collected(inventory: Path, names: list[str]) -> dict[str, set[str]]:
    """The suite's tests per host as pytest collects them for these hosts of `inventory` (nothing is connected to)."""
    hosts = [suite.testinfra_host(Target(name, "192.0.2.1"), inventory) for name in names]
    directory = str(suite.suite_dir())
    command = [sys.executable, "-m", "pytest", directory, "-c", os.devnull, "--rootdir", directory,
               "-p", "no:cacheprovider", "--collect-only", "-q", "--hosts=" + ",".join(hosts)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=ansible_env(), timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    found: dict[str, set[str]] = {name: set() for name in names}
    for line in done.stdout.splitlines():
        if "::test_" in line and "[ansible://" in line:
            test, _, host = line.split("::", 1)[1].partition("[ansible://")
            found[host.split("?")[0].rstrip("]")].add(test.removeprefix("test_"))
    return found


def test_each_host_gets_the_suite_of_its_part_in_the_deployment(tmp_path):
    inventory = tmp_path / "fleet.yml"
    inventory.write_text(FLEET_INVENTORY)
    found = collected(inventory, ["one-server", "gpu-1", "edge-1"])
    single, behind, edge = found["one-server"], found["gpu-1"], found["edge-1"]
    everywhere = {"every_compose_service_runs", "the_docker_engine_runs_and_starts_at_boot",
                  "published_ports_cannot_bypass_the_firewall", "sshd_allows_key_logins_only"}  # fmt: skip
    assert everywhere <= single & behind & edge
    vllm_side = {"the_model_files_are_there", "daemon_json_has_the_nvidia_runtime",
                 "the_stack_directory_holds_the_compose_files"}  # fmt: skip
    assert vllm_side <= single & behind and not vllm_side & edge
    assert "the_edge_directory_holds_its_files" in edge - single - behind
    assert "the_web_app_is_open_to_the_edge_hosts_only" in behind - single - edge


# DOCKER-USER on a GPU host behind one edge host (10.0.0.21), as the firewall role's rules read back through
# `iptables -S` (which writes a single address with /32). Written for this test, a stand-in for a real host's; the
# suite judges a host's rules with the same function (its test "the web app is open to the edge hosts only").
DOCKER_USER = """-N DOCKER-USER
-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
-A DOCKER-USER -s 10.0.0.21/32 -p tcp -m conntrack --ctorigdst 10.0.0.11/32 --ctorigdstport 8000 -j RETURN
-A DOCKER-USER -p tcp -m conntrack --ctorigdst 10.0.0.11/32 --ctorigdstport 8000 -j DROP
-A DOCKER-USER ! -i eth0 -j RETURN
-A DOCKER-USER -i eth0 -j DROP
"""
LET_IN = "-A DOCKER-USER -s 10.0.0.21/32 -p tcp -m conntrack --ctorigdst 10.0.0.11/32 --ctorigdstport 8000 -j RETURN\n"


NO_DROP = DOCKER_USER.replace("8000 -j DROP", "8000 -j RETURN")
TWO_IN = DOCKER_USER.replace(LET_IN, LET_IN + LET_IN.replace("10.0.0.21", "10.0.0.99"))
ANYONE_IN = DOCKER_USER.replace(LET_IN, LET_IN.replace("-s 10.0.0.21/32 ", ""))


@pytest.mark.parametrize(
    ("rules", "said"),
    [
        (DOCKER_USER, {"10.0.0.21"}),
        (NO_DROP, None),
        (TWO_IN, {"10.0.0.21", "10.0.0.99"}),
        (ANYONE_IN, {"anyone"}),
    ],
)
def test_a_gpu_host_behind_an_edge_lets_only_the_edge_hosts_reach_its_web_app(rules, said):
    let_in = let_in_before_drop(rules, "10.0.0.11", 8000)
    assert let_in == said
    assert let_in_before_drop(rules, "10.0.0.11", 8001) is None  # another port: no rule of its own


def test_each_host_s_expectations_follow_its_shape(tmp_path, monkeypatch):
    import testinfra

    inventory = tmp_path / "fleet.yml"
    inventory.write_text(FLEET_INVENTORY)
    for variable, value in ansible_env().items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("HYMT_VERIFY_EDGE_ADDRESSES", "10.0.0.21")

    def expected(name: str) -> dict:
        return settings_of(testinfra.get_host(suite.testinfra_host(Target(name, "192.0.2.1"), inventory)))

    single, behind, edge = expected("one-server"), expected("gpu-1"), expected("edge-1")
    assert (single["shape"], single["services"], single["absent_services"]) == (
        Shape.SINGLE,
        ["vllm", "web", "proxy"],
        [],
    )
    assert (behind["services"], behind["absent_services"]) == (["vllm", "web"], ["proxy"])
    assert behind["web_app"].hostport == "10.0.0.11:8000" and behind["edge_addresses"] == ["10.0.0.21"]
    assert (edge["services"], edge["absent_services"]) == (["proxy"], ["vllm", "web"])
    assert (edge["stack_dir"], edge["project"]) == ("/opt/hymt/edge", "hymt")
    assert "balance/upstreams.caddy" in edge["stack_files"]


# `dpkg-query --show --showformat '${Package} ${Status}\n'` as dpkg prints it, written for these tests (stand-ins):
# held and installed, installed but not held, removed with its configuration left.
DPKG_LISTING = """containerd.io hold ok installed
docker-ce install ok installed
docker-ce-cli deinstall ok config-files
"""


def test_the_pinned_packages_installed_and_those_not_held_come_from_one_listing():
    assert pinned_packages(DPKG_LISTING) == (["containerd.io", "docker-ce"], ["docker-ce"])
    assert pinned_packages("docker-ce-cli deinstall ok config-files\n") == ([], [])


class FakeHost:
    """A stand-in for Testinfra's host: each command the suite runs gets the canned output of its first word."""

    def __init__(self, outputs: dict[str, tuple[int, str]]):
        self.outputs = outputs
        self.commands: list[str] = []

    def run(self, command: str, *args: str):
        self.commands.append(command % args if args else command)
        rc, stdout = self.outputs[command.split()[0]]
        return subprocess.CompletedProcess(command, rc, stdout, "")

    def file(self, path: str):
        return type("File", (), {"exists": False})()


def test_a_pinned_package_apt_could_upgrade_fails_the_suite_in_one_command():
    host = FakeHost({"dpkg-query": (1, DPKG_LISTING)})
    with pytest.raises(AssertionError, match="apt upgrade would move these pinned packages: docker-ce;"):
        host_suite.test_the_pinned_packages_are_held(host)
    assert len(host.commands) == 1 and all(name in host.commands[0] for name in host_suite.HELD)
    nothing = FakeHost({"dpkg-query": (1, "")})
    with pytest.raises(AssertionError, match="none of the pinned Docker or NVIDIA packages is installed"):
        host_suite.test_the_pinned_packages_are_held(nothing)


STACK = {"stack_dir": "/opt/hymt/stack/current"}


@pytest.mark.parametrize(
    ("listing", "said"),
    [
        ("", "no stack at /opt/hymt/stack/current"),
        ("/opt/hymt/stack/current|directory|root|755\n", "compose.yaml is missing"),
        (
            "/opt/hymt/stack/current|directory|root|755\n/opt/hymt/stack/current/compose.yaml|regular file|root|644\n"
            "/opt/hymt/stack/current/.env|regular file|root|644\n",
            ".env must be root's, mode 0600",
        ),
    ],
)
def test_a_stack_directory_without_its_files_or_with_a_readable_env_fails(listing, said):
    with pytest.raises(AssertionError, match=said):
        host_suite.test_the_stack_directory_holds_the_compose_files(FakeHost({"stat": (1, listing)}), STACK)


def test_stat_s_listing_gives_type_owner_and_mode():
    found = stat_listing("/opt/a b|directory|root|755\n/opt/a b/.env|regular file|root|600\n")
    assert found == {"/opt/a b": ("directory", "root", 0o755), "/opt/a b/.env": ("regular file", "root", 0o600)}
