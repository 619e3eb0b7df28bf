"""A rehearsal fleet for real: two GPU hosts and an edge on a public and an internal network, reached over SSH with
host key checking on; what fleet-up refuses; fleet-down leaving nothing behind.

The fleet has a name and an internal subnet of its own (10.219.<random>.0/24), so that it runs beside the fleet of
`make rehearse GPU_HOSTS=N` (10.213.0.0/24) and beside another test run.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
import subprocess

import pytest
import yaml

from tests.conftest import require
from tests.support.playbook import ROOT, ansible_env

pytestmark = [pytest.mark.docker, pytest.mark.rehearsal_host]


def docker_json(*arguments: str) -> list[dict]:
    return json.loads(subprocess.run(["docker", *arguments], capture_output=True, text=True, check=True).stdout)


def fleet_settings(directory, prefix: str, subnet: str, gpu_hosts: int = 2):
    from hymt_dev.rehearsal_host import fleet

    return fleet.FleetSettings(
        gpu_hosts=gpu_hosts,
        prefix=prefix,
        inventory=directory / "inventory.yml",
        http_port=None,
        https_port=None,
        private_subnet=ipaddress.ip_network(subnet),
    )


def leftovers(prefix: str) -> list[str]:
    """Containers, volumes and networks whose names start with the fleet's prefix."""
    listings = {
        "container": ["container", "ls", "--all", "--format", "{{.Names}}"],
        "volume": ["volume", "ls", "--format", "{{.Name}}"],
        "network": ["network", "ls", "--format", "{{.Name}}"],
    }
    found = []
    for kind, listing in listings.items():
        names = subprocess.run(["docker", *listing], capture_output=True, text=True, check=True).stdout.split()
        found += [f"{kind} {name}" for name in names if name.startswith(f"{prefix}-")]
    return found


@pytest.fixture(scope="module")
def fleet_up(docker_engine, tmp_path_factory):
    """The fleet's settings and what fleet_up returned; removed at the end whatever the tests did."""
    from hymt_dev.rehearsal_host import RehearsalHostError, build_image
    from hymt_dev.rehearsal_host.fleet import fleet_down
    from hymt_dev.rehearsal_host.fleet import fleet_up as up

    prefix = f"hymt-test-fleet-{secrets.token_hex(3)}"
    subnet = f"10.219.{secrets.randbelow(256)}.0/24"
    settings = fleet_settings(tmp_path_factory.mktemp("fleet"), prefix, subnet)
    try:
        build_image(settings.image)
    except RehearsalHostError as error:
        require(False, str(error))
    try:
        yield settings, up(settings)
    finally:
        fleet_down(settings.prefix, settings.inventory)


@pytest.fixture(scope="module")
def settings(fleet_up):
    return fleet_up[0]


@pytest.fixture(scope="module")
def fleet(fleet_up):
    return fleet_up[1]


