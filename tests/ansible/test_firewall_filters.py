"""Which Docker-published ports bypass ufw (those on a public address), and what ufw has already: its switch and
policies, and which of the role's rules `ufw status verbose` does not show."""

from __future__ import annotations

import pytest

from hymt.provision import firewall
from tests.ansible.filters import data


def test_loopback_ports_stay_private_and_public_ones_are_listed():
    output = "\n".join(
        [
            "hymt-proxy-1\t0.0.0.0:80->80/tcp, :::80->80/tcp, 0.0.0.0:443->443/tcp, :::443->443/tcp",
            "hymt-vllm-1\t127.0.0.1:8000->8000/tcp",
            "hymt-web-1\t8080/tcp",
            "debug\t[::1]:9000->9000/tcp, 10.0.0.5:5000-5001->5000-5001/udp",
        ]
    )
    published = firewall.publicly_published_ports(output)
    assert [(p["container"], p["address"], p["port"], p["proto"]) for p in published] == [
        ("hymt-proxy-1", "0.0.0.0", 80, "tcp"),
        ("hymt-proxy-1", "::", 80, "tcp"),
        ("hymt-proxy-1", "0.0.0.0", 443, "tcp"),
        ("hymt-proxy-1", "::", 443, "tcp"),
        ("debug", "10.0.0.5", 5000, "udp"),
        ("debug", "10.0.0.5", 5001, "udp"),
    ]


def test_no_containers_publish_nothing():
    assert firewall.publicly_published_ports("") == []


# `ufw status verbose` on the rehearsal host after `make rehearse` (copied from its output).
UFW_ENABLED = """Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), deny (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW IN    Anywhere                   # ssh
80/tcp                     ALLOW IN    Anywhere                   # hymt proxy
443/tcp                    ALLOW IN    Anywhere                   # hymt proxy
22/tcp (v6)                ALLOW IN    Anywhere (v6)              # ssh
"""


def test_an_enabled_ufw_with_the_role_s_policies_needs_no_command():
    assert firewall.ufw_state(UFW_ENABLED) == {
        "active": True,
        "incoming": "deny",
        "outgoing": "allow",
        "routed": "deny",
    }


def test_a_disabled_ufw_is_not_active_and_its_policies_are_unknown():
    # ufw prints nothing else while disabled: the role then enables it and sets the policies.
    assert firewall.ufw_state("Status: inactive\n") == {"active": False, "incoming": "", "outgoing": "", "routed": ""}


def test_other_policies_are_read_as_they_are():
    changed = UFW_ENABLED.replace("deny (incoming), allow (outgoing)", "allow (incoming), deny (outgoing)")
    state = firewall.ufw_state(changed.replace("Status: active", "Status: inactive"))
    assert state == {"active": False, "incoming": "allow", "outgoing": "deny", "routed": "deny"}


def test_a_rule_s_comment_saying_active_does_not_count():
    assert not firewall.ufw_state("Status: inactive\n22/tcp ALLOW IN Anywhere # Status: active\n")["active"]


# The rules the role wants (vars/main.yml's __firewall_ufw_rules) for the inventory the recorded outputs come from
# (tests/ansible/data/README.md): its defaults and five extra rules, defaults filled in, ports as the role gives them.
SSH = {"rule": "limit", "port": "22", "proto": "tcp", "from": "any", "comment": "ssh"}
HTTP = {"port": "80", "rule": "allow", "proto": "tcp", "from": "any", "comment": "hymt proxy"}
HTTPS = {"port": "443", "rule": "allow", "proto": "tcp", "from": "any", "comment": "hymt proxy"}
EXPORTER_V4 = {"rule": "allow", "proto": "tcp", "from": "10.0.0.0/8", "port": 9100, "comment": "node exporter"}
EXPORTER_V6 = {"rule": "allow", "proto": "tcp", "from": "2001:db8::/32", "port": 9100, "comment": "node exporter"}
WIREGUARD = {"rule": "allow", "proto": "udp", "from": "any", "port": 51820, "comment": "wireguard"}
UNCOMMENTED = {"rule": "allow", "proto": "tcp", "from": "any", "port": 8443}
BAD_HOST = {"rule": "deny", "proto": "tcp", "from": "192.0.2.7", "port": 22, "comment": "bad host"}
ROLE_RULES = [SSH, HTTP, HTTPS, EXPORTER_V4, EXPORTER_V6, WIREGUARD, UNCOMMENTED, BAD_HOST]


def test_a_host_with_every_rule_misses_none():
    assert firewall.ufw_rules_missing(data("ufw-0.36.2-role-rules.txt"), ROLE_RULES) == []


@pytest.mark.parametrize("recorded", ["ufw-0.36.2-443-ipv4-deleted.txt", "ufw-0.36.2-443-ipv6-deleted.txt"])
def test_a_rule_missing_for_ipv4_or_for_ipv6_alone_is_missing(recorded):
    assert firewall.ufw_rules_missing(data(recorded), ROLE_RULES) == [HTTPS]


def test_another_comment_or_a_comment_where_none_is_wanted_is_missing():
    assert firewall.ufw_rules_missing(data("ufw-0.36.2-80-old-comment.txt"), ROLE_RULES) == [HTTP]
    # The module rewrites the rule without its comment, so a rule wanted without one is not there yet either.
    assert firewall.ufw_rules_missing(data("ufw-0.36.2-8443-commented.txt"), ROLE_RULES) == [UNCOMMENTED]


