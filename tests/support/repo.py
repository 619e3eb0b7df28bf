"""The repository the tests run in: its root, its pins (versions.yml, the one place for them), and its own text
files as git sees them (tracked, plus untracked ones it does not ignore)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PINS_FILE = ROOT / "inventory/group_vars/all/versions.yml"
PINS: dict = yaml.safe_load(PINS_FILE.read_text())
_BINARY_SUFFIXES = {".png", ".whl", ".gz", ".safetensors", ".deb"}


def text_files(exclude: tuple[Path, ...] = (PINS_FILE,)) -> dict[Path, str]:
    """Every text file of the working tree that git would commit, by path (binary files and `exclude` left out)."""
    names = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    texts = {}
    for name in names:
        path = ROOT / name
        if path in exclude or path.suffix in _BINARY_SUFFIXES or not path.is_file():
            continue
        try:
            texts[path] = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
    return texts
