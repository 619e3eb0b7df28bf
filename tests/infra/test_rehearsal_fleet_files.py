"""What `fleet-up` hands out and refuses, without Docker: the fleet's inventory, its private addresses, its
arguments, and the Makefile's GPU_HOSTS switch."""

from __future__ import annotations

import ipaddress
import subprocess

import pytest
import yaml

from hymt_dev.rehearsal_host import fleet
from hymt_dev.rehearsal_host import host as rehearsal_host
from hymt_dev.rehearsal_host.__main__ import main
from tests.support.repo import ROOT


def settings(tmp_path, gpu_hosts: int = 2, subnet: str = "10.213.0.0/24") -> fleet.FleetSettings:
    return fleet.FleetSettings(
        gpu_hosts=gpu_hosts,
        prefix="hymt-fleet",
        inventory=tmp_path / "inventory.yml",
        private_subnet=ipaddress.ip_network(subnet),
    )


def a_fleet(tmp_path) -> fleet.Fleet:
    """What fleet_up returns for two GPU hosts, with the ports Docker would have picked."""
    hosts = []
    for (name, address), ssh_port in zip(
        settings(tmp_path).private_addresses().items(), (40001, 40002, 40003), strict=True
    ):
        edge = name.endswith("-edge")
        access = rehearsal_host.HostAccess(
            name=name,
            ssh_port=ssh_port,
            http_port=8080 if edge else None,
            https_port=8443 if edge else None,
            key_file=tmp_path / "id_ed25519",
            known_hosts=tmp_path / f"known_hosts-{name}",
            inventory=tmp_path / "inventory.yml",
        )
        hosts.append(fleet.FleetHost(access, address))
    return fleet.Fleet(edge=hosts[0], gpu_hosts=hosts[1:], inventory=tmp_path / "inventory.yml")


def test_the_fleet_inventory_groups_the_hosts_by_role(tmp_path):
    fleet.write_fleet_inventory(a_fleet(tmp_path))
    text = (tmp_path / "inventory.yml").read_text()
    assert text.startswith("# The rehearsal fleet, written by `make rehearsal-host-up GPU_HOSTS=N`")
    inventory = yaml.safe_load(text)["all"]
    groups = inventory["children"]
    assert list(groups["rehearsal"]["hosts"]) == ["hymt-fleet-gpu-1", "hymt-fleet-gpu-2", "hymt-fleet-edge"]
    assert list(groups["gpu_hosts"]["hosts"]) == ["hymt-fleet-gpu-1", "hymt-fleet-gpu-2"]
    assert list(groups["edge"]["hosts"]) == ["hymt-fleet-edge"]
    # The service's URL is the edge's, a host variable of every host (group_vars/all would win over a group's).
    assert {host["hymt_public_url"] for host in groups["rehearsal"]["hosts"].values()} == {"http://127.0.0.1:8080"}


def test_each_host_is_reached_with_its_own_known_hosts_and_knows_its_private_address(tmp_path):
    fleet.write_fleet_inventory(a_fleet(tmp_path))
    hosts = yaml.safe_load((tmp_path / "inventory.yml").read_text())["all"]["children"]["rehearsal"]["hosts"]
    addresses = {name: host_vars["hymt_private_address"] for name, host_vars in hosts.items()}
    assert addresses == {
        "hymt-fleet-edge": "10.213.0.2",
        "hymt-fleet-gpu-1": "10.213.0.3",
        "hymt-fleet-gpu-2": "10.213.0.4",
    }
    for name, host_vars in hosts.items():
        assert host_vars["ansible_host"] == "127.0.0.1" and host_vars["ansible_user"] == "debian"
        assert host_vars["ansible_ssh_private_key_file"] == str(tmp_path / "id_ed25519")
        assert f"-o UserKnownHostsFile={tmp_path / f'known_hosts-{name}'}" in host_vars["ansible_ssh_common_args"]
    assert [hosts[name]["ansible_port"] for name in ("hymt-fleet-edge", "hymt-fleet-gpu-1", "hymt-fleet-gpu-2")] == [
        40001,
        40002,
        40003,
    ]
    # Only the edge publishes the service.
    assert hosts["hymt-fleet-edge"]["rehearsal_host_http_port"] == 8080
    assert hosts["hymt-fleet-edge"]["rehearsal_host_https_port"] == 8443
    assert not any("rehearsal_host_http_port" in hosts[name] for name in ("hymt-fleet-gpu-1", "hymt-fleet-gpu-2"))
    assert "StrictHostKeyChecking=no" not in (tmp_path / "inventory.yml").read_text()


def test_the_fleet_inventory_sees_the_repositorys_group_vars(tmp_path):
    fleet.write_fleet_inventory(a_fleet(tmp_path))
    fleet.write_fleet_inventory(a_fleet(tmp_path))  # again: the link is replaced, not doubled
    assert (tmp_path / "group_vars" / "rehearsal.yml").resolve() == rehearsal_host.GROUP_VARS / "rehearsal.yml"


def test_more_gpu_hosts_move_no_host_to_another_address(tmp_path):
    two = settings(tmp_path, gpu_hosts=2).private_addresses()
    five = settings(tmp_path, gpu_hosts=5).private_addresses()
    assert {name: five[name] for name in two} == two
    # The first address is the internal bridge's; every host has its own after it.
    assert "10.213.0.1" not in five.values() and len(set(five.values())) == 6


def test_the_hosts_are_created_with_the_fleets_networks_and_only_the_edge_publishes_http(tmp_path):
    hosts = {host.name: host for host in settings(tmp_path).host_settings()}
    assert list(hosts) == ["hymt-fleet-edge", "hymt-fleet-gpu-1", "hymt-fleet-gpu-2"]
    assert {(host.network, host.private_network) for host in hosts.values()} == {
        ("hymt-fleet-public", "hymt-fleet-private")
    }
    assert [host.publish_web for host in hosts.values()] == [True, False, False]
    assert {host.ssh_port for host in hosts.values()} == {None}  # Docker picks free ports
    assert {host.key_file for host in hosts.values()} == {tmp_path / "id_ed25519"}


