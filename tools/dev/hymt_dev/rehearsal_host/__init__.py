"""The VM-like rehearsal host: a systemd Debian container the Ansible roles provision over real SSH."""

from hymt_dev.rehearsal_host.host import HostAccess, HostSettings, RehearsalHostError, build_image, down, up

__all__ = ["HostAccess", "HostSettings", "RehearsalHostError", "build_image", "down", "up"]
