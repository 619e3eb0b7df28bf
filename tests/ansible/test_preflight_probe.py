"""The preflight role's one-call probe (roles/preflight/library/preflight_probe.py): what it returns must read as the
separate tasks' results did, since the role's parsers (hymt.hostfacts, hymt.provision.preflight) take it unchanged.

The module runs here in-process, as Ansible would run it on a host, with its file system paths pointed at a made-up
tree. The role's own runs (tests/ansible/test_preflight.py, on this machine) and the GPU stand-in hosts (tests/gpu)
prove it through Ansible."""

from __future__ import annotations

from pathlib import Path

import pytest

from hymt import hostfacts
from tests.ansible.modules import load_module, run_module
from tests.support.repo import ROOT

MODULE_PATH = ROOT / "roles/preflight/library/preflight_probe.py"


@pytest.fixture
def probe():
    return load_module(MODULE_PATH)


def test_the_sysfs_listing_reads_as_grep_printed_it(probe, monkeypatch, tmp_path: Path):
    for slot, vendor, pci_class, device in [
        ("0000:00:1e.0", "0x10de", "0x030200", "0x2237"),  # an NVIDIA 3D controller: a GPU
        ("0000:01:00.1", "0x10de", "0x040300", "0x22ba"),  # NVIDIA's audio function: not a GPU
        ("0000:00:05.0", "0x1d0f", "0x020000", "0xec20"),  # a network card
    ]:
        (tmp_path / slot).mkdir()
        for name, value in (("vendor", vendor), ("class", pci_class), ("device", device)):
            (tmp_path / slot / name).write_text(value + "\n")
    monkeypatch.setattr(probe, "PCI_DEVICES", str(tmp_path))
    gpus = hostfacts.nvidia_gpus_from_sysfs(probe.sysfs_pci())
    assert [(gpu["slot"], gpu["device_id"]) for gpu in gpus] == [("0000:00:1e.0", "2237")]


def test_no_pci_bus_in_sys_is_no_gpu(probe, monkeypatch, tmp_path: Path):
    monkeypatch.setattr(probe, "PCI_DEVICES", str(tmp_path / "absent"))
    assert probe.sysfs_pci() == ""


def test_a_host_without_nvidia_smi_has_no_driver(probe, monkeypatch, tmp_path: Path):
    result = run_module(
        probe, monkeypatch, nvidia_smi_query=["nvidia-smi", "--query-gpu=name"], path=str(tmp_path), model_dir=""
    )
    assert not result.get("failed"), result
    assert result["nvidia_smi_gpus"]["rc"] == 2
    assert hostfacts.nvidia_smi_state(result["nvidia_smi_gpus"]) == {"state": "absent", "error": ""}
    assert result["nvidia_smi"] is None
    assert result["model_du"] is None
    assert result["changed"] is False


def test_a_failing_nvidia_smi_says_why(probe, monkeypatch, tmp_path: Path):
    fake = tmp_path / "nvidia-smi"
    fake.write_text(
        '#!/bin/sh\necho "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver."\nexit 9\n'
    )
    fake.chmod(0o755)
    result = run_module(probe, monkeypatch, nvidia_smi_query=["nvidia-smi", "-L"], path=str(tmp_path))
    assert hostfacts.nvidia_smi_state(result["nvidia_smi_gpus"])["state"] == "not-loaded"


def test_what_the_model_directory_holds_is_measured(probe, monkeypatch, tmp_path: Path):
    (tmp_path / "weights.safetensors").write_bytes(b"\0" * 200_000)
    result = run_module(probe, monkeypatch, nvidia_smi_query=["nvidia-smi", "-L"], model_dir=str(tmp_path))
    held = int(result["model_du"]["stdout"].split()[0])
    assert result["model_du"]["rc"] == 0 and held >= 200_000


def test_the_state_alone_reads_nothing_else(probe, monkeypatch):
    result = run_module(probe, monkeypatch, scope="state")
    assert set(result) == {"changed", "host_state"}
    assert set(result["host_state"]) == {"dpkg_status", "boot_id"}
    assert result["host_state"]["boot_id"] == Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def test_the_whole_look_needs_the_nvidia_smi_command(probe, monkeypatch):
    result = run_module(probe, monkeypatch)
    assert result.get("failed") and "nvidia_smi_query" in result["msg"]


def test_a_host_without_package_indexes_is_told_apart(probe, monkeypatch, tmp_path: Path):
    monkeypatch.setattr(probe, "APT_PACKAGE_INDEXES", str(tmp_path / "*_Packages*"))
    query = ["nvidia-smi", "-L"]
    assert run_module(probe, monkeypatch, nvidia_smi_query=query)["apt_package_indexes"] is False
    (tmp_path / "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4").write_bytes(b"")
    assert run_module(probe, monkeypatch, nvidia_smi_query=query)["apt_package_indexes"] is True
