"""Filters the docker, nvidia_container_toolkit and nvidia_driver roles share: thin names over
hymt.provision.signing_keys (hymt_ prefix: they belong to no one role)."""

from __future__ import annotations

from hymt.provision import signing_keys


class FilterModule:
    def filters(self):
        return {"hymt_signing_key_problem": signing_keys.key_problem}
