"""The ufw rules the firewall role wants, built from the inventory in its vars/main.yml: SSH's first (it must be in
place before the firewall is enabled), then the proxy's ports, then the extra rules over their defaults (allow, tcp,
from any, no comment). tasks/ufw.yml calls the ufw module for those `ufw status verbose` does not show
(test_firewall_filters.py)."""

from __future__ import annotations

from tests.support.playbook import local_inventory, run_playbook
from tests.support.repo import ROOT

PLAYBOOK = ROOT / "tests/ansible/playbooks/firewall_rules.yml"


def test_ssh_comes_first_then_the_proxy_s_ports_then_the_extra_rules_with_their_defaults(tmp_path):
    hosts = {
        "defaults": {},
        "custom": {
            "firewall_ssh_port": 2222,
            "firewall_ssh_rate_limit": False,
            "firewall_web_ports": [8080],
            "firewall_extra_rules": [
                {"port": 9100, "from": "10.0.0.0/8", "comment": "node exporter"},
                {"port": 51820, "proto": "udp"},
                {"port": 22, "rule": "deny", "from": "192.0.2.7"},
            ],
        },
    }
    run = run_playbook(PLAYBOOK, local_inventory(tmp_path, hosts, {}), timeout=300)
    rules = {r.host: r.result.get("__firewall_ufw_rules") for r in run.results if r.task == "Report the rules"}
    assert rules["defaults"] == [
        {"rule": "limit", "port": "22", "proto": "tcp", "from": "any", "comment": "ssh"},
        {"port": "80", "rule": "allow", "proto": "tcp", "from": "any", "comment": "hymt proxy"},
        {"port": "443", "rule": "allow", "proto": "tcp", "from": "any", "comment": "hymt proxy"},
    ], run.explain()
    assert rules["custom"] == [
        {"rule": "allow", "port": "2222", "proto": "tcp", "from": "any", "comment": "ssh"},
        {"port": "8080", "rule": "allow", "proto": "tcp", "from": "any", "comment": "hymt proxy"},
        {"rule": "allow", "proto": "tcp", "from": "10.0.0.0/8", "port": 9100, "comment": "node exporter"},
        # No comment unless the rule gives one (the module then adds none).
        {"rule": "allow", "proto": "udp", "from": "any", "port": 51820},
        {"rule": "deny", "proto": "tcp", "from": "192.0.2.7", "port": 22},
    ], run.explain()
