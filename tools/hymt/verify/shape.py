"""Which part of the deployment a host plays, judged from its inventory groups (docs/scale-out.md):

- a host in both gpu_hosts and edge is the single server: vLLM, the web app and the proxy in one stack;
- a host in gpu_hosts only is a GPU host behind edge hosts of its own: vLLM and the web app, the web app published on
  the host's private address (hymt_private_address:hymt_web_private_port) for the edge hosts, no proxy;
- a host in edge only is an edge host: the proxy (Caddy) alone, in /opt/hymt/edge, balancing across the GPU hosts'
  web apps.

A host given with --host is taken for the single server.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from hymt.verify.pins import literal


class Shape(StrEnum):
    SINGLE = "single server"
    BEHIND_EDGE = "GPU host behind an edge"
    EDGE = "edge host"


def shape_of(groups: Collection[str]) -> Shape:
    if "gpu_hosts" in groups and "edge" not in groups:
        return Shape.BEHIND_EDGE
    if "edge" in groups and "gpu_hosts" not in groups:
        return Shape.EDGE
    return Shape.SINGLE


# Where the edge role installs the edge (roles/edge/defaults: edge_dir, edge_project) and the files it writes there.
EDGE_DIR = "/opt/hymt/edge"
EDGE_FILES = ("compose.edge.yaml", "Caddyfile", ".env", "balance/upstreams.caddy")
# The stack role's files of a release (the single server and the GPU hosts).
STACK_FILES = ("compose.yaml", ".env")
PROXY = "proxy"
# The port the GPU hosts' web apps publish on their private addresses (group_vars: hymt_web_private_port).
DEFAULT_WEB_PRIVATE_PORT = 8000
# The web container's own port (compose.backend.yaml publishes <address>:<port>:8000).
WEB_CONTAINER_PORT = "8000/tcp"


def services_of(shape: Shape, services: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the services that must run, those that must not) on a host of `shape`, from the stack's `services`."""
    if shape is Shape.BEHIND_EDGE:
        return tuple(s for s in services if s != PROXY), (PROXY,)
    if shape is Shape.EDGE:
        return (PROXY,), tuple(s for s in services if s != PROXY)
    return services, ()


@dataclass(frozen=True)
class WebApp:
    """A GPU host's web app where the edge hosts reach it: its private address and port ("" when not set)."""

    host: str  # the inventory name
    address: str
    port: int

    @property
    def hostport(self) -> str:
        """As Caddy writes an upstream: 10.0.0.11:8000, [fd00::11]:8000."""
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"


def web_app_of(name: str, variables: Mapping[str, object]) -> WebApp:
    """Where the edge reaches host `name`'s web app, from its inventory variables (as the edge role's upstreams)."""
    port = literal(variables.get("hymt_web_private_port")) or ""
    return WebApp(
        host=name,
        address=literal(variables.get("hymt_private_address")) or "",
        port=int(port) if port.isdigit() else DEFAULT_WEB_PRIVATE_PORT,
    )
