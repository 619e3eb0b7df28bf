"""`hymt model list | fetch | check`: the model catalogue, and model weights fetched complete, verified and never
half-used (docs/model.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from hymt.cli.output import add_command
from hymt.core import catalogue
from hymt.core.exit import ExitStatus
from hymt.model.check import CheckReport, adopt_from_hub, adopt_local, check
from hymt.model.errors import Damaged, ModelUsageError, human_size
from hymt.model.fetch import DiskUsage, FetchRequest, fetch
from hymt.model.hubs.base import Hub
from hymt.model.manifest import HUB_LOCAL, MANIFEST_NAME
from hymt.model.progress import Progress
from hymt.model.settings import (
    ENV_HF_ENDPOINT,
    ENV_HF_TOKEN,
    ENV_MODELSCOPE_DOMAIN,
    ENV_MODELSCOPE_TOKEN,
    HUBS,
    HUGGINGFACE,
    MIRROR_EXAMPLE,
    MODELSCOPE,
    HubSettings,
)

EXIT_CODES = """\
exit codes:
  0  the model is complete (fetched, already there, or checked)
  1  files are wrong: missing, short or corrupt in DIR (check); a download did not match the hub's index (fetch:
     nothing was put at DIR); another fetch is writing the same DIR
  2  usage: a bad option, an unreadable token file, a DIR that holds something else
  3  not found: no such repository or revision on the hub; no manifest in DIR (check)
  4  access denied: the model is gated or private and needs a token, or the hub refused the token
  5  not enough disk space (checked before the first byte)
  6  the hub or mirror failed: unreachable, timed out, or answered with an error
"""

FETCH_DESCRIPTION = (
    "Download every file of a model repository at one commit into DIR: resumable, each file's size and hash verified "
    "against the hub's index, put in place only when complete."
)
FETCH_EPILOG = f"""\
examples:
  hymt model fetch tencent/Hunyuan-MT-7B --dir /srv/hymt/models/Hunyuan-MT-7B
  hymt model fetch tencent/Hunyuan-MT-7B --dir DIR --hub modelscope       # from mainland China
  hymt model fetch tencent/Hunyuan-MT-7B --dir DIR --endpoint {MIRROR_EXAMPLE}
  hymt model fetch tencent/Hunyuan-MT-7B --dir DIR --update               # move to the branch's newest commit

A DIR fetched before keeps its recorded commit unless --revision or --update says otherwise. An interrupted run
continues where it stopped when started again. Files land in .<name>.hymt-fetch next to DIR and move into place
only when every one is verified; {MANIFEST_NAME} is written last.

environment:
  {ENV_HF_ENDPOINT:<22} a Hugging Face mirror (--endpoint wins)
  {ENV_HF_TOKEN:<22} Hugging Face token (--token-file wins); never give a token on the command line
  {ENV_MODELSCOPE_DOMAIN:<22} ModelScope's host name (default www.modelscope.cn)
  {ENV_MODELSCOPE_TOKEN:<22} ModelScope token

{EXIT_CODES}"""

CHECK_DESCRIPTION = (
    "Check that DIR holds every file its manifest lists, with the size and SHA-256 it lists; name each missing, short "
    "or corrupt file."
)
CHECK_EPILOG = f"""\
examples:
  hymt model check /srv/hymt/models/Hunyuan-MT-7B
  hymt model check DIR --adopt tencent/Hunyuan-MT-7B             # files copied by hand: check them against the hub
  hymt model check DIR --adopt my-model --hub local             # no hub: record the files as they are

A manifest of hub "local" proves that the files have not changed since it was made, not that they match a hub.

