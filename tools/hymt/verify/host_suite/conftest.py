"""Settings of the host suite: what `hymt verify` passes in the environment, then the inventory's variables
(Testinfra's ansible backend) for what it left out, and the host's part in the deployment (hymt.verify.shape) from its
groups. A test marked `shapes(...)` runs only on hosts of those shapes (a host given by address: the single server)."""

from __future__ import annotations

import os

import pytest

from hymt.verify.shape import EDGE_DIR, EDGE_FILES, STACK_FILES, Shape, services_of, shape_of, web_app_of

NO_GPU = "no GPU: "  # the prefix hymt verify reads as the rehearsal profile's expected skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "shapes(*shapes): run only on hosts of these parts of the deployment")


def variables_of(host) -> dict:
    return host.ansible.get_variables() if host.backend.NAME == "ansible" else {}


def host_shape(host) -> Shape:
    variables = variables_of(host)
    return shape_of(variables["group_names"]) if "group_names" in variables else Shape.SINGLE


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out, per host, the tests of other shapes' hosts: they are not this host's checks."""
    kept, left_out = [], []
    for item in items:
        marker = item.get_closest_marker("shapes")
        host = getattr(item, "callspec", None) and item.callspec.params.get("_testinfra_host")
        if marker is None or host is None or host_shape(host) in marker.args:
            kept.append(item)
        else:
            left_out.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def _rule(line: str) -> dict[str, str]:
    """An `iptables -S` rule's options and their values (addresses without their /32 or /128)."""
    words = line.split()
    pairs = {word: words[i + 1] for i, word in enumerate(words[:-1]) if word.startswith("-")}
    return {key: value.removesuffix("/32").removesuffix("/128") for key, value in pairs.items()}


def let_in_before_drop(rules: str, address: str, port: int) -> set[str] | None:
    """Who `iptables -S DOCKER-USER`'s `rules` let reach address:port before a rule drops everyone else there
    ("anyone" for a RETURN without a source); None when no rule drops the rest."""
    mine = [
        r
        for r in map(_rule, rules.splitlines())
        if (r.get("--ctorigdst"), r.get("--ctorigdstport")) == (address, str(port))
    ]
    drop = next((i for i, r in enumerate(mine) if r.get("-j") == "DROP" and "-s" not in r), None)
    return None if drop is None else {r.get("-s", "anyone") for r in mine[:drop] if r.get("-j") == "RETURN"}


def pinned_packages(listing: str) -> tuple[list[str], list[str]]:
    """From `dpkg-query --show --showformat '${Package} ${Status}\\n'` of the pinned packages (one command for all of
    them), those installed and, of these, those not held: dpkg's selection "hold" (what `apt-mark hold` sets) keeps
    apt upgrade from moving a package; "install" does not."""
    installed, loose = [], []
    for line in listing.splitlines():
        name, *status = line.split()
        if status[1:3] == ["ok", "installed"] and status[:1] in (["install"], ["hold"]):
            installed.append(name)
            if status[0] != "hold":
                loose.append(name)
    return installed, loose


def stat_listing(listing: str) -> dict[str, tuple[str, str, int]]:
    """Path -> (file type, owner, permission bits) from `stat --format '%n|%F|%U|%a'` (paths missing: left out)."""
    found = {}
    for line in listing.splitlines():
        path, kind, user, mode = line.rsplit("|", 3)
        found[path] = (kind, user, int(mode, 8))
    return found


@pytest.fixture
def settings(host) -> dict:
    return settings_of(host)


def settings_of(host) -> dict:
    """What the tests expect on `host`, by its shape."""
    shape = host_shape(host)
    services, absent = services_of(shape, tuple(os.environ.get("HYMT_VERIFY_SERVICES", "vllm,web,proxy").split(",")))
    values = {
        "profile": os.environ.get("HYMT_VERIFY_PROFILE", "gpu"),
        "shape": shape,
        "stack_dir": os.environ.get("HYMT_VERIFY_STACK_DIR", "/opt/hymt/stack/current"),
        "stack_files": STACK_FILES,
        "project": os.environ.get("HYMT_VERIFY_COMPOSE_PROJECT", "hymt"),
        "services": list(services),
        "absent_services": list(absent),
        "model_dir": os.environ.get("HYMT_VERIFY_MODEL_DIR", ""),
        "ssh_port": int(os.environ.get("HYMT_VERIFY_SSH_PORT", "22")),
        "web_ports": [80, 443],
    }
    variables = variables_of(host)
    if variables:
        values["model_dir"] = values["model_dir"] or str(variables.get("hymt_model_dir") or "")
        values["ssh_port"] = int(variables.get("firewall_ssh_port") or values["ssh_port"])
    if shape is Shape.EDGE:
        values["stack_dir"] = str(variables.get("edge_dir") or os.environ.get("HYMT_VERIFY_EDGE_DIR", EDGE_DIR))
        values["stack_files"] = EDGE_FILES
        values["project"] = str(variables.get("edge_project") or values["project"])
    if shape is Shape.BEHIND_EDGE:
        values["web_app"] = web_app_of(str(variables.get("inventory_hostname") or ""), variables)
        values["edge_addresses"] = [a for a in os.environ.get("HYMT_VERIFY_EDGE_ADDRESSES", "").split(",") if a]
    return values
