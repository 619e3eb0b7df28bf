"""Both halves together (run.plan and run.execute) against a fake deployment: the real gateway behind the allowlist
proxy, and a fake GPU server over an injected runner. A fully working deployment is verified; one broken part is not.
Also where the ports are probed from outside."""

from __future__ import annotations

import pytest

from hymt.core.exit import ExitStatus
from hymt.verify.host import HostContext, HostSettings
from hymt.verify.result import CheckFailed, Status, exit_code
from hymt.verify.run import execute, plan, port_plan
from hymt.verify.settings import VerifySettings
from tests.verify import fakes, hosts
from tests.verify.fakes import FakeHost, ok
from tests.verify.hosts import PINS
from tests.verify.test_http import site


def run_both(url: str, host: FakeHost):
    settings = VerifySettings(url=url, hosts=("ubuntu@203.0.113.7",), profile="gpu", testinfra=False, timeout=60)
    resolved = plan(settings)
    resolved.pins = PINS
    return execute(resolved, runner_for=lambda target: host, connector=lambda address, port, timeout: port in (22, 80))


def test_a_working_gpu_deployment_is_verified_end_to_end():
    with site(fakes.translating) as url:
        report = run_both(url, hosts.gpu_server())
    assert {r.status for r in report.results} == {Status.PASS}, [r for r in report.results if r.status != "pass"]
    targets = {r.target for r in report.results}
    assert targets == {f"web {url}", "203.0.113.7"}
    assert exit_code(report.results, report.profile) == ExitStatus.OK
    on_host = {r.name for r in report.results if r.target == "203.0.113.7"}
    assert {
        "SSH login",
        "nvidia-smi on the host",
        "gpu_test: matrix product on every GPU",
        "services running and healthy",
        "model directory passes hymt model check",
        "ports from outside",
    } <= on_host


def test_one_broken_part_leaves_it_unverified():
    with site(fakes.translating) as url:
        report = run_both(url, hosts.stack_host(hosts.gpu_server(), [hosts.container_line("vllm", health="unhealthy"),
                          hosts.container_line("web"), hosts.container_line("proxy")]))  # fmt: skip
    failed = [r.name for r in report.results if r.status is Status.FAIL]
    assert failed == ["services running and healthy"]
    assert exit_code(report.results, report.profile) == ExitStatus.FAILURE


def context(host: FakeHost, profile: str) -> HostContext:
    return HostContext("h", host, HostSettings(profile=profile, pins=PINS))


def test_the_ports_are_probed_at_the_public_address_else_the_ssh_address():
    target = hosts.plan_for()[0]
    _, resolved = hosts.plan_for(public_address="198.51.100.9")
    assert port_plan(context(FakeHost(), "gpu"), target, resolved).address == "198.51.100.9"
    _, resolved = hosts.plan_for()
    assert (port_plan(context(FakeHost(), "gpu"), target, resolved).address, 22) == ("203.0.113.7", 22)


def test_a_loopback_address_is_resolved_on_the_rehearsal_host_and_refused_on_gpu():
    loopback = hosts.Target(name="rehearsal", address="127.0.0.1", port=32822)
    host = FakeHost().on("ip", "route", "get", answer=ok("192.0.2.1 via 172.17.0.1 dev eth0 src 172.17.0.6 uid 0\n"))
    _, rehearsal = hosts.plan_for("rehearsal")
    planned = port_plan(context(host, "rehearsal"), loopback, rehearsal)
    assert (planned.address, planned.ssh_port) == ("172.17.0.6", 22)
    _, gpu = hosts.plan_for("gpu")
    with pytest.raises(CheckFailed, match="a loopback address: give its public address"):
        port_plan(context(host, "gpu"), loopback, gpu)
