"""The docker role's filters: thin names over hymt.provision.docker_daemon."""

from __future__ import annotations

from hymt.provision import docker_daemon


class FilterModule:
    def filters(self):
        return {
            "docker_daemon_config": docker_daemon.daemon_config,
            "docker_daemon_config_problems": docker_daemon.daemon_config_problems,
        }