def on(host, *command: str) -> str:
    """Run a command on a fleet host over SSH (its known_hosts file, the login key); return its output."""
    result = subprocess.run(host.access.ssh_command(*command), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_each_host_has_its_private_address_on_a_second_interface(fleet, settings):
    hosts = [*fleet.gpu_hosts, fleet.edge]
    assert [host.access.name for host in hosts] == [
        f"{settings.prefix}-gpu-1",
        f"{settings.prefix}-gpu-2",
        f"{settings.prefix}-edge",
    ]
    inventory = yaml.safe_load(settings.inventory.read_text())["all"]["children"]["rehearsal"]["hosts"]
    for host in hosts:
        assert inventory[host.access.name]["hymt_private_address"] == host.private_address
        assert ipaddress.ip_address(host.private_address) in settings.private_subnet
        addresses = on(host, "ip", "-4", "-o", "addr", "show")
        assert f"inet {host.private_address}/{settings.private_subnet.prefixlen} " in addresses
    assert len({host.private_address for host in hosts}) == 3


def test_the_edge_reaches_each_gpu_host_on_the_private_network(fleet):
    for gpu in fleet.gpu_hosts:
        probe = (
            f"import socket; socket.create_connection(({gpu.private_address!r}, 22), timeout=10); print('connected')"
        )
        assert on(fleet.edge, "python3", "-c", f'"{probe}"').strip() == "connected"


def test_the_default_route_is_on_the_public_network(fleet, settings):
    public = docker_json("network", "inspect", settings.public_network)[0]
    public_subnets = [ipaddress.ip_network(config["Subnet"]) for config in public["IPAM"]["Config"]]
    private = docker_json("network", "inspect", settings.private_network)[0]
    assert private["Internal"] is True and public["Internal"] is False
    for host in [*fleet.gpu_hosts, fleet.edge]:
        default = on(host, "ip", "-4", "-o", "route", "show", "default").split()
        assert default[:2] == ["default", "via"], default
        device = default[default.index("dev") + 1]
        address = on(host, "ip", "-4", "-o", "addr", "show", "dev", device).split()[3].split("/")[0]
        assert any(ipaddress.ip_address(address) in subnet for subnet in public_subnets), (host.access.name, address)
        # Nothing leaves through the private interface: it has its subnet's route and no other.
        private_device = on(host, "ip", "-4", "-o", "addr", "show", "to", host.private_address).split()[1]
        routes = [line.split() for line in on(host, "ip", "-4", "route", "show", "dev", private_device).splitlines()]
        assert routes == [
            [str(settings.private_subnet), "proto", "kernel", "scope", "link", "src", host.private_address]
        ], routes


def test_only_the_edge_publishes_the_service_and_all_on_loopback(fleet, settings):
    for host in [*fleet.gpu_hosts, fleet.edge]:
        bindings = docker_json("inspect", host.access.name)[0]["HostConfig"]["PortBindings"]
        expected = {"22/tcp", "80/tcp", "443/tcp"} if host is fleet.edge else {"22/tcp"}
        assert set(bindings) == expected, host.access.name
        assert {binding["HostIp"] for port in bindings.values() for binding in port} == {"127.0.0.1"}
    assert fleet.public_url == f"http://127.0.0.1:{fleet.edge.access.http_port}"
    inventory = yaml.safe_load(settings.inventory.read_text())["all"]
    hosts = inventory["children"]["rehearsal"]["hosts"]
    assert {host_vars["hymt_public_url"] for host_vars in hosts.values()} == {fleet.public_url}


def test_ansible_reaches_every_host_through_the_inventory(fleet, settings):
    result = subprocess.run(
        [str(ROOT / ".venv/bin/ansible"), "-i", str(settings.inventory), "rehearsal", "-m", "ping"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ansible_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for host in [*fleet.gpu_hosts, fleet.edge]:
        assert f"{host.access.name} | SUCCESS" in result.stdout


def test_fleet_up_again_keeps_the_hosts(fleet, settings):
    from hymt_dev.rehearsal_host.fleet import fleet_up

    names = [host.access.name for host in [*fleet.gpu_hosts, fleet.edge]]
    before = {name: docker_json("inspect", name)[0]["Id"] for name in names}
    again = fleet_up(settings)
    assert {name: docker_json("inspect", name)[0]["Id"] for name in names} == before
    assert again.edge.access.ssh_port == fleet.edge.access.ssh_port
    assert [host.private_address for host in again.gpu_hosts] == [host.private_address for host in fleet.gpu_hosts]


def test_fewer_gpu_hosts_than_the_fleet_has_are_refused(fleet, settings, capsys):
    from hymt_dev.rehearsal_host.__main__ import main

    code = main(
        [
            "fleet-up",
            "--gpu-hosts",
            "1",
            "--prefix",
            settings.prefix,
            "--inventory",
            str(settings.inventory),
            "--private-subnet",
            str(settings.private_subnet),
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"has hosts beyond 1 GPU hosts ({settings.prefix}-gpu-2); give --gpu-hosts 2" in err
    assert "Traceback" not in err
    assert docker_json("inspect", f"{settings.prefix}-gpu-2")[0]["State"]["Running"] is True


def refused_fleet_up(directory, prefix: str, *arguments: str, capsys) -> str:
    from hymt_dev.rehearsal_host.__main__ import main

    code = main(
        ["fleet-up", "--gpu-hosts", "1", "--prefix", prefix, "--inventory", str(directory / "i.yml"), *arguments]
    )
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err, err
    assert not leftovers(prefix), f"a refused fleet-up left {leftovers(prefix)}"
    assert not (directory / "i.yml").exists()
    return err


def test_a_taken_http_port_is_refused_before_anything_is_created(fleet, tmp_path, capsys):
    prefix = f"hymt-test-taken-{secrets.token_hex(3)}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = refused_fleet_up(tmp_path, prefix, "--http-port", str(port), "--https-port", "0", capsys=capsys)
    assert f"the edge's HTTP port 127.0.0.1:{port} is taken. Choose a free one: --http-port" in err


def test_a_subnet_another_network_uses_is_refused_and_nothing_is_left(fleet, settings, tmp_path, capsys):
    prefix = f"hymt-test-clash-{secrets.token_hex(3)}"
    err = refused_fleet_up(
        tmp_path,
        prefix,
        "--http-port",
        "0",
        "--https-port",
        "0",
        "--private-subnet",
        str(settings.private_subnet),
        capsys=capsys,
    )
    assert f"Docker refused the private network {settings.private_subnet}" in err
    assert "Choose a subnet no other Docker network uses with --private-subnet" in err


def test_fleet_down_removes_hosts_volumes_networks_and_files(fleet, settings):
    from hymt_dev.rehearsal_host.fleet import fleet_down

    known_hosts = [host.access.known_hosts for host in [*fleet.gpu_hosts, fleet.edge]]
    assert all(path.exists() for path in known_hosts) and settings.inventory.exists()
    assert len(leftovers(settings.prefix)) == 3 + 3 + 2
    removed = fleet_down(settings.prefix, settings.inventory)
    assert f"network {settings.private_network}" in removed and f"container {settings.prefix}-edge" in removed
    assert not leftovers(settings.prefix), f"fleet-down left {leftovers(settings.prefix)}"
    assert not any(path.exists() for path in known_hosts)
    assert not settings.inventory.exists() and not (settings.inventory.parent / "group_vars").is_symlink()
    # The login key stays, as for the single host: the control machine's, not the fleet's.
    assert (settings.state_dir / "id_ed25519").exists()
    assert fleet_down(settings.prefix, settings.inventory) == []
