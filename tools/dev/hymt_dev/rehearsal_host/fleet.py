"""A rehearsal fleet: N GPU rehearsal hosts and one edge host on networks of their own, as a cloud gives them.

Each host is a rehearsal host (host.py: the same image, flags, Docker volume, login key and known_hosts read through
Docker) on two Docker networks: `<prefix>-public`, an ordinary bridge that carries the host's default route and its
published ports, and `<prefix>-private`, an internal bridge (no gateway, so no route out) on which each host has a
fixed address, like a cloud VM's public and private interfaces. The firewall role treats the default route's
interface as public and lets the others through, so the hosts talk to each other on the private network only.

Every host publishes SSH on 127.0.0.1 on a port Docker picks; only the edge publishes 80 and 443. The inventory puts
all hosts in `rehearsal`, the GPU hosts in `gpu_hosts` and the edge in `edge`, with each host's private address.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hymt_dev.rehearsal_host.host import (
    LABEL,
    LOOPBACK,
    ROOT,
    HostAccess,
    HostSettings,
    RehearsalHostError,
    boot,
    build_image,
    connection_vars,
    default_image,
    docker_client,
    ensure_login_key,
    remove_files,
    remove_host,
    remove_inventory,
    wait_for_ssh,
    write_inventory,
    write_known_hosts,
)

FLEET_LABEL = "org.hymt.rehearsal-fleet"
DEFAULT_PREFIX = "hymt-fleet"
DEFAULT_INVENTORY = ROOT / ".hymt/rehearsal-fleet/inventory.yml"
# Outside the 172.16/12 and 192.168/16 pools the inner Docker engines take their bridges from.
DEFAULT_PRIVATE_SUBNET = "10.213.0.0/24"
# Lower-case letters, digits and inner hyphens: the prefix names containers, their hostnames and inventory hosts.
PREFIX_PATTERN = re.compile(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?")


def check_prefix(text: str) -> str:
    if not PREFIX_PATTERN.fullmatch(text):
        raise ValueError(
            f"{text!r} cannot name the fleet's hosts: use 1 to 40 lower-case letters, digits and inner hyphens "
            "(a host name label), e.g. hymt-fleet"
        )
    return text


def check_gpu_hosts(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of GPU hosts (1 or more)") from None
    if count < 1:
        raise ValueError(f"{count} GPU hosts: a fleet has 1 or more (for none, use the single rehearsal host: up)")
    return count


def check_subnet(text: str) -> ipaddress.IPv4Network:
    try:
        subnet = ipaddress.ip_network(text, strict=True)
    except ValueError as error:
        raise ValueError(f"{text!r} is not a subnet ({error}); give one like {DEFAULT_PRIVATE_SUBNET}") from None
    if not isinstance(subnet, ipaddress.IPv4Network):
        raise ValueError(f"{text} is not an IPv4 subnet; give one like {DEFAULT_PRIVATE_SUBNET}")
    return subnet


@dataclass
class FleetSettings:
    """What to create. Ports of None let Docker pick free ones."""

    gpu_hosts: int = 1
    prefix: str = DEFAULT_PREFIX
    inventory: Path = DEFAULT_INVENTORY
    http_port: int | None = 8080
    https_port: int | None = 8443
    private_subnet: ipaddress.IPv4Network = field(default_factory=lambda: check_subnet(DEFAULT_PRIVATE_SUBNET))
    image: str = field(default_factory=default_image)

    @property
    def state_dir(self) -> Path:
        """The login key and the known_hosts files live next to the inventory (named absolutely in it, so that the
        inventory works from any directory)."""
        return self.inventory.parent.absolute()

    @property
    def public_network(self) -> str:
        return f"{self.prefix}-public"

    @property
    def private_network(self) -> str:
        return f"{self.prefix}-private"

    @property
    def edge_name(self) -> str:
        return f"{self.prefix}-edge"

    def gpu_names(self) -> list[str]:
        return [f"{self.prefix}-gpu-{index}" for index in range(1, self.gpu_hosts + 1)]

    def private_gateway(self) -> str:
        return str(next(self.private_subnet.hosts()))

    def private_addresses(self) -> dict[str, str]:
        """The first address is the bridge's; then the edge, then gpu-1..N, so that adding GPU hosts moves nobody."""
        names = [self.edge_name, *self.gpu_names()]
        addresses = list(itertools.islice(self.private_subnet.hosts(), len(names) + 1))
        if len(addresses) < len(names) + 1:
            raise RehearsalHostError(
                f"the private subnet {self.private_subnet} has room for {max(len(addresses) - 1, 0)} hosts, the fleet "
                f"needs {len(names)}; give a larger one with --private-subnet (e.g. {DEFAULT_PRIVATE_SUBNET})."
            )
        return {name: str(address) for name, address in zip(names, addresses[1:], strict=True)}

    def labels(self) -> dict[str, str]:
        return {LABEL: "true", FLEET_LABEL: self.prefix, "org.hymt.rehearsal-host.inventory": str(self.inventory)}

    def host_settings(self) -> list[HostSettings]:
        """The edge first, then the GPU hosts."""
        hint = (
            "'make rehearsal-host-up GPU_HOSTS=... REHEARSAL_HTTP_PORT=8081 REHEARSAL_HTTPS_PORT=8444' "
            "(or --http-port/--https-port, 0 for any)"
        )
        addresses = self.private_addresses()
        return [
            HostSettings(
                name=name,
                ssh_port=None,
                http_port=self.http_port,
                https_port=self.https_port,
                image=self.image,
                state_dir=self.state_dir,
                inventory=self.inventory,
                publish_web=name == self.edge_name,
                network=self.public_network,
                private_network=self.private_network,
                private_address=address,
                labels={FLEET_LABEL: self.prefix},
                port_hint=hint,
            )
            for name, address in addresses.items()
        ]


