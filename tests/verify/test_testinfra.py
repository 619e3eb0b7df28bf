"""The Testinfra suite's results folded into the report: pytest's junit XML turned into checks per host, with the
rehearsal profile's "no GPU: " skips expected and nothing else; the suite's command line and host addresses."""

from __future__ import annotations

from hymt.verify import testinfra as suite
from hymt.verify.result import SkipKind, Status
from hymt.verify.ssh import Target

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


def test_hosts_are_reached_through_the_inventory_or_by_ssh_with_host_keys_checked(tmp_path):
    target = Target("gpu-1", "203.0.113.7", 2222, "ubuntu", "/keys/id", known_hosts=("/kh",))
    assert suite.testinfra_host(target, tmp_path / "inv.yml") == f"ansible://gpu-1?ansible_inventory={tmp_path}/inv.yml"
    by_ssh = suite.testinfra_host(target, None)
    assert by_ssh.startswith("ssh://ubuntu@203.0.113.7:2222?ssh_extra_args=")
    assert "StrictHostKeyChecking%3Dyes" in by_ssh and "UserKnownHostsFile%3D/kh" in by_ssh
    assert by_ssh.endswith("&ssh_identity_file=/keys/id")


def test_the_suite_ships_in_the_package_and_covers_what_the_issue_lists():
    source = (suite.suite_dir() / "test_host.py").read_text()
    for subject in ("docker", "daemon.json", "compose", "ufw", "sshd -T", "model"):
        assert subject in source
