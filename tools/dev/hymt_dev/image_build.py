"""`docker build` of the project's images (make web-image, make vllm-cpu-image), skipped when the tagged image was
built from the same inputs.

Even with every layer cached, `docker build` first sends its whole context to the engine: for these images the
repository root, whose build/wheels/ holds the torch wheel (about 190 MB). The inputs are what the build reads: the
Dockerfile, the build arguments, the base images (by id) and the files its COPY instructions take from the context.
Their digest goes on the image as a label; when the tagged image carries the same digest, building again could only
give the same image, and is not done.

    python -m hymt_dev.image_build --file app/Dockerfile --tag hymt/web:0.1.0 --build-arg PYTHON_IMAGE=... .

Reading the torch wheel to digest it took half a second of every `make rehearse`; each file's digest is kept in
.hymt/image-build-digests.json with the file's size, modification and change times and inode, and read again only when
one of them differs (a write to the file changes its change time, which no tool sets back).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from hymt_dev import REPO_ROOT

INPUTS_LABEL = "org.hymt.build-inputs"
# What a directory copied whole may hold that .dockerignore keeps out of the context anyway.
IGNORED_PARTS = ("__pycache__",)
IGNORED_SUFFIXES = (".pyc",)

Run = Callable[[Sequence[str]], subprocess.CompletedProcess]
FileDigest = Callable[[Path], str]
DIGEST_CACHE = REPO_ROOT / ".hymt" / "image-build-digests.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class KeptDigests:
    """Files' SHA-256, kept in a JSON file by path with what stat says of the file; a file whose size, times or inode
    differ from what was kept is read again. A missing or unreadable store only means reading every file."""

    def __init__(self, store: Path, digest: FileDigest = file_sha256, settle_ns: int = 2_000_000_000):
        # A file written less than settle_ns ago is not kept: a second write within the file system's timestamp
        # granularity would leave its times as they were (git's "racily clean" files).
        self.store, self._digest, self.settle_ns, self.changed = store, digest, settle_ns, False
        try:
            self.kept: dict[str, dict] = json.loads(store.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.kept = {}
        if not isinstance(self.kept, dict):
            self.kept = {}

    def __call__(self, path: Path) -> str:
        info = os.stat(path)
        seen = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
        key = str(path.resolve())
        entry = self.kept.get(key)
        if isinstance(entry, dict) and entry.get("stat") == seen and isinstance(entry.get("sha256"), str):
            return entry["sha256"]
        sha256 = self._digest(path)
        if time.time_ns() - max(info.st_mtime_ns, info.st_ctime_ns) >= self.settle_ns:
            self.kept[key] = {"stat": seen, "sha256": sha256}
            self.changed = True
        return sha256

    def save(self) -> None:
        if not self.changed:
            return
        try:
            self.store.parent.mkdir(parents=True, exist_ok=True)
            partial = self.store.with_name(self.store.name + ".partial")
            partial.write_text(json.dumps(self.kept, indent=0, sort_keys=True), encoding="utf-8")
            partial.replace(self.store)
        except OSError:
            pass  # the next build reads the files again


def _instructions(dockerfile: str) -> list[tuple[str, list[str]]]:
    """(INSTRUCTION, words) per instruction, with continued lines joined and comments left out."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    found = []
    for line in joined.splitlines():
        words = line.strip().split()
        if words and not words[0].startswith("#"):
            found.append((words[0].upper(), words[1:]))
    return found


def _substitute(word: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m[1] or m[2], ""), word)


