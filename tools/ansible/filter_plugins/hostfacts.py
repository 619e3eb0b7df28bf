"""Filters more than one role uses: thin names over hymt.hostfacts (hymt_ prefix: they belong to no one role)."""

from __future__ import annotations

from hymt import hostfacts


class FilterModule:
    def filters(self):
        return {
            "hymt_engine_major_version": hostfacts.engine_major_version,
            "hymt_version_at_least": hostfacts.version_at_least,
            "hymt_apt_architecture": hostfacts.apt_architecture,
            "hymt_apt_missing": hostfacts.apt_missing,
            "hymt_packages_from_dpkg_query": hostfacts.packages_from_dpkg_query,
        }