def test_ssh_allowed_where_it_should_be_rate_limited_is_missing_and_the_other_way_round():
    assert firewall.ufw_rules_missing(data("ufw-0.36.2-ssh-allowed.txt"), ROLE_RULES) == [SSH]
    allowed_ssh = SSH | {"rule": "allow"}
    assert firewall.ufw_rules_missing(data("ufw-0.36.2-role-rules.txt"), [allowed_ssh, HTTP]) == [allowed_ssh]
    assert firewall.ufw_rules_missing(data("ufw-0.36.2-ssh-allowed.txt"), [allowed_ssh, HTTP]) == []


def test_another_rule_of_the_same_port_and_address_makes_the_wanted_one_missing_though_it_is_there():
    # An unlimited SSH rule ahead of the rate-limited one (user.rules edited by hand): it takes every connection first.
    # The module's call rewrites it into the wanted rule, so it must run.
    assert firewall.ufw_rules_missing(data("ufw-0.36.2-ssh-allowed-ahead-of-limit.txt"), ROLE_RULES) == [SSH]
    # What that call leaves: the wanted rule twice, which a further call does not change.
    assert firewall.ufw_rules_missing(data("ufw-0.36.2-ssh-limited-twice.txt"), ROLE_RULES) == []


def test_a_rule_that_logs_is_not_the_rule_wanted():
    assert firewall.ufw_rules_missing(data("ufw-0.36.2-51820-logged.txt"), ROLE_RULES) == [WIREGUARD]


def test_a_rule_from_an_address_matches_that_address_only():
    status = data("ufw-0.36.2-role-rules.txt")
    assert firewall.ufw_rules_missing(status, [EXPORTER_V4, EXPORTER_V6, BAD_HOST]) == []
    other_network = EXPORTER_V4 | {"from": "10.0.0.0/16"}
    other_host = BAD_HOST | {"from": "192.0.2.8"}
    from_anywhere = EXPORTER_V4 | {"from": "any"}
    assert firewall.ufw_rules_missing(status, [other_network, other_host, from_anywhere]) == [
        other_network,
        other_host,
        from_anywhere,
    ]
    # ufw stores 10.0.0.0/8 for 10.0.0.1/8 (and 10.0.0.5 for 10.0.0.5/32); an address written otherwise than ufw
    # prints it is left to the module.
    assert firewall.ufw_rules_missing(status, [EXPORTER_V4 | {"from": "10.0.0.1/8"}]) == [
        EXPORTER_V4 | {"from": "10.0.0.1/8"}
    ]


def test_with_ipv6_off_a_rule_from_anywhere_counts_as_missing_as_the_status_cannot_say_ipv6_is_off():
    without_ipv6_address = [rule for rule in ROLE_RULES if rule is not EXPORTER_V6]
    assert firewall.ufw_rules_missing(data("ufw-0.36.2-ipv6-off.txt"), without_ipv6_address) == [
        SSH,
        HTTP,
        HTTPS,
        WIREGUARD,
        UNCOMMENTED,
    ]


def test_a_disabled_ufw_lists_no_rules_so_all_are_missing():
    assert firewall.ufw_rules_missing(data("ufw-0.36.2-disabled.txt"), ROLE_RULES) == ROLE_RULES


@pytest.mark.parametrize(
    "status",
    [
        "",
        None,
        # Cut off before the rules (a disabled ufw's rules would never show here).
        data("ufw-0.36.2-role-rules.txt").split("To ")[0],
        # Another language's header.
        data("ufw-0.36.2-role-rules.txt").replace("To                         Action      From", "An Aktion Von"),
        # A line that is not a rule as ufw prints them, among the rules.
        data("ufw-0.36.2-role-rules.txt").replace("443/tcp (v6)               ALLOW IN", "443/tcp (v6) ERLAUBEN"),
        # The rule table without the status line.
        data("ufw-0.36.2-role-rules.txt").replace("Status: active\n", ""),
    ],
)
def test_an_output_it_cannot_read_makes_every_rule_missing(status):
    assert firewall.ufw_rules_missing(status, ROLE_RULES) == ROLE_RULES


def test_a_rule_it_cannot_judge_is_missing_and_so_is_every_rule_after_it():
    status = data("ufw-0.36.2-role-rules.txt")
    # A port ufw would print otherwise, a protocol other than tcp and udp, a quote the module's command line would
    # split on, a rule without a port: what the module's call would rewrite is not known.
    for unjudged in (
        HTTP | {"port": "080"},
        HTTP | {"proto": "any"},
        HTTP | {"comment": "the proxy's"},
        {key: value for key, value in HTTP.items() if key != "port"},
        HTTP | {"from": "proxy.example.com"},
    ):
        assert firewall.ufw_rules_missing(status, [SSH, unjudged, HTTPS]) == [unjudged, HTTPS], unjudged


def test_a_rule_after_a_missing_one_of_the_same_port_and_address_is_missing_too():
    # An extra rule for port 80 with a comment of its own: the module's call for the proxy's rule puts its comment
    # back, so the extra rule's call must follow, as the tasks ran before.
    extra_http = HTTP | {"comment": "old proxy"}
    assert firewall.ufw_rules_missing(data("ufw-0.36.2-role-rules.txt"), [HTTP, HTTPS, extra_http]) == [extra_http]
    assert firewall.ufw_rules_missing(data("ufw-0.36.2-80-old-comment.txt"), [HTTP, HTTPS, extra_http]) == [
        HTTP,
        extra_http,
    ]
