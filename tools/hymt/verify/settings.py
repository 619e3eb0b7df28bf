"""Everything `hymt verify` is told, in one typed place (the CLI fills it; the deploy's verify step may too)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hymt.verify.host import DEFAULT_COMPOSE_PROJECT, DEFAULT_SERVICES, DEFAULT_STACK_DIR
from hymt.verify.shape import EDGE_DIR

# Where the pins are when no inventory gives them: a checkout's versions file, relative to the working directory.
DEFAULT_PINS_FILE = Path("inventory/group_vars/all/versions.yml")


# Where the CLI reads the password of --login from: never an argument, which would show in `ps` and in shell history.
ENV_VERIFY_PASSWORD = "HYMT_VERIFY_PASSWORD"


@dataclass(frozen=True)
class Login:
    """An account of the site's basic auth at the proxy (hymt_basic_auth_users). The password stays out of repr, so
    no report, log line or error that shows the settings shows it."""

    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class VerifySettings:
    # The deployment's profile as the caller declares it (None: the inventory's hymt_profile, else "gpu").
    profile: str | None = None
    # Fail on any skip, even those the profile expects.
    strict: bool = False
    # The HTTP half: the public base URL (None: derived from the inventory when there is one).
    url: str | None = None
    # A private deployment's access key (HYMT_ACCESS_KEY): sent with every translation; with it, the deployment must
    # refuse a translation without a key.
    access_key: str | None = None
    # The login the site's basic auth asks for: sent with every request; verify then also checks that the site refuses
    # a request without it and one with a wrong password. Credentials in `url` become this login.
    login: Login | None = None
    timeout: float = 60.0
    wait: float = 0.0  # first wait up to this many seconds for /readyz
    # The host half: an Ansible inventory (its gpu_hosts and edge hosts), or hosts as user@address[:port].
    inventory: Path | None = None
    hosts: tuple[str, ...] = ()
    ssh_key: str | None = None
    known_hosts: str | None = None
    # The address the ports are probed at (None: the inventory's hymt_public_address, else ansible_host).
    public_address: str | None = None
    # A domain turns on the TLS checks (None: the inventory's hymt_domain).
    domain: str | None = None
    stack_dir: str = DEFAULT_STACK_DIR
    compose_project: str = DEFAULT_COMPOSE_PROJECT
    services: tuple[str, ...] = DEFAULT_SERVICES  # the single server's; hymt.verify.shape splits them by host
    # An edge host's proxy (the inventory's edge_dir, when set, wins: the edge role's setting).
    edge_dir: str = EDGE_DIR
    min_free_gb: float = 5.0
    pins_file: Path = DEFAULT_PINS_FILE
    # Which parts run.
    http: bool = True
    host: bool = True
    testinfra: bool = True
