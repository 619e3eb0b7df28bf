"""The ports seen from outside: only SSH, HTTP and HTTPS accept; vLLM's, the web app's, Docker's and dashboards'
ports must not; HTTP served on the host but blocked before it gets the security-group hint."""

from __future__ import annotations

import socket

import pytest

from hymt.verify.host import HostContext, HostSettings
from hymt.verify.ports import PortPlan, check_ports, tcp_accepts
from hymt.verify.result import CheckFailed
from tests.verify.fakes import FakeHost, fails, ok
from tests.verify.hosts import PINS

UFW_ACTIVE = (
    "Status: active\n\nTo                         Action      From\n--                         ------      ----\n"
)
UFW_ACTIVE += "22/tcp                     ALLOW       Anywhere\n80/tcp                     ALLOW       Anywhere\n"
UFW_ACTIVE += "443/tcp                    ALLOW       Anywhere\n"


def context(host: FakeHost) -> HostContext:
    return HostContext("gpu-1", host, HostSettings(profile="gpu", pins=PINS))


def host_serving(*ports: int) -> FakeHost:
    host = FakeHost()
    host.on("python3", "-c", answer=lambda argv: ok() if int(argv[-1]) in ports else fails(1))
    host.on("ufw", "status", answer=ok(UFW_ACTIVE))
    return host


def reachable(*ports: int):
    return lambda address, port, timeout: port in ports


def test_only_ssh_and_http_open_passes_and_lists_what_is_closed():
    reason = check_ports(context(host_serving(80)), PortPlan("203.0.113.7"), reachable(22, 80))
    assert reason == "203.0.113.7: open 22, 80; closed 443, 2375, 2376, 3000, 8000, 8080, 9090"


def test_https_must_accept_when_a_domain_is_set():
    with pytest.raises(CheckFailed, match="nothing serves HTTPS port 443 on the host"):
        check_ports(context(host_serving(80)), PortPlan("203.0.113.7", https_required=True), reachable(22, 80))


@pytest.mark.parametrize("port", [8000, 8080, 2375, 2376, 3000, 9090])
def test_a_port_that_must_stay_closed_fails_when_it_accepts(port):
    with pytest.raises(CheckFailed, match=f"{port} accepts connections from outside"):
        check_ports(context(host_serving(80)), PortPlan("203.0.113.7"), reachable(22, 80, port))


def test_http_served_on_the_host_but_not_reachable_points_to_the_security_group():
    with pytest.raises(CheckFailed) as failure:
        check_ports(context(host_serving(80, 443)), PortPlan("203.0.113.7"), reachable(22))
    said = str(failure.value)
    assert "port 80 is served on the host but unreachable from here at 203.0.113.7" in said
    assert "security group" in said and "Alibaba Cloud" in said and "Tencent Cloud" in said and "AWS" in said


def test_http_blocked_by_ufw_on_the_host_says_so_instead():
    host = host_serving(80)
    host.on("ufw", "status", answer=ok(UFW_ACTIVE.replace("80/tcp ", "81/tcp ")))
    with pytest.raises(CheckFailed, match="ufw blocks it"):
        check_ports(context(host), PortPlan("203.0.113.7"), reachable(22))


def test_nothing_serving_http_says_the_proxy_is_not_running():
    with pytest.raises(CheckFailed, match="nothing serves HTTP port 80 on the host: the stack's proxy is not running"):
        check_ports(context(host_serving()), PortPlan("203.0.113.7"), reachable(22))


def test_tcp_accepts_tells_a_listener_from_a_closed_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert tcp_accepts("127.0.0.1", port, 2)
    assert not tcp_accepts("127.0.0.1", port, 2)


class Recorder:
    """A connector that takes `ssh_seconds` (on a fake clock) to reach SSH, and records each port's timeout."""

    def __init__(self, ssh_seconds: float, open_ports: tuple[int, ...] = (22, 80)):
        self.now = 100.0
        self.ssh_seconds = ssh_seconds
        self.open_ports = open_ports
        self.timeouts: dict[int, float] = {}

    def clock(self) -> float:
        return self.now

    def __call__(self, address: str, port: int, timeout: float) -> bool:
        self.timeouts[port] = timeout
        if port == 22:
            self.now += self.ssh_seconds
        return port in self.open_ports


@pytest.mark.parametrize(
    ("ssh_seconds", "timeout"),
    [
        (0.0005, 1.5),  # the rehearsal host, or a server in the same region: the floor
        (0.3, 1.9),  # a server across an ocean: a SYN resent after 1 s still arrives in time
        (1.2, 3.0),  # SSH itself slow to accept: the longest wait
    ],
)
def test_the_other_ports_wait_as_long_as_the_host_s_distance_needs(ssh_seconds, timeout):
    recorder = Recorder(ssh_seconds)
    check_ports(context(host_serving(80)), PortPlan("203.0.113.7"), recorder, clock=recorder.clock)
    assert recorder.timeouts.pop(22) == 3.0
    assert list(recorder.timeouts.values()) == pytest.approx([timeout] * len(recorder.timeouts))
    assert set(recorder.timeouts) == {80, 443, 2375, 2376, 3000, 8000, 8080, 9090}


def test_without_ssh_the_other_ports_get_the_longest_wait():
    recorder = Recorder(0.0005, open_ports=(80,))
    with pytest.raises(CheckFailed, match="SSH port 22 does not accept connections"):
        check_ports(context(host_serving(80)), PortPlan("203.0.113.7"), recorder, clock=recorder.clock)
    assert set(recorder.timeouts.values()) == {3.0}
