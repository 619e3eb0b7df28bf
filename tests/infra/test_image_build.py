"""make web-image and make vllm-cpu-image skip docker build only when the tagged image was built from the same inputs
(hymt_dev.image_build): the Dockerfile, the build arguments, the base images' ids and the copied files. Without
Docker: `docker` is a stand-in that answers the inspections and records the build."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from hymt_dev import REPO_ROOT
from hymt_dev.image_build import (
    INPUTS_LABEL,
    KeptDigests,
    base_images,
    build,
    copied_sources,
    file_sha256,
    inputs_digest,
    main,
)

DOCKERFILE = """# syntax=docker/dockerfile:1
ARG BASE=example/base:1
FROM ${BASE} AS venv
ARG TOOL
COPY build/ca/ /usr/local/share/ca-certificates/
COPY pyproject.toml \\
     README.md ./
RUN echo $TOOL
FROM ${BASE}
COPY --from=venv /opt/venv /opt/venv
COPY --chown=root:root bin/serve /usr/local/bin/serve
"""


@pytest.fixture
def context(tmp_path: Path) -> Path:
    for name, text in {
        "Dockerfile": DOCKERFILE,
        "build/ca/extra.crt": "a certificate",
        "pyproject.toml": "[project]",
        "README.md": "readme",
        "bin/serve": "#!/bin/sh",
        "bin/__pycache__/x.pyc": "compiled",
        "elsewhere.txt": "not copied",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


class Docker:
    """A stand-in `docker`: image ids and labels as given; every command recorded."""

    def __init__(self, ids: dict[str, str], label: str | None):
        self.ids, self.label, self.commands = ids, label, []

    def __call__(self, command):
        self.commands.append(list(command))
        if command[1:3] == ["image", "inspect"]:
            if "{{.Id}}" in command:
                image_id = self.ids.get(command[-1])
                return subprocess.CompletedProcess(command, 0 if image_id else 1, image_id or "", "")
            return subprocess.CompletedProcess(command, 0 if self.label is not None else 1, self.label or "", "")
        return subprocess.CompletedProcess(command, 0, "", "")

    @property
    def builds(self) -> list[list[str]]:
        return [c for c in self.commands if c[1] == "build"]


def test_the_inputs_are_the_copied_files_the_base_images_and_the_arguments():
    assert copied_sources(DOCKERFILE) == ["build/ca/", "pyproject.toml", "README.md", "bin/serve"]
    assert base_images(DOCKERFILE, {}) == ["example/base:1", "example/base:1"]
    assert base_images(DOCKERFILE, {"BASE": "example/base:2"})[0] == "example/base:2"


def digest(context: Path, args=None, base="sha256:aaa") -> str:
    return inputs_digest(context / "Dockerfile", context, args or {"TOOL": "1"}, {"example/base:1": base})


@pytest.mark.parametrize(
    "change",
    ["a copied file", "a file in a copied directory", "a build argument", "the base image", "the Dockerfile"],
)
def test_every_input_changes_the_digest(context, change):
    before = digest(context)
    args, base = None, "sha256:aaa"
    if change == "a copied file":
        (context / "README.md").write_text("changed")
    elif change == "a file in a copied directory":
        (context / "build/ca/second.crt").write_text("another certificate")
    elif change == "a build argument":
        args = {"TOOL": "2"}
    elif change == "the base image":
        base = "sha256:bbb"
    else:
        (context / "Dockerfile").write_text(DOCKERFILE + "RUN true\n")
    assert digest(context, args, base) != before


def test_what_the_build_does_not_read_leaves_the_digest_alone(context):
    before = digest(context)
    (context / "elsewhere.txt").write_text("changed")
    (context / "bin/__pycache__/x.pyc").write_text("recompiled")
    assert digest(context) == before


def test_an_image_of_the_same_inputs_is_not_built_again(context):
    docker = Docker({"example/base:1": "sha256:aaa"}, label=digest(context))
    said = []
    assert build(context / "Dockerfile", "hymt/x:1", {"TOOL": "1"}, context, docker, said.append) == 0
    assert docker.builds == []
    assert "not built again" in said[0]


@pytest.mark.parametrize("label", [None, "0123456789abcdef"], ids=["no image or no label", "other inputs"])
def test_otherwise_docker_build_runs_and_labels_the_image_with_the_digest(context, label):
    docker = Docker({"example/base:1": "sha256:aaa"}, label=label)
    assert build(context / "Dockerfile", "hymt/x:1", {"TOOL": "1"}, context, docker, lambda _: None) == 0
    (command,) = docker.builds
    assert command[command.index("--label") + 1] == f"{INPUTS_LABEL}={digest(context)}"
    assert command[command.index("--build-arg") :][:2] == ["--build-arg", "TOOL=1"]


def test_a_base_image_not_here_yet_is_left_to_docker_build_to_pull(context):
    docker = Docker({}, label=None)
    build(context / "Dockerfile", "hymt/x:1", {}, context, docker, lambda _: None)
    (command,) = docker.builds
    assert "--label" not in command


def test_the_project_s_dockerfiles_copy_files_that_exist():
    # The digest of an image reads the files its Dockerfile copies: a path that names nothing would hide a change.
    for dockerfile in ("app/Dockerfile", "compose/images/vllm-cpu/Dockerfile"):
        sources = copied_sources((REPO_ROOT / dockerfile).read_text())
        assert sources, dockerfile
        staged = ("build/ca/", "build/wheels/")  # staged by make stage-ca and make vllm-cpu-image
        missing = [s for s in sources if s not in staged and not (REPO_ROOT / s).exists()]
        assert not missing, f"{dockerfile} copies {missing}, which do not exist"


def test_a_build_argument_without_a_value_is_refused(context, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--file", str(context / "Dockerfile"), "--tag", "x", "--build-arg", "TOOL", str(context)])
    assert exit_info.value.code == 2
    assert "give NAME=VALUE" in capsys.readouterr().err


class CountingDigest:
    """file_sha256, counting the files it reads."""

    def __init__(self):
        self.read: list[Path] = []

    def __call__(self, path: Path) -> str:
        self.read.append(path)
        return file_sha256(path)


def test_a_kept_digest_spares_reading_the_file_again_until_the_file_is_written(context, tmp_path):
    store, readme = tmp_path / "kept" / "digests.json", context / "README.md"
    first = CountingDigest()
    kept = KeptDigests(store, first, settle_ns=0)
    expected = digest(context)
    assert inputs_digest(context / "Dockerfile", context, {"TOOL": "1"}, {"example/base:1": "sha256:aaa"}, kept) == (
        expected
    )
    kept.save()
    assert len(first.read) == 4  # the certificate, pyproject.toml, README.md, bin/serve
    again = CountingDigest()
    assert KeptDigests(store, again, settle_ns=0)(readme) == file_sha256(readme) and again.read == []
    time.sleep(0.05)  # past the file system's timestamp granularity
    readme.write_text("readme")  # the same content written again: read again, same digest
    rewritten = CountingDigest()
    assert KeptDigests(store, rewritten, settle_ns=0)(readme) == file_sha256(readme) and rewritten.read == [readme]
    before = file_sha256(readme)
    readme.write_text("a new readme")
    assert KeptDigests(store, CountingDigest())(readme) == file_sha256(readme) != before


def test_a_file_written_just_now_is_read_every_time(context, tmp_path):
    # Another write within the same timestamp tick would leave size and times as they were: such a file is not kept.
    counting = CountingDigest()
    kept = KeptDigests(tmp_path / "digests.json", counting)
    kept(context / "README.md")
    kept(context / "README.md")
    assert counting.read == [context / "README.md"] * 2


def test_a_damaged_store_of_digests_only_means_reading_the_files(context, tmp_path):
    store = tmp_path / "digests.json"
    for damage in ("{not json", "[1, 2]", '{"/x": "not an entry"}'):
        store.write_text(damage)
        counting = CountingDigest()
        kept = KeptDigests(store, counting, settle_ns=0)
        assert kept(context / "README.md") == file_sha256(context / "README.md") and counting.read
        kept.save()
        assert json.loads(store.read_text())[str((context / "README.md").resolve())]["sha256"] == file_sha256(
            context / "README.md"
        )
