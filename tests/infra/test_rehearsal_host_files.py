"""What `up` hands out, without Docker: the login key, the authorized_keys archive, known_hosts and the inventory."""

from __future__ import annotations

import io
import stat
import tarfile

import pytest
import yaml

from hymt_dev.rehearsal_host import host as rehearsal_host
from hymt_dev.rehearsal_host.__main__ import main


def test_the_login_key_is_private_and_kept(tmp_path):
    key_file = tmp_path / "state" / "id_ed25519"
    public = rehearsal_host.ensure_login_key(key_file)
    assert public.startswith("ssh-ed25519 ")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert key_file.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    # A second host gets the same key; the control machine does not collect keys.
    assert rehearsal_host.ensure_login_key(key_file) == public


def test_authorized_keys_belong_to_the_login_user():
    content = rehearsal_host._authorized_keys_archive("ssh-ed25519 AAAA test")
    with tarfile.open(fileobj=io.BytesIO(content)) as archive:
        members = {member.name: member for member in archive.getmembers()}
        directory, keys = members["home/debian/.ssh"], members["home/debian/.ssh/authorized_keys"]
        assert (directory.uid, directory.mode, directory.isdir()) == (1000, 0o700, True)
        assert (keys.uid, keys.gid, keys.mode) == (1000, 1000, 0o600)
        assert archive.extractfile(keys).read() == b"ssh-ed25519 AAAA test\n"


def access(tmp_path) -> rehearsal_host.HostAccess:
    return rehearsal_host.HostAccess(
        name="hymt-rehearsal-host",
        ssh_port=2222,
        http_port=8080,
        https_port=8443,
        key_file=tmp_path / "id_ed25519",
        known_hosts=tmp_path / "known_hosts-hymt-rehearsal-host",
        inventory=tmp_path / "inventory.yml",
    )


def test_the_inventory_checks_the_host_key_with_its_own_known_hosts(tmp_path):
    host = access(tmp_path)
    rehearsal_host.write_access_files(host, "ssh-ed25519 AAAAC3Nza host-key")
    assert host.known_hosts.read_text() == "[127.0.0.1]:2222 ssh-ed25519 AAAAC3Nza host-key\n"
    inventory = yaml.safe_load(host.inventory.read_text())
    groups = inventory["all"]["children"]
    assert set(groups) == {"rehearsal", "gpu_hosts", "edge"}
    assert all("hymt-rehearsal-host" in group["hosts"] for group in groups.values())
    host_vars = groups["rehearsal"]["hosts"]["hymt-rehearsal-host"]
    assert host_vars["ansible_host"] == "127.0.0.1" and host_vars["ansible_port"] == 2222
    assert host_vars["ansible_user"] == "debian"
    assert host_vars["ansible_ssh_private_key_file"] == str(host.key_file)
    assert f"-o UserKnownHostsFile={host.known_hosts}" in host_vars["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=no" not in host.inventory.read_text()


def test_the_inventory_sees_the_repositorys_group_vars(tmp_path):
    host = access(tmp_path)
    rehearsal_host.write_access_files(host, "ssh-ed25519 AAAA")
    rehearsal_host.write_access_files(host, "ssh-ed25519 AAAA")  # again: the link is replaced, not doubled
    assert (tmp_path / "group_vars").is_symlink()
    assert (tmp_path / "group_vars" / "rehearsal.yml").resolve() == rehearsal_host.GROUP_VARS / "rehearsal.yml"


def test_a_group_vars_directory_of_the_users_is_never_replaced(tmp_path):
    (tmp_path / "group_vars").mkdir()
    with pytest.raises(rehearsal_host.RehearsalHostError, match="is not a link"):
        rehearsal_host.write_access_files(access(tmp_path), "ssh-ed25519 AAAA")


@pytest.mark.parametrize("port", ["ssh", "-1", "70000"])
def test_a_bad_port_is_refused_with_what_to_give(port, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["up", "--ssh-port", port])
    assert exit_info.value.code == 2
    assert "is not a port number (1-65535, or 0 for any free port)" in capsys.readouterr().err


def test_the_image_is_rebuilt_when_its_base_changes():
    base = rehearsal_host.pins()["hymt_debian_image"]
    first = rehearsal_host.build_inputs_digest(base)
    assert rehearsal_host.build_inputs_digest(base) == first
    assert rehearsal_host.build_inputs_digest(base + "-newer") != first
