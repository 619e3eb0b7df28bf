"""`hymt translate`: translate a text (an argument, or standard input) with a Hunyuan-MT server, or through a
deployed hymt web app (--web)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping

from hymt.cli import document
from hymt.cli.output import add_command, warn
from hymt.core.documents import KINDS
from hymt.core.exit import ExitStatus
from hymt.core.features import FORMATS, FeatureError, Features
from hymt.core.files import TextFileError, read_text_file
from hymt.core.glossary import GlossaryError, parse_glossary
from hymt.core.languages import AUTO
from hymt.core.prompts import ModelFamily
from hymt.sdk.client import TranslationClient
from hymt.sdk.errors import InvalidRequest
from hymt.sdk.result import Translation, Translator
from hymt.sdk.settings import (
    DEFAULT_MODEL,
    DEFAULT_URL,
    DEFAULT_WEB_READ_TIMEOUT,
    ENV_ACCESS_KEY,
    ENV_API_KEY,
    ENV_MODEL,
    ENV_URL,
    ENV_WEB_URL,
    WEB_URL_EXAMPLE,
    ClientSettings,
    WebSettings,
)
from hymt.sdk.web import WebTranslationClient

STDIN = "-"
DESCRIPTION = (
    "Translate TEXT with Hunyuan-MT on an OpenAI-compatible server such as vLLM, or through a deployed hymt web app "
    "(--web)."
)
EPILOG = f"""\
examples:
  hymt translate "Guten Morgen" --to en
  echo "早上好" | hymt translate - --to fr --stream
  hymt translate "Hello" --to zh --url http://gpu-host:8000/v1 --json
  hymt translate "Hello" --to zh --web {WEB_URL_EXAMPLE}
  hymt translate "Hunyuan runs fast." --to zh --model Hy-MT2-7B --glossary terms.tsv
  hymt translate - --to fr --model Hy-MT2-7B --format json < messages.json
  hymt translate --file talk.srt --to zh -o talk.zh.srt     # also .txt, .md and .json, with a progress bar

prompted features (one per request; only for the model families whose prompts have them, see docs/sdk.md):
  --glossary FILE  term pairs, one a line: source term, a tab (.tsv) or a comma (.csv), target term
  --context TEXT   text the translation takes into account, not translated (@FILE reads it from a file)
  --style TEXT     the style the translation must have (Hy-MT2)
  --format FORMAT  json, yaml, markdown or html: only user-visible text is translated, in one request (Hy-MT2)
  A translation that lost a placeholder ({{name}}, %s, {{{{var}}}}, ${{var}}), a key or a tag of the text is printed
  as it came, with a warning on standard error ("warnings" with --json).

--json prints {{"translation", "source", "target", "model", "elapsed_ms"}}; with --stream it prints one
{{"delta": "..."}} line per piece as it arrives, then that object.

