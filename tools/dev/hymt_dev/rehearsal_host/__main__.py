"""python -m hymt_dev.rehearsal_host build|up|down|fleet-up|fleet-down: the VM-like rehearsal host, or a fleet of
them on networks of their own, on this machine's Docker engine."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from hymt_dev.rehearsal_host import fleet
from hymt_dev.rehearsal_host.host import ROOT, HostSettings, RehearsalHostError, build_image, down, up


def _port(text: str) -> int | None:
    """A TCP port, or 0 / "auto" for one Docker picks."""
    if text in {"0", "auto"}:
        return None
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535, or 0 for any free port)") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535, or 0 for any free port)")
    return port


def _checked(check: Callable) -> Callable:
    """An argparse type from a check that raises ValueError with the message to show."""

    def convert(text: str):
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = check.__name__.removeprefix("check_")
    return convert


def _display(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hymt_dev.rehearsal_host",
        description="A Debian 12 container that behaves like a fresh cloud VM (systemd, sshd, python3), for "
        "rehearsing the provisioning over SSH. Its ports are published on 127.0.0.1 only.",
    )
    parser.add_argument("--name", default=HostSettings.name, help="container name and inventory host name")
    parser.add_argument(
        "--inventory",
        type=Path,
        help=f"inventory file to write (default: {_display(HostSettings.inventory)}; for a fleet "
        f"{_display(fleet.DEFAULT_INVENTORY)})",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the host's image (skipped when it exists)")
    build.add_argument("--force", action="store_true", help="rebuild even when the image exists")
    start = commands.add_parser("up", help="create or start the host; write its known_hosts file and inventory")
    start.add_argument("--ssh-port", type=_port, default=HostSettings.ssh_port, help="SSH on 127.0.0.1 (0: any)")
    start.add_argument("--http-port", type=_port, default=HostSettings.http_port, help="HTTP on 127.0.0.1 (0: any)")
    start.add_argument("--https-port", type=_port, default=HostSettings.https_port, help="HTTPS on 127.0.0.1 (0: any)")
    commands.add_parser("down", help="remove the host, its Docker volume, known_hosts file and inventory")
    fleet_up = commands.add_parser(
        "fleet-up",
        help="create or start N GPU hosts and an edge host on a public and an internal network; write the inventory",
    )
    fleet_up.add_argument(
        "--gpu-hosts", type=_checked(fleet.check_gpu_hosts), required=True, help="how many GPU hosts (1 or more)"
    )
    fleet_up.add_argument("--http-port", type=_port, default=8080, help="the edge's HTTP on 127.0.0.1 (0: any)")
    fleet_up.add_argument("--https-port", type=_port, default=8443, help="the edge's HTTPS on 127.0.0.1 (0: any)")
    fleet_up.add_argument(
        "--private-subnet",
        type=_checked(fleet.check_subnet),
        default=fleet.DEFAULT_PRIVATE_SUBNET,
        help="the internal network's IPv4 subnet (default: %(default)s)",
    )
    fleet_down = commands.add_parser(
        "fleet-down",
        help="remove the fleet's hosts, their Docker volumes and known_hosts files, its networks and inventory",
    )
    for command in (fleet_up, fleet_down):
        command.add_argument(
            "--prefix",
            type=_checked(fleet.check_prefix),
            default=fleet.DEFAULT_PREFIX,
            help="names the hosts (<prefix>-gpu-1..N, <prefix>-edge) and networks (default: %(default)s)",
        )
        # Also accepted after the command; SUPPRESS keeps a value given before it.
        command.add_argument("--inventory", type=Path, default=argparse.SUPPRESS, help="inventory file to write")
    args = parser.parse_args(argv)

    try:
        if args.command == "build":
            print(f"rehearsal host image: {build_image(force=args.force)}")
        elif args.command == "up":
            settings = HostSettings(
                name=args.name,
                ssh_port=args.ssh_port,
                http_port=args.http_port,
                https_port=args.https_port,
                inventory=args.inventory or HostSettings.inventory,
            )
            build_image(settings.image)
            access = up(settings)
            print(f"rehearsal host {access.name} is up")
            print(f"  ssh:       {' '.join(access.ssh_command())}")
            print(f"  http(s):   http://127.0.0.1:{access.http_port}  https://127.0.0.1:{access.https_port}")
            print(f"  inventory: {_display(access.inventory)}")
            print(f"  provision: make provision-rehearsal (ansible-playbook -i {_display(access.inventory)} ...)")
        elif args.command == "down":
            removed = down(HostSettings(name=args.name, inventory=args.inventory or HostSettings.inventory))
            print("removed: " + (", ".join(removed) if removed else "nothing (no rehearsal host)"))
        elif args.command == "fleet-up":
            settings = fleet.FleetSettings(
                gpu_hosts=args.gpu_hosts,
                prefix=args.prefix,
                inventory=args.inventory or fleet.DEFAULT_INVENTORY,
                http_port=args.http_port,
                https_port=args.https_port,
                private_subnet=args.private_subnet,
            )
            _print_fleet(fleet.fleet_up(settings))
        elif args.command == "fleet-down":
            removed = fleet.fleet_down(args.prefix, args.inventory or fleet.DEFAULT_INVENTORY)
            print("removed: " + (", ".join(removed) if removed else f"nothing (no fleet {args.prefix})"))
    except RehearsalHostError as error:
        print(f"rehearsal host: error: {error}", file=sys.stderr)
        return 1
    return 0


def _print_fleet(up: fleet.Fleet) -> None:
    print(f"rehearsal fleet is up: {len(up.gpu_hosts)} GPU host(s) and an edge")
    for host in [*up.gpu_hosts, up.edge]:
        print(f"  {host.access.name}: ssh 127.0.0.1:{host.access.ssh_port}, private {host.private_address}")
    print(f"  http(s):   {up.public_url}  https://127.0.0.1:{up.edge.access.https_port} (the edge)")
    print(f"  ssh:       {' '.join(up.edge.access.ssh_command())}")
    print(f"  inventory: {_display(up.inventory)}")


if __name__ == "__main__":
    sys.exit(main())
