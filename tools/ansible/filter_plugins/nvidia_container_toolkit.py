"""The nvidia_container_toolkit role's filters: thin names over hymt.provision.nvidia_container_toolkit."""

from __future__ import annotations

from hymt.provision import nvidia_container_toolkit


class FilterModule:
    def filters(self):
        return {
            "nvidia_container_toolkit_plan": nvidia_container_toolkit.toolkit_plan,
            "nvidia_container_toolkit_advice": nvidia_container_toolkit.container_advice,
            "nvidia_container_toolkit_smoke_test_advice": nvidia_container_toolkit.smoke_test_advice,
            "nvidia_container_toolkit_read_daemon_json": nvidia_container_toolkit.read_daemon_json,
        }
