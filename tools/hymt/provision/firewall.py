"""The firewall role's checks: which Docker-published ports bypass ufw, and what ufw has already (its switch, default
policies and rules), so that the role leaves alone what holds.

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


# A rule line of `ufw status verbose`, as ufw 0.36 prints it ("%-26s %-12s%-26s%s%s": To, the action and its direction,
# From, " (log)" when the rule logs, " # COMMENT" when it has one):
#   22/tcp                     LIMIT IN    Anywhere                   # ssh
#   22/tcp (v6)                LIMIT IN    Anywhere (v6)              # ssh
#   9100/tcp                   ALLOW IN    10.0.0.0/8                 # node exporter
# Nothing before the comment holds " # ", so the first one starts the comment, which is the rest of the line as it is
# (ufw keeps a comment's spaces). Without a comment, From is padded with spaces.
UFW_RULE = re.compile(r"^(?P<to>\S.*?) +(?P<action>(?:ALLOW|DENY|REJECT|LIMIT) (?:IN|OUT|FWD)) +(?P<source>\S.*?) *$")
UFW_RULE_ACTIONS = {"allow": "ALLOW IN", "limit": "LIMIT IN", "deny": "DENY IN", "reject": "REJECT IN"}
# A port as ufw prints it: 22, a range 8000:8010, a list 80,443. Anything else (080, a service name) is left to the
# module, since ufw may store it as another port's rule.
UFW_PORT = re.compile(r"^[1-9]\d*(?::[1-9]\d*)?(?:,[1-9]\d*(?::[1-9]\d*)?)*$")
# A comment the ufw module passes to ufw unchanged: it quotes it with ' and splits the command line like a shell.
UFW_PLAIN_COMMENT = re.compile(r"^[^'\"\\\n\r]*$")

UfwLine = tuple[str, str, str, str | None]  # To, action, From, comment (None: none)


def _ufw_rule_lines(status_verbose: str) -> list[UfwLine] | None:
    """The rules an active ufw lists, in its order; None when the output is not an active ufw's rule table, or holds a
    line that is not a rule as ufw prints them (then nothing in it can be trusted)."""
    lines = (status_verbose or "").splitlines()
    if not any(line.strip() == "Status: active" for line in lines):
        return None
    headers = [i for i, line in enumerate(lines) if line.split() == ["To", "Action", "From"]]
    if len(headers) != 1 or headers[0] + 1 >= len(lines) or lines[headers[0] + 1].split() != ["--", "------", "----"]:
        return None
    rules = []
    for line in lines[headers[0] + 2 :]:
        if not line.strip():
            continue  # ufw puts a blank line between its incoming, outgoing and routed rules
        fields, has_comment, comment = line.partition(" # ")
        match = UFW_RULE.match(fields)
        if not match:
            return None
        rules.append((match["to"], match["action"], match["source"], comment if has_comment else None))
    return rules


def _wanted_ufw_lines(rule: dict) -> list[UfwLine] | None:
    """The lines `ufw status verbose` shows for a rule of the role ({rule, port, proto, from, comment}, the ufw module's
    rule, port, proto, from_ip and comment, to any address): one for IPv4 and one for IPv6 from any address, one from a
    given address. None when this cannot tell how ufw would print it, so that the module decides."""
    try:
        action = UFW_RULE_ACTIONS.get(rule["rule"])
        port, proto, source = str(rule["port"]), rule["proto"], rule["from"]
    except (KeyError, TypeError):
        return None
    if not isinstance(source, str):
        return None
    comment = rule.get("comment")
    # The module leaves out an empty comment, and ufw then keeps none.
    comment = None if comment in (None, "") else comment
    if (
        action is None
        or not UFW_PORT.match(port)
        or proto not in ("tcp", "udp")
        or not (comment is None or (isinstance(comment, str) and UFW_PLAIN_COMMENT.match(comment)))
    ):
        return None
    to = f"{port}/{proto}"
    if source == "any":
        # ufw adds the IPv6 twin whenever its IPv6 is on (IPV6=yes in /etc/default/ufw, the default), and the status
        # cannot show that it is off: the twin is always wanted, so a host with IPv6 off gets the module calls as
        # before this check.
        return [(to, action, "Anywhere", comment), (f"{to} (v6)", action, "Anywhere (v6)", comment)]
    try:
        ipaddress.ip_network(source, strict=False)
    except (TypeError, ValueError):
        return None
    # ufw prints the address as it stores it (10.0.0.5 for 10.0.0.5/32, 10.1.0.0/16 for 10.1.2.3/16): an address
    # written otherwise never matches, so its rule is always left to the module.
    return [(to, action, source, comment)]


def _rule_key(line: UfwLine) -> tuple[str, str]:
    """What ufw would take for the same rule, whatever its action, logging and comment: adding a rule replaces a rule
    of that key. From's first word, the address, leaves out " (log)" and the like."""
    to, _action, source, _comment = line
    return to, source.split()[0]


def ufw_rules_missing(status_verbose: str, rules: list[dict]) -> list[dict]:
    """The rules of `rules` (the firewall role's: {rule, port, proto, from, comment}) that `ufw status verbose` does not
    show exactly: its action, port and protocol, address and comment, for IPv4 and IPv6, and no other rule of that key
    (another action, comment or logging). A disabled ufw lists no rules, so all are missing then; so they are when the
    output is not what ufw prints, or a rule is one this cannot judge. The role runs the ufw module for these only:
    a rule wrongly judged present would stay missing, one wrongly judged missing costs only the module's call.

    The module's calls run in the rules' order and each may rewrite what an earlier one left, so a rule is missing
    too when an earlier missing one has its key (the earlier call rewrites it, the later one must put it back as
    before), and every rule after one this cannot judge is (which key that one's call rewrites is not known)."""
    rules = list(rules or [])
    shown = _ufw_rule_lines(status_verbose)
    if shown is None:
        return rules
    shown_by_key: dict[tuple[str, str], set[UfwLine]] = {}
    for line in shown:
        shown_by_key.setdefault(_rule_key(line), set()).add(line)
    missing: list[dict] = []
    rewritten_keys: set[tuple[str, str]] = set()
    for position, rule in enumerate(rules):
        wanted = _wanted_ufw_lines(rule) if isinstance(rule, dict) else None
        if wanted is None:
            return missing + rules[position:]
        keys = {_rule_key(line) for line in wanted}
        if keys & rewritten_keys or any(shown_by_key.get(_rule_key(line)) != {line} for line in wanted):
            missing.append(rule)
            rewritten_keys |= keys
    return missing
