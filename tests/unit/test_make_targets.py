"""The make targets that work on an inventory refuse at once, saying what to do, when it is missing: before building
an image or touching a server."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.repo import ROOT


@pytest.mark.parametrize("target", ["site", "provision", "deploy", "verify", "teardown", "backup", "restore"])
def test_a_missing_inventory_is_refused_before_anything_runs(target, tmp_path):
    missing = tmp_path / "cloud.yml"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    run = subprocess.run(
        ["make", target, f"INVENTORY={missing}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert f"no inventory {missing}" in run.stderr
    assert "Copy inventory/cloud.example.yml to inventory/cloud.yml" in run.stderr
    assert "docker build" not in run.stdout and "ansible-playbook" not in run.stdout


def test_restore_without_an_archive_says_which_to_name(tmp_path):
    inventory = tmp_path / "cloud.yml"
    inventory.write_text("all: {}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    run = subprocess.run(
        ["make", "restore", f"INVENTORY={inventory}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    assert "name the archive: BACKUP=.hymt/backups/<host>/<time>.tar.gz" in run.stderr
    assert "ansible-playbook" not in run.stdout
