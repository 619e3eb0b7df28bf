"""Filters several roles use to act only where the host differs: thin names over hymt.provision.host_state (hymt_
prefix: they belong to no one role)."""

from __future__ import annotations

from hymt.provision import host_state


class FilterModule:
    def filters(self):
        return {
            "hymt_files_differing": host_state.files_differing,
            "hymt_found_entry": host_state.found_entry,
            "hymt_units_not_running": host_state.units_not_running,
        }
