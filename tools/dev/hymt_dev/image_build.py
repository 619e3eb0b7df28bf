"""`docker build` of the project's images (make web-image, make vllm-cpu-image), skipped when the tagged image was
built from the same inputs.

Even with every layer cached, `docker build` first sends its whole context to the engine: for these images the
repository root, whose build/wheels/ holds the torch wheel (about 190 MB). The inputs are what the build reads: the
Dockerfile, the build arguments, the base images (by id) and the files its COPY instructions take from the context.
Their digest goes on the image as a label; when the tagged image carries the same digest, building again could only
give the same image, and is not done.

    python -m hymt_dev.image_build --file app/Dockerfile --tag hymt/web:0.1.0 --build-arg PYTHON_IMAGE=... .
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

INPUTS_LABEL = "org.hymt.build-inputs"
# What a directory copied whole may hold that .dockerignore keeps out of the context anyway.
IGNORED_PARTS = ("__pycache__",)
IGNORED_SUFFIXES = (".pyc",)

Run = Callable[[Sequence[str]], subprocess.CompletedProcess]


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


def inputs_digest(dockerfile: Path, context: Path, build_args: dict[str, str], base_ids: dict[str, str]) -> str:
    """The digest of everything the build reads: the Dockerfile, the build arguments, the base images' ids and the
    copied files (path and content); a missing file counts as its absence."""
    text = dockerfile.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode())
    for name, value in sorted(build_args.items()):
        digest.update(f"arg\0{name}\0{value}\0".encode())
    for image, image_id in sorted(base_ids.items()):
        digest.update(f"base\0{image}\0{image_id}\0".encode())
    for source in copied_sources(text):
        digest.update(f"copy\0{source}\0".encode())
        for path in _files(context, source):
            digest.update(str(path.relative_to(context)).encode() + b"\0")
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def _docker(run: Run, *args: str) -> str | None:
    done = run(["docker", *args])
    return done.stdout.strip() if done.returncode == 0 else None


def build(
    dockerfile: Path, tag: str, build_args: dict[str, str], context: Path, run: Run, say: Callable[[str], None]
) -> int:
    """Build `tag` unless it carries the digest of these inputs; the exit code of docker build, or 0."""
    bases = base_images(dockerfile.read_text(encoding="utf-8"), build_args)
    base_ids = {image: _docker(run, "image", "inspect", "--format", "{{.Id}}", image) for image in bases}
    if all(base_ids.values()):
        digest = inputs_digest(dockerfile, context, build_args, {k: v or "" for k, v in base_ids.items()})
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
    return build(options.file, options.tag, build_args, options.context, _run_streaming, print)


if __name__ == "__main__":
    sys.exit(main())
