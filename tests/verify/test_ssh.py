"""Which hosts to check and how to log in: --host specs, SSH argument strings, and real inventories read with
ansible-inventory (groups, group_vars, ports, keys, known_hosts and host key checking as Ansible has them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from hymt.verify.run import CouldNotRun, plan
from hymt.verify.settings import VerifySettings
from hymt.verify.ssh import InventoryError, ansible_host_key_checking, parse_host, ssh_options, targets_from_inventory
from tests.support.playbook import ansible_env


@pytest.mark.parametrize(
    ("spec", "user", "address", "port"),
    [
        ("ubuntu@203.0.113.7", "ubuntu", "203.0.113.7", 22),
        ("debian@gpu.example.com:2222", "debian", "gpu.example.com", 2222),
        ("root@[2001:db8::7]:22", "root", "2001:db8::7", 22),
        ("203.0.113.7", None, "203.0.113.7", 22),
    ],
)
def test_host_specs(spec, user, address, port):
    target = parse_host(spec, key_file="/k", known_hosts="/kh")
    assert (target.user, target.address, target.port) == (user, address, port)
    assert target.key_file == "/k" and target.known_hosts == ("/kh",) and target.host_key_checking == "strict"


@pytest.mark.parametrize("spec", ["ubuntu@", "a@b@c", "ubuntu@host:99999", "ubuntu@host:port"])
def test_bad_host_specs_say_how_to_write_them(spec):
    with pytest.raises(InventoryError, match=r"write it as user@address|is not a TCP port"):
        parse_host(spec)


def test_ssh_argument_strings():
    options = ssh_options("-o UserKnownHostsFile=/a/kh -o 'IdentitiesOnly yes' -oStrictHostKeyChecking=no -p 2200")
    assert options == {
        "userknownhostsfile": "/a/kh",
        "identitiesonly": "yes",
        "stricthostkeychecking": "no",
        "port": "2200",
    }


def test_host_key_checking_follows_ansible(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert ansible_host_key_checking({}) is True  # Ansible's default
    (tmp_path / "ansible.cfg").write_text("[defaults]\nhost_key_checking = False\n")
    assert ansible_host_key_checking({}) is False
    assert ansible_host_key_checking({"ANSIBLE_HOST_KEY_CHECKING": "True"}) is True


def write_inventory(directory: Path, hosts: dict, group_vars: dict | None = None) -> Path:
    inventory = directory / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": hosts}}))
    if group_vars:
        (directory / "group_vars").mkdir()
        for group, values in group_vars.items():
            (directory / "group_vars" / f"{group}.yml").write_text(yaml.safe_dump(values))
    return inventory


@pytest.fixture
def ansible_path(monkeypatch):
    monkeypatch.setenv("PATH", ansible_env()["PATH"])
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # the repository's ansible.cfg: host_key_checking = True


def test_an_inventory_gives_every_gpu_and_edge_host_once_with_its_ssh_settings(tmp_path, ansible_path):
    inventory = write_inventory(
        tmp_path,
        {
            "gpu_hosts": {
                "hosts": {
                    "gpu-1": {
                        "ansible_host": "203.0.113.7",
                        "ansible_user": "ubuntu",
                        "ansible_ssh_private_key_file": "~/.ssh/id_ed25519",
                    },
                    "gpu-2": {
                        "ansible_host": "203.0.113.8",
                        "ansible_port": 2222,
                        "ansible_ssh_common_args": "-o UserKnownHostsFile=kh -o IdentitiesOnly=yes",
                    },
                }
            },
            "edge": {"hosts": {"gpu-1": {}}},
            "monitoring": {"hosts": {"mon-1": {}}},
        },
        {"all": {"hymt_profile": "gpu", "hymt_vllm_image": "vllm/vllm-openai:v0.32.0"}},
    )
    targets = targets_from_inventory(inventory)
    assert [t.name for t in targets] == ["gpu-1", "gpu-2"]
    first, second = targets
    assert first.groups == ("gpu_hosts", "edge") and second.groups == ("gpu_hosts",)
    assert (first.address, first.port, first.user) == ("203.0.113.7", 22, "ubuntu")
    assert first.key_file == os.path.expanduser("~/.ssh/id_ed25519") and first.host_key_checking == "strict"
    assert (second.port, second.known_hosts, second.identities_only) == (2222, (str(tmp_path / "kh"),), True)
    assert first.variables["hymt_vllm_image"] == "vllm/vllm-openai:v0.32.0"


def test_the_inventory_s_profile_is_used_and_a_contradicting_one_refused(tmp_path, ansible_path):
    inventory = write_inventory(
        tmp_path,
        {"gpu_hosts": {"hosts": {"h": {"ansible_host": "127.0.0.1", "rehearsal_host_http_port": 18080}}},
         "edge": {"hosts": {"h": {}}}},
        {"all": {"hymt_profile": "rehearsal"}},
    )  # fmt: skip
    resolved = plan(VerifySettings(inventory=inventory))
    assert resolved.profile == "rehearsal" and resolved.url == "http://127.0.0.1:18080"
    with pytest.raises(CouldNotRun, match="contradicts the inventory"):
        plan(VerifySettings(inventory=inventory, profile="gpu"))


def test_strict_host_key_checking_off_in_the_inventory_is_honoured(tmp_path, ansible_path):
    inventory = write_inventory(
        tmp_path, {"gpu_hosts": {"hosts": {"h": {"ansible_ssh_common_args": "-o StrictHostKeyChecking=no"}}}}
    )
    assert targets_from_inventory(inventory)[0].host_key_checking == "off"


def test_unusable_inventories_are_refused_with_what_to_do(tmp_path, ansible_path):
    with pytest.raises(InventoryError, match=r"Copy inventory/cloud\.example\.yml"):
        targets_from_inventory(tmp_path / "missing.yml")
    empty = write_inventory(tmp_path, {"web": {"hosts": {"w": {}}}})
    with pytest.raises(InventoryError, match="no host in gpu_hosts or edge"):
        targets_from_inventory(empty)
    broken = tmp_path / "broken.yml"
    broken.write_text("all: [unclosed\n")
    with pytest.raises(
        InventoryError, match=r"no host in gpu_hosts or edge.*ansible-inventory said: .*Unable to parse"
    ):
        targets_from_inventory(broken)