def test_a_subnet_too_small_for_the_fleet_is_refused_before_docker_is_asked(tmp_path, capsys):
    # A /29 holds 6 addresses: the bridge's, the edge and 4 GPU hosts.
    assert len(settings(tmp_path, gpu_hosts=4, subnet="10.9.0.0/29").private_addresses()) == 5
    code = main(["fleet-up", "--gpu-hosts", "5", "--private-subnet", "10.9.0.0/29", "--inventory", str(tmp_path / "i")])
    assert code == 1
    err = capsys.readouterr().err
    assert "10.9.0.0/29 has room for 5 hosts, the fleet needs 6; give a larger one with --private-subnet" in err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--gpu-hosts", "0"], "0 GPU hosts: a fleet has 1 or more"),
        (["--gpu-hosts", "-2"], "-2 GPU hosts: a fleet has 1 or more"),
        (["--gpu-hosts", "two"], "'two' is not a number of GPU hosts (1 or more)"),
        (["--gpu-hosts", "2", "--prefix", "Hymt_Fleet"], "'Hymt_Fleet' cannot name the fleet's hosts"),
        (["--gpu-hosts", "2", "--prefix", "fleet-"], "'fleet-' cannot name the fleet's hosts"),
        (["--gpu-hosts", "2", "--prefix", "a/b"], "'a/b' cannot name the fleet's hosts"),
        (["--gpu-hosts", "2", "--prefix", "x" * 41], "cannot name the fleet's hosts: use 1 to 40 lower-case"),
        (["--gpu-hosts", "2", "--private-subnet", "10.213.0.1/24"], "has host bits set"),
        (["--gpu-hosts", "2", "--private-subnet", "10.213.0.0/33"], "'10.213.0.0/33' is not a subnet"),
        (["--gpu-hosts", "2", "--private-subnet", "private"], "'private' is not a subnet"),
        (["--gpu-hosts", "2", "--private-subnet", "fd00::/64"], "fd00::/64 is not an IPv4 subnet"),
        (["--gpu-hosts", "2", "--http-port", "http"], "is not a port number (1-65535, or 0 for any free port)"),
    ],
)
def test_bad_fleet_arguments_are_refused_with_what_to_give(arguments, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fleet-up", *arguments])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_fleet_down_refuses_a_bad_prefix_too(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fleet-down", "--prefix", "no spaces"])
    assert exit_info.value.code == 2
    assert "'no spaces' cannot name the fleet's hosts" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "inventory"),
    [
        (["fleet-up", "--gpu-hosts", "3"], fleet.DEFAULT_INVENTORY),
        (["fleet-up", "--gpu-hosts", "3", "--inventory", "/x/fleet.yml"], "/x/fleet.yml"),
        (["--inventory", "/y/fleet.yml", "fleet-up", "--gpu-hosts", "3"], "/y/fleet.yml"),
    ],
)
def test_fleet_up_is_given_what_the_command_line_says(arguments, inventory, monkeypatch):
    asked = []

    def record(settings):
        asked.append(settings)
        raise rehearsal_host.RehearsalHostError("recorded")

    monkeypatch.setattr(fleet, "fleet_up", record)
    assert main(arguments) == 1
    assert (asked[0].gpu_hosts, str(asked[0].inventory)) == (3, str(inventory))
    assert (asked[0].prefix, asked[0].http_port, asked[0].https_port) == ("hymt-fleet", 8080, 8443)
    assert str(asked[0].private_subnet) == "10.213.0.0/24"


def make_dry_run(*arguments: str) -> str:
    return subprocess.run(
        ["make", "-n", "--no-print-directory", *arguments], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_make_switches_to_the_fleet_with_gpu_hosts():
    commands = make_dry_run("rehearsal-host-up", "rehearsal-host-down", "GPU_HOSTS=2")
    assert (
        "-m hymt_dev.rehearsal_host fleet-up --gpu-hosts 2 --prefix hymt-fleet --inventory "
        ".hymt/rehearsal-fleet/inventory.yml --private-subnet 10.213.0.0/24" in commands
    )
    assert "--http-port 8080 --https-port 8443" in commands
    assert "fleet-down --prefix hymt-fleet --inventory .hymt/rehearsal-fleet/inventory.yml" in commands
    single = make_dry_run("rehearsal-host-up", "rehearsal-host-down")
    assert "--name hymt-rehearsal-host --inventory .hymt/rehearsal-host/inventory.yml up --ssh-port 2222" in single
    assert "fleet" not in single


def test_make_rehearse_prints_the_edges_url_from_the_fleet_inventory(tmp_path):
    fleet.write_fleet_inventory(a_fleet(tmp_path))
    inventory = tmp_path / "inventory.yml"
    lines = make_dry_run("rehearse-down", f"REHEARSAL_INVENTORY={inventory}", "GPU_HOSTS=2")
    assert f"fleet-down --prefix hymt-fleet --inventory {inventory}" in lines
    # The rehearse target's last line, run as make would run it.
    echo = [
        line
        for line in make_dry_run("rehearse", f"REHEARSAL_INVENTORY={inventory}", "GPU_HOSTS=2").splitlines()
        if line.startswith('echo "rehearse: the translation service is ready')
    ]
    printed = subprocess.run(["sh", "-c", echo[0]], capture_output=True, text=True, check=True).stdout
    assert printed == "rehearse: the translation service is ready: open http://127.0.0.1:8080\n"
