"""Entry point of the `hymt` command: builds the parser from the command modules and turns failures into exit codes.

Every command module exposes `register(subparsers)`, which adds its parser and sets `handler` (args -> exit code).
The user never sees a traceback (set HYMT_DEBUG=1 to get one for a bug report).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence

from hymt import __version__
from hymt.cli.output import report
from hymt.core.exit import ExitStatus
from hymt.sdk.errors import HymtError
from hymt.sdk.settings import DEFAULT_MODEL, DEFAULT_URL, ENV_ACCESS_KEY, ENV_API_KEY, ENV_MODEL, ENV_URL, ENV_WEB_URL

# The commands, in the order `hymt --help` lists them.
COMMAND_MODULES = (
    "hymt.cli.languages",
    "hymt.cli.translate",
    "hymt.cli.bench",
    "hymt.cli.verify",
    "hymt.cli.model",
    "hymt.cli.rehearsal_model",
)
# Commands whose module ships with another part of the project: registered only when the module is there.
OPTIONAL_COMMAND_MODULES = ("hymt.cli.web",)

EPILOG = f"""\
exit codes:
  0    success
  1    the translation failed: server unreachable, timeout, API key rejected, unknown model, server error
  2    usage error: unknown option or language code, empty text, source equal to target, invalid URL
  130  interrupted (Ctrl-C)
  141  the reader of the output went away (e.g. '| head')

environment (for --url, --api-key and --model; the web app reads the same names):
  {ENV_URL:<22} OpenAI-compatible base URL (default {DEFAULT_URL})
  {ENV_API_KEY:<22} API key the server was started with (default none)
  {ENV_MODEL:<22} served model name (default {DEFAULT_MODEL})
  {ENV_WEB_URL:<22} a deployed web app to translate through instead (--web; wins over {ENV_URL})
  {ENV_ACCESS_KEY:<22} a private web deployment's access key (--access-key; for --web and 'hymt verify')
  HYMT_VERIFY_URL        the deployment 'hymt verify' checks (--url)
  HYMT_VERIFY_PASSWORD   the password of 'hymt verify --login USER' (the site's basic auth)
  HYMT_DEBUG=1           show tracebacks of internal errors
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hymt",
        description="Translate with Hunyuan-MT on vLLM, and deploy and verify the service.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"hymt {__version__}")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for name in (*COMMAND_MODULES, *(m for m in OPTIONAL_COMMAND_MODULES if _module_exists(m))):
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]); returns the exit code."""
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse: --help, --version (0) and usage errors (2)
            return exc.code if isinstance(exc.code, int) else (ExitStatus.OK if exc.code is None else ExitStatus.USAGE)
        if args.command is None:
            parser.print_help(sys.stderr)
            return ExitStatus.USAGE
        code = args.handler(args)
        sys.stdout.flush()  # here, so that a closed pipe is noticed while we can still handle it
        return code
    except HymtError as exc:
        report(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nhymt: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        _discard_stdout()
        return ExitStatus.BROKEN_PIPE
    except UnicodeEncodeError:
        encoding = getattr(sys.stdout, "encoding", None) or "unknown"
        print(f"hymt: error: the output cannot show these characters in the {encoding} encoding", file=sys.stderr)
        print("hymt: hint: use a UTF-8 locale (export LANG=C.UTF-8), or PYTHONIOENCODING=utf-8", file=sys.stderr)
        return ExitStatus.FAILURE
    except Exception as exc:
        if os.environ.get("HYMT_DEBUG"):
            raise
        print(f"hymt: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("hymt: hint: run again with HYMT_DEBUG=1 for the details, and report it", file=sys.stderr)
        return ExitStatus.FAILURE


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _discard_stdout() -> None:
    """After the reader went away, point stdout at /dev/null so the interpreter's last flush fails no more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (tests capture it): nothing will be flushed to a closed pipe


if __name__ == "__main__":
    sys.exit(main())
