"""Fixtures of the model command tests: a stand-in hub on loopback, a clean environment, and the CLI run in this
process with its I/O injected."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hymt.cli import model as model_cli
from hymt.cli.main import main
from tests.support.fake_hub import FakeHub, tiny_repository

REPO = "hymt-test/tiny-mt"
MS_REPO = "hymt-test/tiny-mt-ms"
FILES = tiny_repository(REPO)
LARGE = "model.safetensors"

# The variables the model commands read: a developer's own settings must not change the results.
ENV_NAMES = ("HF_ENDPOINT", "HF_TOKEN", "MODELSCOPE_DOMAIN", "MODELSCOPE_API_TOKEN", "HF_HUB_OFFLINE", "HYMT_DEBUG")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def hub_server() -> Iterator[FakeHub]:
    hub = FakeHub().start()
    yield hub
    hub.stop()


@pytest.fixture
def hub(hub_server: FakeHub) -> FakeHub:
    """The stand-in hub with a fresh repository (main on Hugging Face's side, master on ModelScope's), no faults."""
    hub_server.reset()
    hub_server.add_repo(REPO, FILES)
    hub_server.add_repo(MS_REPO, FILES, branch="master")
    return hub_server


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@pytest.fixture
def hymt(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Run `hymt ARGS` in this process; keyword `disk_usage` replaces the free-space probe, `stderr` the stream
    progress goes to."""

    def run(*argv: str, disk_usage=None, stderr: io.StringIO | None = None) -> Run:
        def make_io() -> model_cli.ModelIO:
            made = model_cli.ModelIO(disk_usage=disk_usage, progress_interval=0.0)
            if stderr is not None:
                made.stderr = stderr
            return made

        monkeypatch.setattr(model_cli, "make_io", make_io)
        code = main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def copy_files(directory: Path, files: dict[str, bytes] = FILES) -> Path:
    """A model copied by hand: the repository's files, without a manifest."""
    for path, data in files.items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_bytes(data)
    return directory


def leftovers(parent: Path) -> list[str]:
    """What a fetch left next to DIR besides DIR and its lock file."""
    return sorted(p.name for p in parent.iterdir() if not p.name.endswith(".hymt-lock"))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