@dataclass
class FleetHost:
    access: HostAccess
    private_address: str


@dataclass
class Fleet:
    edge: FleetHost
    gpu_hosts: list[FleetHost]
    inventory: Path

    @property
    def public_url(self) -> str:
        return f"http://{LOOPBACK}:{self.edge.access.http_port}"


def fleet_inventory(fleet: Fleet) -> dict:
    hosts = {}
    for host in [*fleet.gpu_hosts, fleet.edge]:
        # The service's URL (the edge's) on every host: a host variable, as group_vars/all/main.yml's own default
        # would win over the inventory file's group variables.
        hosts[host.access.name] = {
            **connection_vars(host.access),
            "hymt_private_address": host.private_address,
            "hymt_public_url": fleet.public_url,
        }
    # Where the control machine reaches the edge's ports 80 and 443, and so the service.
    hosts[fleet.edge.access.name] |= {
        "rehearsal_host_http_port": fleet.edge.access.http_port,
        "rehearsal_host_https_port": fleet.edge.access.https_port,
    }
    return {
        "all": {
            "children": {
                "rehearsal": {"hosts": hosts},
                "gpu_hosts": {"hosts": {host.access.name: {} for host in fleet.gpu_hosts}},
                "edge": {"hosts": {fleet.edge.access.name: {}}},
            },
        }
    }


def write_fleet_inventory(fleet: Fleet) -> None:
    header = (
        "# The rehearsal fleet, written by `make rehearsal-host-up GPU_HOSTS=N` (python -m hymt_dev.rehearsal_host\n"
        "# fleet-up); rewritten on every fleet-up, removed by `make rehearsal-host-down GPU_HOSTS=N`. group_vars here\n"
        "# links to inventory/group_vars, whose rehearsal.yml holds the rehearsal profile. Each host is reached over\n"
        "# SSH on 127.0.0.1; hymt_private_address is its address on the fleet's internal network.\n"
        "# Host key checking stays on: each host's known_hosts file holds its key.\n"
    )
    write_inventory(fleet.inventory, header, fleet_inventory(fleet))


def _fleet_containers(client, prefix: str) -> list:
    return client.containers.list(all=True, filters={"label": f"{FLEET_LABEL}={prefix}"})


def _check_port_free(port: int | None, what: str) -> None:
    if port is None:
        return
    with socket.socket() as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            raise RehearsalHostError(
                f"the edge's {what} port {LOOPBACK}:{port} is taken. Choose a free one: --http-port/"
                "--https-port (0 for any), or REHEARSAL_HTTP_PORT/REHEARSAL_HTTPS_PORT with make."
            ) from None