servers:
  --url URL   an OpenAI-compatible server such as vLLM (e.g. through an SSH tunnel); hymt builds the prompts
              and splits long texts itself. Default: ${ENV_URL}, else {DEFAULT_URL}
  --web URL   a deployed hymt web app, by the address of its page (it talks to its /api): for public
              deployments, where vLLM is not exposed. The deployment chooses the model and splits long texts,
              so --api-key, --model and --model-family do not apply. A private deployment's access key: --access-key
              or ${ENV_ACCESS_KEY}. Credentials for a proxy in front of it go in the URL
              (https://user:password@host; prefer ${ENV_WEB_URL}: arguments show in 'ps').
  They exclude each other. An option wins over the environment, and ${ENV_WEB_URL} over ${ENV_URL}
  (which the web app itself reads, so an operator's environment often has it).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "translate", "translate a text", DESCRIPTION, EPILOG)
    parser.add_argument(
        "text", metavar="TEXT", nargs="?", help="the text to translate, or - to read it from standard input"
    )
    parser.add_argument(
        "--file", metavar="FILE", help=f"translate a whole {', '.join(KINDS)} file, keeping its structure (not TEXT)"
    )
    parser.add_argument(
        "--output", "-o", metavar="FILE", help="with --file: write the translation here (a new file), not to stdout"
    )
    parser.add_argument(
        "--to", dest="target", required=True, metavar="CODE", help="the language to translate into ('hymt languages')"
    )
    parser.add_argument(
        "--from",
        dest="source",
        default=AUTO,
        metavar="CODE",
        help="the text's language, or auto (default) to detect it",
    )
    server = parser.add_mutually_exclusive_group()
    server.add_argument(
        "--url", help=f"the server's OpenAI-compatible base URL (default: ${ENV_URL}, else {DEFAULT_URL})"
    )
    server.add_argument(
        "--web",
        metavar="URL",
        help=f"a deployed hymt web app to translate through, e.g. {WEB_URL_EXAMPLE} (default: ${ENV_WEB_URL})",
    )
    parser.add_argument(
        "--api-key", help=f"the server's API key (default: ${ENV_API_KEY}; prefer it: arguments show in 'ps')"
    )
    parser.add_argument(
        "--access-key",
        help=f"a private web deployment's access key (default: ${ENV_ACCESS_KEY}; prefer it: arguments show in 'ps')",
    )
    parser.add_argument("--model", help=f"the served model name (default: ${ENV_MODEL}, else {DEFAULT_MODEL})")
    parser.add_argument(
        "--model-family",
        "--family",
        dest="family",
        choices=[family.value for family in ModelFamily],
        help="the prompt family of a served name the model catalogue does not know (default: the catalogue's; a "
        "name it does not know gets plain translation with hunyuan-mt's prompts)",
    )
    parser.add_argument("--glossary", metavar="FILE", help="a TSV or CSV file of term pairs (source, target)")
    parser.add_argument("--context", metavar="TEXT|@FILE", help="text to take into account, not to translate")
    parser.add_argument("--style", metavar="TEXT", help="the style the translation must have (Hy-MT2)")
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="structured data to translate keeping its structure (Hy-MT2)"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="longest wait for the answer, or between streamed pieces "
        f"(default {ClientSettings.read_timeout:g}; with --web {DEFAULT_WEB_READ_TIMEOUT:g})",
    )
    parser.add_argument(
        "--retries",
        type=_count,
        metavar="N",
        help=f"retries on connection errors, 429 and 503, with growing waits (default {ClientSettings.retries})",
    )
    parser.add_argument("--stream", action="store_true", help="print the translation piece by piece as it arrives")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the bare translation")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = web_settings_from(args) if web_url_of(args) else settings_from(args)
    if args.file is not None:
        document.check_options(args)
        features = features_from(args)
        with build_client(settings) as client:
            document.translate_file(client, args, features)
        return ExitStatus.OK
    if args.text is None:
        raise InvalidRequest("there is nothing to translate", "give TEXT, - to read standard input, or --file FILE")
    if args.output is not None:
        raise InvalidRequest("--output goes with --file", "print a text's translation, or redirect it with >")
    features = features_from(args)
    text = read_text(args.text)
    with build_client(settings) as client:
        if args.stream:
            _print_stream(client, text, args, features)
        else:
            result = client.translate(text, args.target, args.source, features=features)
            if args.json:
                _write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
            else:
                _write(_line(result.text))
            _warn_about(result)
    return ExitStatus.OK


def features_from(args: argparse.Namespace) -> Features:
    """The prompted features of --glossary, --context, --style and --format; InvalidRequest says what is wrong."""
    glossary: tuple[tuple[str, str], ...] = ()
    if args.glossary:
        try:
            glossary = parse_glossary(read_text_file(args.glossary), args.glossary)
        except TextFileError as error:
            raise InvalidRequest(f"--glossary: {error}", "give a UTF-8 TSV or CSV file of term pairs") from None
        except GlossaryError as error:
            raise InvalidRequest(f"--glossary: {error}") from None
    context = args.context or ""
    if context.startswith("@"):
        try:
            context = read_text_file(context[1:])
        except TextFileError as error:
            raise InvalidRequest(f"--context: {error}", "give the text itself, or @ and a UTF-8 file") from None
    try:
        return Features(glossary=glossary, context=context, style=args.style or "", format=args.format)
    except FeatureError as error:
        raise InvalidRequest(str(error)) from None


def settings_from(args: argparse.Namespace) -> ClientSettings:
    """Options first, then the environment, then the defaults."""
    if args.access_key is not None:
        raise InvalidRequest(
            "--access-key is for a web deployment (--web), not an OpenAI-compatible server",
            "pass --web with the deployment's address, or --api-key for the server's own API key",
        )
    overrides: dict[str, object] = {
        "base_url": args.url,
        "api_key": args.api_key,
        "model": args.model,
        "family": args.family,
        "retries": args.retries,
    }
    if args.timeout is not None:
        overrides["read_timeout"] = args.timeout
        overrides["connect_timeout"] = min(args.timeout, ClientSettings.connect_timeout)
    return ClientSettings.from_env(**overrides)


def web_url_of(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> str | None:
    """The web deployment to talk to, or None for an OpenAI-compatible server.

    --web, then --url (which means "not a web deployment"), then $HYMT_WEB_URL, which wins over $HYMT_UPSTREAM_URL.
    """
    if args.web is not None:
        return args.web
    if args.url is not None:
        return None
    env = os.environ if env is None else env
    return env.get(ENV_WEB_URL, "").strip() or None


def web_settings_from(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> WebSettings:
    """Settings for a web deployment: options first, then the environment, then the defaults."""
    for option, value in (("--api-key", args.api_key), ("--model", args.model), ("--model-family", args.family)):
        if value is not None:
            if args.web is not None:
                hint = f"drop {option}, or use --url instead of --web to talk to an OpenAI-compatible server"
            else:
                hint = f"${ENV_WEB_URL} selects a web deployment: drop {option}, or pass --url"
            raise InvalidRequest(
                f"{option} does not apply to a web deployment: it chooses its model and holds vLLM's API key "
                "(a private deployment's key is --access-key)",
                hint,
            )
    overrides: dict[str, object] = {
        "base_url": web_url_of(args, env),
        "retries": args.retries,
        "access_key": args.access_key,
    }
    if args.timeout is not None:
        overrides["read_timeout"] = args.timeout
        overrides["connect_timeout"] = min(args.timeout, WebSettings.connect_timeout)
    return WebSettings.from_env(env, **overrides)


def build_client(settings: ClientSettings | WebSettings) -> Translator:
    """The client for these settings: an OpenAI-compatible server's, or a web deployment's."""
    if isinstance(settings, WebSettings):
        return WebTranslationClient(settings)
    return TranslationClient(settings)


def read_text(argument: str) -> str:
    if argument != STDIN:
        return argument
    if sys.stdin is None:
        raise InvalidRequest("there is no standard input to read the text from", "give the text as an argument")
    if sys.stdin.isatty():
        print("hymt: reading the text from standard input; end it with Ctrl-D", file=sys.stderr)
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:
        return sys.stdin.read()
    try:
        return buffer.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            f"standard input is not UTF-8 text (byte {exc.start})", "convert it first, e.g. with iconv -t UTF-8"
        ) from None


def _print_stream(client: Translator, text: str, args: argparse.Namespace, features: Features) -> None:
    with client.stream(text, args.target, args.source, features=features) as stream:
        last = ""
        for piece in stream:
            if args.json:
                _write(json.dumps({"delta": piece}, ensure_ascii=False) + "\n")
            else:
                _write(piece)
            last = piece or last
        result = stream.result
    if args.json:
        _write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
    elif not last.endswith("\n"):
        _write("\n")
    _warn_about(result)


def _warn_about(result: Translation) -> None:
    if result.truncated:
        warn("the answer reached its max_tokens limit: the translation may be cut short")
    for warning in result.warnings:
        warn(f"the translation may be damaged: {warning}")


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _line(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError("the timeout must be more than 0 seconds")
    return seconds


def _count(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if count < 0:
        raise argparse.ArgumentTypeError("the number of retries cannot be negative")
    return count
