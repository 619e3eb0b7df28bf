"""Transcribed outputs of real machine types (tests/ansible/data/), read by the tests of the roles' parsers."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def data(name: str) -> str:
    return (DATA / name).read_text()
