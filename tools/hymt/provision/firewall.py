"""The firewall role's checks: which Docker-published ports bypass ufw, and what ufw has already (its switch and
default policies), so that the role leaves alone what holds.

Docker publishes ports through its own iptables chains, ahead of ufw's: a container published on a public address is
reachable whatever ufw says. The role therefore checks that only the ports meant to be public are published there.
Unit-tested in tests/ansible/test_firewall_filters.py.
"""

from __future__ import annotations

import ipaddress
import re

# One mapping of `docker ps --format '{{.Ports}}'`: "0.0.0.0:80->80/tcp", ":::443->443/tcp",
# "127.0.0.1:8000-8001->8000-8001/tcp" (an unpublished "8000/tcp" has no arrow and is skipped).
PORT_MAPPING = re.compile(
    r"^(?P<address>.*):(?P<first>\d+)(?:-(?P<last>\d+))?->(?P<target>[\d-]+)/(?P<proto>tcp|udp|sctp)$"
)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def publicly_published_ports(docker_ps_output: str, restricted: list[dict] | None = None) -> list[dict]:
    """Ports containers publish on non-loopback addresses, from `docker ps --format '{{.Names}}\\t{{.Ports}}'`,
    but those of `restricted` ({address, port}: open to listed addresses only, by the DOCKER-USER rules)."""
    allowed = {(str(entry["address"]), int(entry["port"])) for entry in restricted or []}
    published = []
    for line in (docker_ps_output or "").splitlines():
        name, _, ports = line.partition("\t")
        for mapping in filter(None, (part.strip() for part in ports.split(","))):
            match = PORT_MAPPING.match(mapping)
            if not match or _is_loopback(match["address"]):
                continue
            first = int(match["first"])
            last = int(match["last"] or first)
            for port in range(first, last + 1):
                entry = {
                    "container": name.strip(),
                    "address": match["address"] or "0.0.0.0",
                    "port": port,
                    "proto": match["proto"],
                }
                if entry not in published and (entry["address"], port) not in allowed:
                    published.append(entry)
    return published


# `ufw status verbose` of an enabled firewall: "Status: active", then
# "Default: deny (incoming), allow (outgoing), deny (routed)"; of a disabled one, "Status: inactive" alone.
UFW_DEFAULT = re.compile(r"^Default: (?P<policies>.*)$", re.MULTILINE)
UFW_POLICY = re.compile(r"(?P<policy>[a-z-]+) \((?P<direction>incoming|outgoing|routed)\)")


def ufw_state(status_verbose: str) -> dict:
    """{active, incoming, outgoing, routed} from `ufw status verbose` (a policy ufw did not print is "": unknown,
    which matches no wanted policy, so the role sets it)."""
    found = UFW_DEFAULT.search(status_verbose)
    policies = dict.fromkeys(("incoming", "outgoing", "routed"), "")
    if found:
        policies |= {m["direction"]: m["policy"] for m in UFW_POLICY.finditer(found["policies"])}
    active = any(line.strip() == "Status: active" for line in status_verbose.splitlines())
    return {"active": active, **policies}
