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
