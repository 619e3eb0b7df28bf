"""`hymt languages`: the languages Hunyuan-MT translates, as a table or as JSON."""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata

from hymt.core.exit import ExitStatus
from hymt.core.languages import LANGUAGES

JSON_FIELDS = ("code", "name_en", "name_zh", "native", "rtl")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "languages",
        help=f"list the {len(LANGUAGES)} languages and their codes",
        description=f"The {len(LANGUAGES)} languages Hunyuan-MT translates between, and the codes --to/--from take.",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list of objects: " + ", ".join(JSON_FIELDS))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.json:
        rows = [{name: getattr(lang, name) for name in JSON_FIELDS} for lang in LANGUAGES]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return ExitStatus.OK
    header = ("CODE", "ENGLISH", "CHINESE", "DIRECTION", "NATIVE")
    rows = [(lang.code, lang.name_en, lang.name_zh, "rtl" if lang.rtl else "ltr", lang.native) for lang in LANGUAGES]
    widths = [max(_width(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        # The native name goes last: right-to-left names would otherwise disturb the columns after them.
        cells = [cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row[:-1])]
        sys.stdout.write("  ".join([*cells, row[-1]]) + "\n")
    return ExitStatus.OK


def _width(text: str) -> int:
    """Columns a terminal gives the text: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in {"W", "F"} else 1 for c in text)
