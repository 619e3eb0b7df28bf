"""Which Docker-published ports bypass ufw: those on a public address."""

from __future__ import annotations

from hymt.provision import firewall


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
