"""The nvidia_driver role's filters: thin names over hymt.provision.nvidia_driver."""

from __future__ import annotations

from hymt.provision import nvidia_driver


class FilterModule:
    def filters(self):
        return {
            "nvidia_driver_plan": nvidia_driver.driver_plan,
            "nvidia_driver_failure_advice": nvidia_driver.driver_failure_advice,
        }
