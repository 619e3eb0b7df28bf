"""From outside: which TCP ports of the host's public address accept a connection. Only the configured ones may:
SSH, HTTP, and HTTPS (required when a domain is set); vLLM's 8000, the web app's ports, Docker's API (2375/2376) and
common dashboards (3000, 9090) must not, nor HTTP and HTTPS on a GPU host behind an edge. When HTTP or HTTPS answers
on the host itself but not from here, something in front of the host blocks it — usually the cloud provider's
security group — and the check says how to open it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from hymt.verify.host import HostContext
from hymt.verify.result import CheckFailed

# Ports that must not accept connections from outside, and what usually listens there.
FORBIDDEN = {
    8000: "vLLM's API (or the web app's container port)",
    8080: "the web app ('hymt web')",
    2375: "Docker's unencrypted API (root on the host for anyone)",
    2376: "Docker's TLS API",
    3000: "a dashboard (Grafana)",
    9090: "a dashboard (Prometheus)",
}
SECURITY_GROUP_HINT = (
    "Something in front of the host drops it, usually the cloud provider's security group (firewall rules of the "
    "instance). Allow inbound TCP {ports} from 0.0.0.0/0 (and ::/0): Alibaba Cloud ECS console -> Instance -> "
    "Security Groups -> Inbound -> Add Rule; Tencent Cloud CVM console -> Security Groups -> Inbound rules -> Add; "
    "AWS EC2 console -> Security Groups -> Edit inbound rules -> HTTP/HTTPS."
)

Connector = Callable[[str, int, float], bool]

# A port the firewall drops never answers: the probe waits out its timeout, and that wait is most of the check's time.
# SSH, which must answer, shows how far the host is. Linux sends an unanswered SYN again after 1 s, so a timeout of
# 1 s plus a few round trips still sees an open port whose first SYN was lost; never below 1.5 s, never above the
# 3 s a far host (or a slow answer from SSH) gets.
PROBE_TIMEOUT_MIN = 1.5
PROBE_TIMEOUT_MAX = 3.0


def probe_timeout(ssh_seconds: float) -> float:
    """How long the other ports get to answer, from the seconds SSH's port took to accept."""
    return min(PROBE_TIMEOUT_MAX, max(PROBE_TIMEOUT_MIN, 1.0 + 3 * ssh_seconds))


def tcp_accepts(address: str, port: int, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to address:port is accepted (a dropping firewall makes it time out: False)."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class PortPlan:
    address: str
    ssh_port: int = 22
    http_port: int = 80
    https_port: int = 443
    https_required: bool = False  # a domain is set: Caddy serves HTTPS
    # False on a GPU host behind an edge: the edge hosts serve HTTP and HTTPS; here they must not answer from outside.
    serves_web: bool = True


# What a GPU host behind an edge must not answer from outside, besides FORBIDDEN.
NOT_BEHIND_AN_EDGE = {
    80: "HTTP: the edge hosts serve it; a GPU host behind them publishes only its web app, on its private address",
    443: "HTTPS: the edge hosts serve it",
}


ON_HOST_PROBE = (
    "import socket, sys\n"
    "try:\n    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=3).close()\n"
    "except OSError:\n    sys.exit(1)\n"
)


def served_on_host(context: HostContext, port: int) -> bool:
    return context.run(["python3", "-c", ON_HOST_PROBE, str(port)]).ok


def ufw_allows(context: HostContext, port: int) -> bool | None:
    """Whether ufw on the host allows `port` (None when ufw is not there or not active)."""
    status = context.run(["ufw", "status"], sudo=True)
    if not status.ok or "Status: active" not in status.stdout:
        return None
    return any(line.split()[0] in (f"{port}", f"{port}/tcp") for line in status.stdout.splitlines()[1:] if line.split())


def check_ports(
    context: HostContext, plan: PortPlan, connect: Connector = tcp_accepts, clock: Callable[[], float] = time.monotonic
) -> str:
    required = {plan.ssh_port: "SSH"}
    forbidden = dict(FORBIDDEN)
    if plan.serves_web:
        required[plan.http_port] = "HTTP"
        if plan.https_required:
            required[plan.https_port] = "HTTPS"
        allowed = set(required) | {plan.https_port}
    else:
        forbidden |= {plan.http_port: NOT_BEHIND_AN_EDGE[80], plan.https_port: NOT_BEHIND_AN_EDGE[443]}
        allowed = set(required)
    forbidden = {port: what for port, what in forbidden.items() if port not in allowed}
    ports = sorted(allowed | set(forbidden))
    started = clock()
    accepts = {plan.ssh_port: connect(plan.address, plan.ssh_port, PROBE_TIMEOUT_MAX)}
    timeout = probe_timeout(clock() - started) if accepts[plan.ssh_port] else PROBE_TIMEOUT_MAX
    others = [port for port in ports if port != plan.ssh_port]
    with ThreadPoolExecutor(max_workers=len(others)) as pool:
        accepts |= dict(zip(others, pool.map(lambda port: connect(plan.address, port, timeout), others), strict=True))
    problems = []
    for port, what in forbidden.items():
        if accepts[port]:
            problems.append(
                f"{port} accepts connections from outside ({what}): close it. Docker-published ports bypass ufw, so "
                "publish internal ports on 127.0.0.1 only, or not at all."
            )
    blocked_here = []
    for port, what in required.items():
        if accepts[port]:
            continue
        if port == plan.ssh_port:
            problems.append(f"SSH port {port} does not accept connections at {plan.address}")
        elif served_on_host(context, port):
            allowed_by_ufw = ufw_allows(context, port)
            if allowed_by_ufw is False:
                problems.append(f"{what} port {port} is served on the host, but ufw blocks it: 'make provision'")
            else:
                blocked_here.append(port)
        else:
            problems.append(
                f"nothing serves {what} port {port} on the host: the stack's proxy is not running ('make deploy')"
            )
    if blocked_here:
        ports_text = " and ".join(str(p) for p in blocked_here)
        problems.append(
            f"port {ports_text} is served on the host but unreachable from here at {plan.address}. "
            + SECURITY_GROUP_HINT.format(ports=ports_text)
        )
    opened = ", ".join(str(port) for port in ports if accepts[port]) or "none"
    closed = ", ".join(str(port) for port in ports if not accepts[port]) or "none"
    if problems:
        raise CheckFailed("; ".join(problems) + f" (at {plan.address}: open: {opened}; closed: {closed})")
    return f"{plan.address}: open {opened}; closed {closed}"