def _ensure_networks(client, settings: FleetSettings) -> None:
    """The internal network first (its subnet may clash), then the public one; a failure leaves neither behind."""
    from docker.errors import APIError, NotFound
    from docker.types import IPAMConfig, IPAMPool

    labels = settings.labels()
    try:
        private = client.networks.get(settings.private_network)
    except NotFound:
        private = None
    if private is not None:
        configs = private.attrs.get("IPAM", {}).get("Config") or []
        subnets = {config.get("Subnet") for config in configs}
        if str(settings.private_subnet) not in subnets or not private.attrs.get("Internal"):
            raise RehearsalHostError(
                f"the network {settings.private_network} exists with subnet {', '.join(sorted(map(str, subnets)))} "
                f"(internal: {private.attrs.get('Internal')}), not the internal {settings.private_subnet} asked for; "
                f"give --private-subnet {', '.join(sorted(map(str, subnets)))} or remove the fleet (fleet-down) first."
            )
    else:
        pool = IPAMPool(subnet=str(settings.private_subnet), gateway=settings.private_gateway())
        try:
            private = client.networks.create(
                settings.private_network,
                driver="bridge",
                internal=True,
                ipam=IPAMConfig(pool_configs=[pool]),
                labels=labels,
            )
        except APIError as error:
            raise RehearsalHostError(
                f"Docker refused the private network {settings.private_subnet}: {error.explanation or error}. "
                "Choose a subnet no other Docker network uses with --private-subnet."
            ) from None
    try:
        client.networks.get(settings.public_network)
    except NotFound:
        try:
            client.networks.create(settings.public_network, driver="bridge", labels=labels)
        except APIError as error:
            private.remove()
            raise RehearsalHostError(
                f"Docker refused the public network {settings.public_network}: {error.explanation or error}."
            ) from None


def fleet_up(settings: FleetSettings, client=None, timeout: float = 180) -> Fleet:
    """Create (or start) the fleet's networks and hosts, the hosts concurrently; wait until SSH logins work on all;
    write their known_hosts files and the inventory. Hosts that exist are kept."""
    hosts = settings.host_settings()
    client = client or docker_client()
    wanted = {host.name for host in hosts}
    existing = {container.name for container in _fleet_containers(client, settings.prefix)}
    if extra := sorted(existing - wanted):
        raise RehearsalHostError(
            f"the fleet {settings.prefix} has hosts beyond {settings.gpu_hosts} GPU hosts ({', '.join(extra)}); "
            f"give --gpu-hosts {len(existing - {settings.edge_name})}, or remove the fleet first (fleet-down)."
        )
    if settings.edge_name not in existing:
        _check_port_free(settings.http_port, "HTTP")
        _check_port_free(settings.https_port, "HTTPS")
    build_image(settings.image, client=client)
    _ensure_networks(client, settings)
    public_key = ensure_login_key(settings.state_dir / "id_ed25519")
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        booting = [pool.submit(boot, client, host, public_key, timeout) for host in hosts]
        booted = [future.exception() or future.result() for future in booting]
    if failed := [outcome for outcome in booted if isinstance(outcome, BaseException)]:
        if not isinstance(failed[0], RehearsalHostError):
            raise failed[0]
        raise RehearsalHostError("; ".join(str(error) for error in failed))
    fleet_hosts = []
    for host, (access, host_key) in zip(hosts, booted, strict=True):
        write_known_hosts(access, host_key)
        fleet_hosts.append(FleetHost(access, host.private_address or ""))
    fleet = Fleet(edge=fleet_hosts[0], gpu_hosts=fleet_hosts[1:], inventory=settings.inventory)
    write_fleet_inventory(fleet)
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        for future in [pool.submit(wait_for_ssh, host.access, timeout) for host in fleet_hosts]:
            future.result()
    return fleet


def fleet_down(prefix: str, inventory: Path, client=None) -> list[str]:
    """Remove the fleet's hosts (their containers, volumes and known_hosts files), its networks and its inventory;
    returns what was removed. The login key stays, as for the single host."""
    from docker.errors import NotFound

    client = client or docker_client()
    removed = []
    for container in sorted(_fleet_containers(client, prefix), key=lambda container: container.name):
        removed += remove_host(client, HostSettings(name=container.name, state_dir=inventory.parent))
    for network in (f"{prefix}-private", f"{prefix}-public"):
        try:
            client.networks.get(network).remove()
            removed.append(f"network {network}")
        except NotFound:
            pass
    # known_hosts files of hosts whose containers were already gone.
    own = re.compile(rf"known_hosts-{re.escape(prefix)}-(edge|gpu-[0-9]+)")
    leftovers = [path for path in inventory.parent.glob("known_hosts-*") if own.fullmatch(path.name)]
    return removed + remove_files(*leftovers) + remove_inventory(inventory)