def base_images(dockerfile: str, build_args: dict[str, str]) -> list[str]:
    """The images the stages start FROM (build arguments and ARG defaults substituted), not earlier stages."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    bases = []
    for instruction, words in _instructions(dockerfile):
        if instruction == "ARG" and words:
            name, _, default = words[0].partition("=")
            args[name] = build_args.get(name, default)
        elif instruction == "FROM":
            words = [w for w in words if not w.startswith("--")]
            image = _substitute(words[0], args)
            if image not in stages:
                bases.append(image)
            if len(words) == 3 and words[1].upper() == "AS":
                stages.add(words[2])
    return bases


def copied_sources(dockerfile: str) -> list[str]:
    """The context paths COPY and ADD take (not those of `COPY --from=<stage>`)."""
    sources = []
    for instruction, words in _instructions(dockerfile):
        if instruction in ("COPY", "ADD") and not any(w.startswith("--from") for w in words):
            paths = [w for w in words if not w.startswith("--")]
            sources += paths[:-1]
    return sources


def _files(context: Path, source: str) -> list[Path]:
    path = context / source
    if path.is_dir():
        return sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and not set(p.relative_to(context).parts) & set(IGNORED_PARTS)
            and p.suffix not in IGNORED_SUFFIXES
        )
    return [path] if path.is_file() else []


def inputs_digest(
    dockerfile: Path,
    context: Path,
    build_args: dict[str, str],
    base_ids: dict[str, str],
    file_digest: FileDigest = file_sha256,
) -> str:
    """The digest of everything the build reads: the Dockerfile, the build arguments, the base images' ids and the
    copied files (path and content's SHA-256); a missing file counts as its absence."""
    text = dockerfile.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode())
    for name, value in sorted(build_args.items()):
        digest.update(f"arg\0{name}\0{value}\0".encode())
    for image, image_id in sorted(base_ids.items()):
        digest.update(f"base\0{image}\0{image_id}\0".encode())
    for source in copied_sources(text):
        digest.update(f"copy\0{source}\0".encode())
        for path in _files(context, source):
            digest.update(f"{path.relative_to(context)}\0{file_digest(path)}\0".encode())
    return digest.hexdigest()[:16]


def _docker(run: Run, *args: str) -> str | None:
    done = run(["docker", *args])
    return done.stdout.strip() if done.returncode == 0 else None


def build(
    dockerfile: Path,
    tag: str,
    build_args: dict[str, str],
    context: Path,
    run: Run,
    say: Callable[[str], None],
    file_digest: FileDigest = file_sha256,
) -> int:
    """Build `tag` unless it carries the digest of these inputs; the exit code of docker build, or 0."""
    bases = base_images(dockerfile.read_text(encoding="utf-8"), build_args)
    base_ids = {image: _docker(run, "image", "inspect", "--format", "{{.Id}}", image) for image in bases}
    if all(base_ids.values()):
        digest = inputs_digest(dockerfile, context, build_args, {k: v or "" for k, v in base_ids.items()}, file_digest)
        label = _docker(run, "image", "inspect", "--format", f'{{{{ index .Config.Labels "{INPUTS_LABEL}" }}}}', tag)
        if label == digest:
            say(f"image_build: {tag} was built from these inputs ({INPUTS_LABEL}={digest}); not built again")
            return 0
    else:
        # A base image not here yet: docker build pulls it; the next build knows its id.
        digest = ""
    command = ["docker", "build", "--file", str(dockerfile), "--tag", tag]
    for name, value in build_args.items():
        command += ["--build-arg", f"{name}={value}"]
    if digest:
        command += ["--label", f"{INPUTS_LABEL}={digest}"]
    command.append(str(context))
    say(shlex.join(command))
    return run(command).returncode


def _run_streaming(command: Sequence[str]) -> subprocess.CompletedProcess:
    # docker build's own output goes straight through; the inspections are captured.
    if command[:2] == ["docker", "build"]:
        return subprocess.run(command, check=False)
    return subprocess.run(command, capture_output=True, text=True, check=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hymt_dev.image_build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", required=True, type=Path, help="the Dockerfile")
    parser.add_argument("--tag", required=True)
    parser.add_argument("--build-arg", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("context", type=Path)
    options = parser.parse_args(argv)
    build_args = {}
    for item in options.build_arg:
        name, equals, value = item.partition("=")
        if not equals or not name:
            parser.error(f"--build-arg {item!r}: give NAME=VALUE")
        build_args[name] = value
    if not options.file.is_file():
        parser.error(f"no Dockerfile at {options.file}")
    kept = KeptDigests(DIGEST_CACHE)
    try:
        return build(options.file, options.tag, build_args, options.context, _run_streaming, print, kept)
    finally:
        kept.save()


if __name__ == "__main__":
    sys.exit(main())