{EXIT_CODES}"""


@dataclass
class ModelIO:
    """What the model commands touch outside themselves, replaceable in tests."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    disk_usage: DiskUsage | None = None
    progress_interval: float = 15.0
    make_hub: Callable[[HubSettings, Callable[[str], None]], Hub] | None = None

    def progress(self) -> Progress:
        tty = bool(getattr(self.stderr, "isatty", lambda: False)())
        return Progress(self.stderr, tty=tty, interval=self.progress_interval)

    def hub(self, settings: HubSettings, note: Callable[[str], None]) -> Hub:
        if self.make_hub:
            return self.make_hub(settings, note)
        if settings.hub == MODELSCOPE:
            from hymt.model.hubs.modelscope import ModelScopeHub

            return ModelScopeHub(settings, note)
        from hymt.model.hubs.huggingface import HuggingFaceHub

        return HuggingFaceHub(settings, note)


# What the handlers run with; tests replace it to inject their own ModelIO.
make_io: Callable[[], ModelIO] = ModelIO


def _with_io(run: Callable[[argparse.Namespace, ModelIO], int]) -> Callable[[argparse.Namespace], int]:
    return lambda args: run(args, make_io())


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "model",
        help="list, fetch and check model weights",
        description="The model catalogue, and model weights fetched complete and verified.",
    )
    commands = parser.add_subparsers(title="model commands", dest="model_command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="the models hymt knows, with what they need", description=_LIST_HELP)
    listing.add_argument("--json", action="store_true", help="print the catalogue as a JSON list")
    listing.set_defaults(handler=_with_io(run_list))

    fetching = add_command(
        commands, "fetch", "download a model's files into DIR, verified", FETCH_DESCRIPTION, FETCH_EPILOG
    )
    fetching.add_argument("repo_id", metavar="REPO_ID", help="the repository, e.g. tencent/Hunyuan-MT-7B")
    fetching.add_argument("--dir", required=True, type=Path, metavar="DIR", help="the model directory to fill")
    fetching.add_argument("--revision", metavar="REV", help="branch, tag or commit (default: the recorded one, main)")
    fetching.add_argument(
        "--update", action="store_true", help="move a DIR fetched before to the newest commit of its branch or tag"
    )
    _hub_options(fetching)
    fetching.add_argument(
        "--copy-from",
        type=Path,
        metavar="SRC",
        help="copy from a model directory on this machine that has a manifest, instead of downloading",
    )
    fetching.set_defaults(handler=_with_io(run_fetch))

    checking = add_command(
        commands, "check", "check that DIR holds every file of its manifest, intact", CHECK_DESCRIPTION, CHECK_EPILOG
    )
    checking.add_argument("dir", type=Path, metavar="DIR")
    checking.add_argument("--quick", action="store_true", help="compare sizes only (does not find flipped bytes)")
    checking.add_argument("--json", action="store_true", help="print the result as JSON")
    checking.add_argument(
        "--adopt",
        metavar="REPO_ID",
        help="make a manifest for files copied by hand: hash them against REPO_ID's index on the hub (or, with "
        "--hub local, record them as they are)",
    )
    checking.add_argument("--revision", metavar="REV", help="with --adopt: the revision to compare with")
    _hub_options(checking, local=True)
    checking.set_defaults(handler=_with_io(run_check))


_LIST_HELP = (
    "The models hymt-deploy knows: Hugging Face and ModelScope ids, prompt family, approximate weight size, the GPU "
    "memory and RAM a vLLM host needs, and the vLLM flags they want."
)


def _hub_options(parser: argparse.ArgumentParser, local: bool = False) -> None:
    choices = (*HUBS, HUB_LOCAL) if local else HUBS
    parser.add_argument(
        "--hub", choices=choices, default=HUGGINGFACE, help="where the files come from (default: huggingface)"
    )
    parser.add_argument(
        "--endpoint", metavar="URL", help=f"the hub's or a mirror's URL (default: ${ENV_HF_ENDPOINT}, else the hub)"
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=f"a file holding the hub's token (default: ${ENV_HF_TOKEN} or ${ENV_MODELSCOPE_TOKEN})",
    )


# --- list ----------------------------------------------------------------------------------------------------------
def run_list(args: argparse.Namespace, io: ModelIO) -> int:
    if args.json:
        io.stdout.write(json.dumps(catalogue.as_dicts(), indent=2, ensure_ascii=False) + "\n")
        return ExitStatus.OK
    header = ("MODEL", "MODELSCOPE", "PROMPTS", "PRECISION", "WEIGHTS", "GPU MEMORY", "RAM", "STATUS", "VLLM FLAGS")
    rows = []
    for model in catalogue.CATALOGUE:
        modelscope = model.modelscope_id or "-"
        if model.modelscope_id and not model.modelscope_confirmed:
            modelscope += " (?)"
        rows.append(
            (
                model.model_id + (" *" if model.default else ""),
                modelscope,
                model.family,
                model.precision,
                f"~{_gb(model.weights_gb)}",
                f"{model.gpu_memory_mb / 1000:g} GB" if model.gpu_memory_mb else "none (CPU)",
                f"{model.memory_mb / 1000:g} GB",
                model.status,
                " ".join(model.vllm_flags) or "-",
            )
        )
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        io.stdout.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")
    io.stdout.write(
        "\n* the default. Sizes are approximate (estimated from parameters and precision); fetch checks the real "
        "total.\n(?) a ModelScope id that follows Tencent's naming but is not confirmed: if ModelScope does not "
        "know it, give the right one.\nunverified: not yet started on the pinned vLLM release.\n"
    )
    return ExitStatus.OK


def _gb(value: float) -> str:
    return f"{value:g} GB" if value >= 1 else f"{value * 1000:g} MB"


# --- fetch ---------------------------------------------------------------------------------------------------------
def run_fetch(args: argparse.Namespace, io: ModelIO) -> int:
    progress = io.progress()
    if args.copy_from:
        if args.endpoint or args.token_file or args.hub != HUGGINGFACE or args.update:
            raise ModelUsageError(
                "--copy-from takes the files from a directory: --hub, --endpoint, --token-file and --update do not "
                "apply"
            )
        from hymt.model.hubs.local import DirectorySource

        hub: Hub = DirectorySource(args.copy_from)
        repo_id = args.repo_id
    else:
        settings = HubSettings.resolve(args.hub, args.endpoint, args.token_file, io.env)
        repo_id = hub_repo_id(args.repo_id, settings.hub, progress.note)
        hub = io.hub(settings, progress.note)
    request = FetchRequest(repo_id=repo_id, directory=args.dir, revision=args.revision, update=args.update)
    try:
        options = {"disk_usage": io.disk_usage} if io.disk_usage else {}
        result = fetch(request, hub, progress, **options)
    finally:
        progress.finish()
        hub.close()
    io.stdout.write(result.summary() + "\n")
    return ExitStatus.OK


def hub_repo_id(repo_id: str, hub: str, note: Callable[[str], None]) -> str:
    """The id to ask `hub` for: on ModelScope, the catalogue's ModelScope id of a Hugging Face id."""
    repo_id = repo_id.strip()
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        known = "" if catalogue.find(repo_id) is None else f" ({repo_id} is generated locally: make rehearsal-model)"
        raise ModelUsageError(
            f"{repo_id!r} is not a hub repository id (owner/name){known}",
            "give one such as tencent/Hunyuan-MT-7B ('hymt model list' shows the known ones)",
        )
    model = catalogue.find(repo_id)
    if hub != MODELSCOPE or model is None or repo_id.casefold() != model.model_id.casefold():
        return repo_id
    if not model.modelscope_id:
        raise ModelUsageError(
            f"the catalogue knows no ModelScope id for {repo_id}", "give the ModelScope repository id itself"
        )
    unconfirmed = "" if model.modelscope_confirmed else " (Tencent's naming, not confirmed)"
    note(f"ModelScope id of {repo_id}: {model.modelscope_id}{unconfirmed}")
    return model.modelscope_id


# --- check ---------------------------------------------------------------------------------------------------------
def run_check(args: argparse.Namespace, io: ModelIO) -> int:
    progress = io.progress()
    if args.adopt:
        return _adopt(args, io, progress)
    if args.revision or args.endpoint or args.token_file or args.hub != HUGGINGFACE:
        raise ModelUsageError("--hub, --revision, --endpoint and --token-file apply only with --adopt")
    report = check(args.dir, progress, hashes=not args.quick)
    if args.json:
        io.stdout.write(json.dumps(_report_json(report), indent=2, ensure_ascii=False) + "\n")
    if report.extra:
        progress.note(
            f"warning: {len(report.extra)} files are not in the manifest: {', '.join(report.extra[:5])}"
            + (" ..." if len(report.extra) > 5 else "")
        )
    if not report.ok:
        problems = "; ".join(str(problem) for problem in report.problems[:10])
        more = f" (and {len(report.problems) - 10} more)" if len(report.problems) > 10 else ""
        manifest = report.manifest
        raise Damaged(
            f"{report.directory} is not complete: {len(report.problems)} of {len(manifest.files)} files are missing, "
            f"short or corrupt: {problems}{more}",
            _repair_hint(report),
        )
    if not args.json:
        what = "sizes match (--quick: hashes not checked)" if args.quick else "every size and SHA-256 matches"
        io.stdout.write(
            f"{report.directory} holds {report.manifest.describe()}: {len(report.manifest.files)} files, "
            f"{human_size(report.manifest.total_size)}, {what}\n"
        )
    return ExitStatus.OK


def _repair_hint(report: CheckReport) -> str:
    manifest = report.manifest
    if manifest.is_local:
        return "copy the model again from where it came from (its manifest is local: there is no hub to ask)"
    hub = f" --hub {manifest.hub}" if manifest.hub != HUGGINGFACE else ""
    return (
        f"fetch the damaged files again: hymt model fetch {manifest.repo_id} --dir {report.directory}{hub} "
        "(the intact files are kept)"
    )


def _report_json(report: CheckReport) -> dict[str, object]:
    manifest = report.manifest
    return {
        "ok": report.ok,
        "directory": str(report.directory),
        "repo_id": manifest.repo_id,
        "hub": manifest.hub,
        "revision": manifest.revision,
        "commit": manifest.commit,
        "files": len(manifest.files),
        "total_size": manifest.total_size,
        "hashes_checked": report.hashed,
        "problems": [{"path": p.path, "kind": p.kind, "detail": p.detail} for p in report.problems],
        "extra": report.extra,
    }


def _adopt(args: argparse.Namespace, io: ModelIO, progress: Progress) -> int:
    if args.quick or args.json:
        raise ModelUsageError("--quick and --json do not apply with --adopt")
    if args.hub == HUB_LOCAL:
        if args.revision or args.endpoint or args.token_file:
            raise ModelUsageError(
                "--hub local records the files as they are: --revision, --endpoint and --token-file do not apply"
            )
        manifest = adopt_local(args.dir, args.adopt, progress)
        io.stdout.write(
            f"wrote a local manifest for {len(manifest.files)} files ({human_size(manifest.total_size)}) of "
            f"{args.dir}: 'hymt model check' now tells whether they change, not whether they match a hub\n"
        )
        return ExitStatus.OK
    settings = HubSettings.resolve(args.hub, args.endpoint, args.token_file, io.env)
    repo_id = hub_repo_id(args.adopt, settings.hub, progress.note)
    hub = io.hub(settings, progress.note)
    try:
        manifest, extra = adopt_from_hub(args.dir, hub, repo_id, args.revision, progress)
    finally:
        progress.finish()
        hub.close()
    if extra:
        progress.note(f"warning: {len(extra)} files are not in the hub's index and not in the manifest: {extra[:5]}")
    io.stdout.write(f"adopted {args.dir}: it holds {manifest.describe()}, every file matches the hub's index\n")
    return ExitStatus.OK
