"""The firewall role's filters: thin names over hymt.provision.firewall."""

from __future__ import annotations

from hymt.provision import firewall


class FilterModule:
    def filters(self):
        return {
            "firewall_publicly_published_ports": firewall.publicly_published_ports,
            "firewall_ufw_state": firewall.ufw_state,
            "firewall_ufw_rules_missing": firewall.ufw_rules_missing,
        }
