"""The docker role's daemon.json: merged from its parts, and its structure checked.

Engines from 23 on validate a configuration themselves (dockerd --validate). Older ones, such as Debian 12's
docker.io 20.10, only fail when they start: a misspelt key or a number where a string belongs stops the engine on the
next restart. The structural check catches those mistakes before the file is written, on every engine.
Unit-tested in tests/ansible/test_docker_filters.py; the role reaches it through tools/ansible/filter_plugins/docker.py.
"""

from __future__ import annotations

import copy

# Top-level keys dockerd 20.10 accepts in daemon.json on Linux (its configuration structs' json tags). Newer engines
# accept more, and validate those themselves.
KNOWN_KEYS = frozenset(
    """
    allow-nondistributable-artifacts api-cors-header authorization-plugins bip bridge builder cgroup-parent
    cluster-advertise cluster-store cluster-store-opts containerd containerd-namespace containerd-plugins-namespace
    cpu-rt-period cpu-rt-runtime data-root debug default-address-pools default-cgroupns-mode default-gateway
    default-gateway-v6 default-ipc-mode default-runtime default-shm-size default-ulimits dns dns-opts dns-search
    exec-opts exec-root experimental features fixed-cidr fixed-cidr-v6 group host-gateway-ip hosts icc init init-path
    insecure-registries ip ip-forward ip-masq ip6tables iptables ipv6 labels live-restore log-driver log-level
    log-opts max-concurrent-downloads max-concurrent-uploads max-download-attempts metrics-addr mtu
    network-control-plane-mtu no-new-privileges node-generic-resources oom-score-adjust pidfile raw-logs
    registry-mirrors rootless runtimes seccomp-profile selinux-enabled shutdown-timeout storage-driver storage-opts
    swarm-default-advertise-addr tls tlscacert tlscert tlskey tlsverify userland-proxy userland-proxy-path
    userns-remap
    """.split()
)
BOOLEAN_KEYS = frozenset(
    "debug experimental icc init ip-forward ip-masq ip6tables iptables ipv6 live-restore no-new-privileges raw-logs "
    "rootless selinux-enabled tls tlsverify userland-proxy".split()
)
INTEGER_KEYS = frozenset(
    "max-concurrent-downloads max-concurrent-uploads max-download-attempts mtu oom-score-adjust "
    "shutdown-timeout".split()
)
STRING_LIST_KEYS = frozenset(
    "allow-nondistributable-artifacts authorization-plugins dns dns-opts dns-search exec-opts insecure-registries "
    "labels registry-mirrors storage-opts".split()
)
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")


def _merge(base: dict, extra: dict) -> dict:
    """`base` updated by `extra`, dictionaries merged key by key (lists and scalars replaced)."""
    merged = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def daemon_config(
    options: dict,
    registry_mirrors: list | None = None,
    data_root: str = "",
    runtimes: dict | None = None,
    runtimes_from_roles: dict | None = None,
    extra_options: dict | None = None,
    options_from_roles: dict | None = None,
) -> dict:
    """daemon.json's content: the base dictionary, then each documented part, then the options other roles
    contribute, then the extra options."""
    config = _merge({}, options or {})
    if registry_mirrors:
        config["registry-mirrors"] = list(registry_mirrors)
    if data_root:
        config["data-root"] = data_root
    all_runtimes = _merge(runtimes or {}, runtimes_from_roles or {})
    if all_runtimes:
        config["runtimes"] = _merge(config.get("runtimes", {}), all_runtimes)
    config = _merge(config, options_from_roles or {})
    return _merge(config, extra_options or {})


def _is_string_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def daemon_config_problems(config) -> list[str]:
    """What would stop dockerd (20.10 and later) from starting with this daemon.json; empty when nothing."""
    if not isinstance(config, dict):
        return [f"daemon.json must be a JSON object, not {type(config).__name__}"]
    problems = []
    for key in sorted(set(config) - KNOWN_KEYS):
        problems.append(f'"{key}" is not a daemon.json option Docker 20.10 knows (a typo?)')
    if "hosts" in config:
        problems.append(
            '"hosts" conflicts with the -H flag the distributions\' docker.service passes; configure listening '
            "addresses with a systemd drop-in instead"
        )
    for key in sorted(BOOLEAN_KEYS & set(config)):
        if not isinstance(config[key], bool):
            problems.append(f'"{key}" must be true or false, not {config[key]!r}')
    for key in sorted(INTEGER_KEYS & set(config)):
        if isinstance(config[key], bool) or not isinstance(config[key], int):
            problems.append(f'"{key}" must be a whole number, not {config[key]!r}')
    for key in sorted(STRING_LIST_KEYS & set(config)):
        if not _is_string_list(config[key]):
            problems.append(f'"{key}" must be a list of strings, not {config[key]!r}')
    for mirror in config.get("registry-mirrors", []) if _is_string_list(config.get("registry-mirrors")) else []:
        if not mirror.startswith(("http://", "https://")):
            problems.append(f'registry mirror "{mirror}" must be a URL starting with https:// (or http://)')
    if "log-opts" in config:
        log_opts = config["log-opts"]
        if not isinstance(log_opts, dict):
            problems.append(f'"log-opts" must be an object, not {log_opts!r}')
        else:
            for name, value in sorted(log_opts.items()):
                if not isinstance(value, str):
                    problems.append(f'log option "{name}" must be a string (quote it: "{value}"), not {value!r}')
    for key in ("log-driver", "default-runtime", "storage-driver"):
        if key in config and not (isinstance(config[key], str) and config[key]):
            problems.append(f'"{key}" must be a non-empty string, not {config[key]!r}')
    if "log-level" in config and config["log-level"] not in LOG_LEVELS:
        problems.append(f'"log-level" must be one of {", ".join(LOG_LEVELS)}, not {config["log-level"]!r}')
    if "data-root" in config and not (isinstance(config["data-root"], str) and config["data-root"].startswith("/")):
        problems.append(f'"data-root" must be an absolute path, not {config["data-root"]!r}')
    runtimes = config.get("runtimes", {})
    if not isinstance(runtimes, dict):
        problems.append(f'"runtimes" must be an object of name -> {{"path": ...}}, not {runtimes!r}')
        runtimes = {}
    for name, runtime in sorted(runtimes.items()):
        if not isinstance(runtime, dict) or not isinstance(runtime.get("path"), str) or not runtime.get("path"):
            problems.append(f'runtime "{name}" needs a "path" (the runtime\'s executable), not {runtime!r}')
        elif "runtimeArgs" in runtime and not _is_string_list(runtime["runtimeArgs"]):
            problems.append(f'runtime "{name}": "runtimeArgs" must be a list of strings')
    default_runtime = config.get("default-runtime")
    if isinstance(default_runtime, str) and default_runtime not in {"", "runc", *runtimes}:
        problems.append(f'"default-runtime" is "{default_runtime}", which is neither runc nor one of "runtimes"')
    features = config.get("features", {})
    if not isinstance(features, dict) or not all(isinstance(value, bool) for value in features.values()):
        problems.append(f'"features" must be an object of name -> true/false, not {features!r}')
    return problems
