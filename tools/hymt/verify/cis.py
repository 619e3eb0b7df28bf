"""The CIS Docker Benchmark's items the stack can meet: its containers' runtime settings (section 5, and 4.1's
non-root user) from `docker inspect`, and the engine's settings (section 2) from /etc/docker/daemon.json.

The exceptions, each with its reason, are kept here and nowhere else (docs/security.md, "Containers and daemon",
repeats them and a test keeps the two equal). An item a container fails is reported as failed unless its service is
excepted from it; an exception that no longer applies is simply not used.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

# Capabilities a service may add back after `cap_drop: [ALL]`.
ALLOWED_CAPABILITIES: dict[str, frozenset[str]] = {
    # Caddy's binary carries the file capability to bind ports below 1024: without it in the bounding set the kernel
    # refuses to execute the binary.
    "proxy": frozenset({"NET_BIND_SERVICE"}),
}
# The only service with published ports (but a GPU host's web app behind an edge: container_findings' `published`).
PUBLISHING_SERVICES = frozenset({"proxy"})
ALL_SERVICES = "*"

# (item, service) -> why the stack does not meet it. ALL_SERVICES for every service; "daemon" for section 2.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("4.1", "vllm"): "the official vLLM GPU image runs as root and keeps its caches under /root (the CPU rehearsal "
    "image runs as its own user and passes)",
    ("4.1", "proxy"): "the Caddy image runs as root and its /data and /config volumes belong to root; it runs with "
    "no capability but NET_BIND_SERVICE, so root cannot read or write other users' files",
    ("5.7", "proxy"): "the proxy is the public web server: it publishes ports 80 and 443",
    ("5.11", ALL_SERVICES): "no CPU shares: the host runs this stack alone and vLLM should have every core",
    ("5.12", "vllm"): "vLLM writes compilation and kernel caches in its home directory; its root file system stays "
    "writable (the model is mounted read-only)",
    ("5.13", "proxy"): "a public service listens on every address (HYMT_HTTP_BIND narrows it); the firewall role "
    "lets in only SSH, HTTP and HTTPS",
    ("5.14", ALL_SERVICES): "restart: unless-stopped instead of on-failure:5, so that the stack comes back after a "
    "crash, an engine restart or a reboot without a deploy; a service that keeps dying is caught by hymt verify's "
    "restart counts",
    # The monitoring profile (compose.monitoring.yaml, docs/monitoring.md).
    ("5.5", "node-exporter"): "the node exporter reads the host's file systems through its root, mounted read-only, "
    "for the disk alerts",
    ("5.8", "prometheus"): "Prometheus publishes its port on 127.0.0.1 only, for an SSH tunnel",
    ("5.8", "grafana"): "Grafana publishes its port on 127.0.0.1 only, for an SSH tunnel",
    ("4.1", "dcgm-exporter"): "NVIDIA's DCGM exporter image runs as root to reach the GPUs' driver; it runs with no "
    "capability",
    ("5.12", "dcgm-exporter"): "the DCGM exporter's embedded host engine writes a log and state files; without a GPU "
    "here a read-only root could not be tried",
    ("5.26", "dcgm-exporter"): "no health check: which HTTP client the DCGM exporter's image carries could not be "
    "looked at without the image; Prometheus's ExporterDown alert watches it instead",
    ("2.7", "daemon"): "no daemon-wide default ulimits: the stack's PID limits bound each container instead",
    ("2.8", "daemon"): "no user namespace remapping: it changes the owners every bind mount (the model, the "
    "Caddyfile) and every image layer need, and the containers already run without capabilities",
    ("2.11", "daemon"): "no authorization plugin: only root and the docker group reach the engine's socket",
    ("2.12", "daemon"): "logs stay on the host (json-file, rotated); shipping them elsewhere is left to the operator",
}

DAEMON_JSON = "/etc/docker/daemon.json"
SENSITIVE_HOST_DIRS = ("/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr")
ENGINE_SOCKETS = ("docker.sock", "containerd.sock", "dockershim.sock", "cri-dockerd.sock")

# docker inspect's view of a container for these items: its host configuration, mounts and health check, but not its
# environment (where the API key is).
INSPECT_FORMAT = (
    '{"name":{{json .Name}},"service":{{json (index .Config.Labels "com.docker.compose.service")}},'
    '"user":{{json .Config.User}},"healthcheck":{{json .Config.Healthcheck}},"apparmor":{{json .AppArmorProfile}},'
    '"host":{{json .HostConfig}},"mounts":{{json .Mounts}}}'
)


@dataclass(frozen=True)
class Finding:
    item: str
    title: str
    subject: str  # a service's name, or "daemon"
    status: str  # pass, fail, excepted
    detail: str = ""


def exception_for(item: str, subject: str) -> str | None:
    return EXCEPTIONS.get((item, subject)) or (EXCEPTIONS.get((item, ALL_SERVICES)) if subject != "daemon" else None)


# -- section 5 (and 4.1): one container --------------------------------------------------------------------------------
Rule = Callable[[dict], str | None]  # the problem, or None


def _host(c: dict) -> dict:
    return c.get("host") or {}


def _security_opts(c: dict) -> list[str]:
    return [str(opt).replace("=", ":", 1) for opt in _host(c).get("SecurityOpt") or []]


def _bindings(c: dict) -> list[tuple[str, str, str]]:
    """(container port, host address, host port) of every published port."""
    return [
        (port, b.get("HostIp") or "", b.get("HostPort") or "")
        for port, bound in (_host(c).get("PortBindings") or {}).items()
        for b in bound or []
    ]


def _user(c: dict) -> str | None:
    user = (c.get("user") or "").split(":")[0]
    return None if user not in ("", "root", "0") else "runs as root"


def _capabilities(c: dict) -> str | None:
    dropped = {cap.upper().removeprefix("CAP_") for cap in _host(c).get("CapDrop") or []}
    added = {cap.upper().removeprefix("CAP_") for cap in _host(c).get("CapAdd") or []}
    problems = []
    if "ALL" not in dropped:
        problems.append("capabilities not dropped (cap_drop: [ALL])")
    extra = added - ALLOWED_CAPABILITIES.get(c.get("service", ""), frozenset())
    if extra:
        problems.append(f"adds {', '.join(sorted(extra))}")
    return "; ".join(problems) or None


def _sensitive_mounts(c: dict) -> str | None:
    bad = [
        m.get("Source", "")
        for m in c.get("mounts") or []
        if m.get("Type") == "bind"
        and (m.get("Source") == "/" or any((m.get("Source") or "").startswith(d) for d in SENSITIVE_HOST_DIRS))
    ]
    return f"mounts {', '.join(bad)} from the host" if bad else None


def _privileged_ports(c: dict) -> str | None:
    low = [f"{hp}->{port}" for port, _, hp in _bindings(c) if hp.isdigit() and int(hp) < 1024]
    return f"publishes {', '.join(low)}" if low else None


Binding = tuple[str, str, str]  # (container port, host address, host port), as _bindings gives them


def published_rule(allowed: Mapping[str, Collection[Binding]]) -> Rule:
    """5.8: only the proxy publishes ports, and a service of `allowed` exactly those bindings (a GPU host behind an
    edge publishes its web app on its private address for the edge hosts: hymt.verify.shape)."""

    def rule(c: dict) -> str | None:
        service = c.get("service") or ""
        if service in PUBLISHING_SERVICES:
            return None
        extra = [(port, ip, hp) for port, ip, hp in _bindings(c) if (port, ip, hp) not in allowed.get(service, ())]
        if not extra:
            return None
        also = allowed.get(service)
        expected = f" (only {', '.join(f'{ip}:{hp}->{port}' for port, ip, hp in sorted(also))} may be)" if also else ""
        return "publishes " + ", ".join(f"{ip or '*'}:{hp}->{port}" for port, ip, hp in extra) + expected

    return rule


_published = published_rule({})


def _mode(key: str, bad: str) -> Rule:
    def rule(c: dict) -> str | None:
        value = str(_host(c).get(key) or "")
        return f"{key} is {value}" if value == bad or value.startswith(bad + ":") else None

    return rule


def _memory(c: dict) -> str | None:
    return None if (_host(c).get("Memory") or 0) > 0 else "no memory limit (mem_limit)"


def _cpu_shares(c: dict) -> str | None:
    return None if (_host(c).get("CpuShares") or 0) > 0 else "no CPU shares set"


def _read_only(c: dict) -> str | None:
    return None if _host(c).get("ReadonlyRootfs") else "root file system writable (read_only: true)"


def _all_addresses(c: dict) -> str | None:
    wide = [f"{hp}->{port}" for port, ip, hp in _bindings(c) if ip in ("", "0.0.0.0", "::")]
    return f"publishes {', '.join(wide)} on every address" if wide else None


def _restart(c: dict) -> str | None:
    policy = _host(c).get("RestartPolicy") or {}
    name, count = policy.get("Name") or "no", policy.get("MaximumRetryCount") or 0
    return None if name == "on-failure" and 0 < count <= 5 else f"restart policy {name}"


def _devices(c: dict) -> str | None:
    devices = [d.get("PathOnHost", "") for d in _host(c).get("Devices") or []]
    return f"host devices {', '.join(devices)}" if devices else None


def _propagation(c: dict) -> str | None:
    shared = [m.get("Destination", "") for m in c.get("mounts") or [] if m.get("Propagation") in ("shared", "rshared")]
    return f"shared mount propagation on {', '.join(shared)}" if shared else None


def _seccomp(c: dict) -> str | None:
    return "seccomp unconfined" if "seccomp:unconfined" in _security_opts(c) else None


def _apparmor(c: dict) -> str | None:
    return "AppArmor unconfined" if c.get("apparmor") == "unconfined" else None


def _cgroup_parent(c: dict) -> str | None:
    parent = _host(c).get("CgroupParent") or ""
    return f"cgroup parent {parent}" if parent else None


def _no_new_privileges(c: dict) -> str | None:
    opts = _security_opts(c)
    return None if "no-new-privileges:true" in opts or "no-new-privileges" in opts else "may gain privileges"


def _healthcheck(c: dict) -> str | None:
    test = (c.get("healthcheck") or {}).get("Test") or []
    return None if test and test[0] != "NONE" else "no health check"


def _pids(c: dict) -> str | None:
    return None if (_host(c).get("PidsLimit") or 0) > 0 else "no PID limit (pids_limit)"


def _default_bridge(c: dict) -> str | None:
    mode = _host(c).get("NetworkMode") or "default"
    return f"on Docker's default bridge ({mode})" if mode in ("default", "bridge") else None


def _engine_socket(c: dict) -> str | None:
    found = [
        m.get("Source", "")
        for m in c.get("mounts") or []
        if any(str(m.get(key) or "").endswith(sock) for key in ("Source", "Destination") for sock in ENGINE_SOCKETS)
    ]
    return f"mounts the engine's socket {', '.join(found)}" if found else None


CONTAINER_ITEMS: tuple[tuple[str, str, Rule], ...] = (
    ("4.1", "a user other than root", _user),
    ("5.1", "AppArmor profile not unconfined", _apparmor),
    ("5.3", "capabilities dropped, only the allowed ones added", _capabilities),
    ("5.4", "not privileged", lambda c: "privileged" if _host(c).get("Privileged") else None),
    ("5.5", "no sensitive host directory mounted", _sensitive_mounts),
    ("5.7", "no privileged port published", _privileged_ports),
    ("5.8", "ports published by the proxy only", _published),
    ("5.9", "host network namespace not shared", _mode("NetworkMode", "host")),
    ("5.10", "memory limited", _memory),
    ("5.11", "CPU shares set", _cpu_shares),
    ("5.12", "root file system read-only", _read_only),
    ("5.13", "published ports bound to one address", _all_addresses),
    ("5.14", "restart policy on-failure, at most 5", _restart),
    ("5.15", "host PID namespace not shared", _mode("PidMode", "host")),
    ("5.16", "host IPC namespace not shared", _mode("IpcMode", "host")),
    ("5.17", "no host device exposed directly", _devices),
    ("5.19", "mount propagation not shared", _propagation),
    ("5.20", "host UTS namespace not shared", _mode("UTSMode", "host")),
    ("5.21", "seccomp profile not disabled", _seccomp),
    ("5.24", "cgroup parent not changed", _cgroup_parent),
    ("5.25", "no-new-privileges", _no_new_privileges),
    ("5.26", "health check", _healthcheck),
    ("5.28", "PIDs limited", _pids),
    ("5.29", "not on Docker's default bridge", _default_bridge),
    ("5.30", "host user namespace not shared", _mode("UsernsMode", "host")),
    ("5.31", "Docker socket not mounted", _engine_socket),
)


def parse_inspect(output: str) -> list[dict]:
    """The containers of `docker inspect --format INSPECT_FORMAT` (one JSON object a line)."""
    return [json.loads(line) for line in output.splitlines() if line.strip().startswith("{")]


def judge(item: str, title: str, subject: str, problem: str | None) -> Finding:
    if problem is None:
        return Finding(item, title, subject, "pass")
    reason = exception_for(item, subject)
    if reason:
        return Finding(item, title, subject, "excepted", f"{problem}: {reason}")
    return Finding(item, title, subject, "fail", problem)


def container_findings(
    containers: Iterable[dict], published: Mapping[str, Collection[Binding]] | None = None
) -> list[Finding]:
    """Every container against every item; `published`: the ports a service other than the proxy may publish."""
    items = CONTAINER_ITEMS
    if published:
        rule_58 = published_rule(published)
        items = tuple((item, title, rule_58 if item == "5.8" else rule) for item, title, rule in items)
    return [
        judge(item, title, container.get("service") or str(container.get("name", "")).lstrip("/"), rule(container))
        for container in containers
        for item, title, rule in items
    ]


# -- section 2: the engine ---------------------------------------------------------------------------------------------
def _tcp_without_tls(d: dict) -> str | None:
    tcp = [h for h in d.get("hosts") or [] if str(h).startswith("tcp://")]
    return f"listens on {', '.join(tcp)} without TLS verification" if tcp and not d.get("tlsverify") else None


DAEMON_ITEMS: tuple[tuple[str, str, Callable[[dict], str | None]], ...] = (
    ("2.1", "no traffic between containers on the default bridge (icc: false)",
     lambda d: None if d.get("icc") is False else "icc not false"),
    ("2.2", "log level info",
     lambda d: None if d.get("log-level", "info") == "info" else f"log-level {d['log-level']}"),
    ("2.3", "Docker manages iptables", lambda d: "iptables: false" if d.get("iptables") is False else None),
    ("2.4", "no insecure registries",
     lambda d: f"insecure registries {d['insecure-registries']}" if d.get("insecure-registries") else None),
    ("2.5", "no aufs", lambda d: "storage driver aufs" if d.get("storage-driver") == "aufs" else None),
    ("2.6", "TLS on a TCP socket", _tcp_without_tls),
    ("2.7", "default ulimits set", lambda d: None if d.get("default-ulimits") else "no default-ulimits"),
    ("2.8", "user namespace remapping", lambda d: None if d.get("userns-remap") else "no userns-remap"),
    ("2.9", "default cgroup parent",
     lambda d: f"cgroup-parent {d['cgroup-parent']}" if d.get("cgroup-parent") else None),
    ("2.11", "authorization plugin", lambda d: None if d.get("authorization-plugins") else "no authorization plugin"),
    ("2.12", "remote logging", lambda d: None if d.get("log-driver") in ("syslog", "journald", "fluentd", "gelf")
     else f"log driver {d.get('log-driver', 'json-file')}"),
    ("2.13", "live restore", lambda d: None if d.get("live-restore") is True else "live-restore not true"),
    ("2.14", "userland proxy off", lambda d: None if d.get("userland-proxy") is False else "userland-proxy not false"),
    ("2.15", "seccomp profile not disabled",
     lambda d: "seccomp-profile unconfined" if d.get("seccomp-profile") == "unconfined" else None),
    ("2.16", "experimental features off", lambda d: "experimental: true" if d.get("experimental") else None),
    ("2.17", "no-new-privileges",
     lambda d: None if d.get("no-new-privileges") is True else "no-new-privileges not true"),
)  # fmt: skip


def daemon_findings(config: dict) -> list[Finding]:
    return [judge(item, title, "daemon", rule(config)) for item, title, rule in DAEMON_ITEMS]


# -- summaries ---------------------------------------------------------------------------------------------------------
def summary(findings: list[Finding]) -> tuple[list[str], str]:
    """(the failures, one line each; a line counting passes and exceptions)."""
    failures = [f"CIS {f.item} {f.subject}: {f.detail}" for f in findings if f.status == "fail"]
    excepted = sorted({f"{f.item} {f.subject}" for f in findings if f.status == "excepted"})
    passed = sum(f.status == "pass" for f in findings)
    return failures, f"{passed} passed; excepted: {', '.join(excepted) or 'none'}"
