"""python -m hymt_dev.rehearsal_host build|up|down: the VM-like rehearsal host on this machine's Docker engine."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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


def _display(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hymt_dev.rehearsal_host",
        description="A Debian 12 container that behaves like a fresh cloud VM (systemd, sshd, python3), for "
        "rehearsing the provisioning over SSH. Its ports are published on 127.0.0.1 only.",
    )
    parser.add_argument("--name", default=HostSettings.name, help="container name and inventory host name")
    parser.add_argument("--inventory", type=Path, default=HostSettings.inventory, help="inventory file to write")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the host's image (skipped when it exists)")
    build.add_argument("--force", action="store_true", help="rebuild even when the image exists")
    start = commands.add_parser("up", help="create or start the host; write its known_hosts file and inventory")
    start.add_argument("--ssh-port", type=_port, default=HostSettings.ssh_port, help="SSH on 127.0.0.1 (0: any)")
    start.add_argument("--http-port", type=_port, default=HostSettings.http_port, help="HTTP on 127.0.0.1 (0: any)")
    start.add_argument("--https-port", type=_port, default=HostSettings.https_port, help="HTTPS on 127.0.0.1 (0: any)")
    commands.add_parser("down", help="remove the host, its Docker volume, known_hosts file and inventory")
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
                inventory=args.inventory,
            )
            build_image(settings.image)
            access = up(settings)
            print(f"rehearsal host {access.name} is up")
            print(f"  ssh:       {' '.join(access.ssh_command())}")
            print(f"  http(s):   http://127.0.0.1:{access.http_port}  https://127.0.0.1:{access.https_port}")
            print(f"  inventory: {_display(access.inventory)}")
            print(f"  provision: make provision-rehearsal (ansible-playbook -i {_display(access.inventory)} ...)")
        elif args.command == "down":
            removed = down(HostSettings(name=args.name, inventory=args.inventory))
            print("removed: " + (", ".join(removed) if removed else "nothing (no rehearsal host)"))
    except RehearsalHostError as error:
        print(f"rehearsal host: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
