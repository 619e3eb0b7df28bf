"""Each role's README.md, generated from its meta/argument_specs.yml (the one source of every variable's documentation
and default, as dev-sec's roles do): `make role-docs` writes them, `python -m hymt_dev.role_docs --check` (and
tests/unit/test_role_docs.py) fails when one is out of date or when a spec's default differs from defaults/main.yml.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from hymt_dev import REPO_ROOT

ROLES = REPO_ROOT / "roles"
HEADER = "<!-- Generated from meta/argument_specs.yml by `make role-docs`; edit the spec, not this file. -->"


def _text(value: object) -> str:
    """A description (a string or a list of paragraphs) as Markdown."""
    if isinstance(value, list):
        return "\n\n".join(" ".join(str(item).split()) for item in value)
    return " ".join(str(value or "").split())


def _default(option: dict) -> str:
    if "default" not in option:
        return "(required)" if option.get("required") else "(none)"
    value = option["default"]
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "`" + shown.replace("|", "\\|") + "`" if shown != "" else '`""`'


def render(role: Path) -> str:
    """The README of `role`, from its argument specs: main first, then any other entry point (tasks_from)."""
    specs = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]
    main = specs["main"]
    lines = [HEADER, f"# {role.name}", "", _text(main.get("short_description")), ""]
    description = _text(main.get("description"))
    if description:
        lines += [description, ""]
    lines += ["Its variables (public ones carry the role's name; set them in the inventory's group_vars or host_vars):"]
    lines += _options_table(main)
    for entry, spec in specs.items():
        if entry == "main":
            continue
        lines += ["", f"## tasks_from: {entry}", "", _text(spec.get("short_description")), ""]
        description = _text(spec.get("description"))
        if description:
            lines += [description, ""]
        lines += ["Its inputs:"]
        lines += _options_table(spec)
    return "\n".join(lines) + "\n"


def _options_table(spec: dict) -> list[str]:
    lines = ["", "| variable | type | default | description |", "|---|---|---|---|"]
    for name, option in (spec.get("options") or {}).items():
        kind = option.get("type", "str")
        if kind == "list" and option.get("elements"):
            kind = f"list of {option['elements']}"
        if option.get("choices"):
            kind += " (" + ", ".join(str(choice) for choice in option["choices"]) + ")"
        row = [f"`{name}`", kind, _default(option), _text(option.get("description")).replace("|", "\\|")]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def problems(role: Path) -> list[str]:
    """What is out of date for `role`: its README, or a spec default that differs from defaults/main.yml."""
    found = []
    readme = role / "README.md"
    if not readme.exists() or readme.read_text() != render(role):
        found.append(f"{readme.relative_to(REPO_ROOT)} is out of date: run 'make role-docs'")
    defaults_file = role / "defaults/main.yml"
    defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.exists() else {}
    specs = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]
    for name in defaults or {}:
        if name not in specs["main"].get("options", {}):
            found.append(f"{role.name}: {name} is in defaults/main.yml but not in meta/argument_specs.yml")
    for entry, spec in specs.items():
        for name, option in (spec.get("options") or {}).items():
            if name in (defaults or {}) and option.get("default") != defaults[name]:
                found.append(
                    f"{role.name}: {name}'s default is {option.get('default')!r} in meta/argument_specs.yml "
                    f"({entry}) but {defaults[name]!r} in defaults/main.yml"
                )
    return found


def roles() -> list[Path]:
    return sorted(path for path in ROLES.iterdir() if (path / "meta/argument_specs.yml").exists())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hymt_dev.role_docs", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only say what is out of date (exit 1 if anything is)")
    args = parser.parse_args(argv)
    if args.check:
        found = [problem for role in roles() for problem in problems(role)]
        for problem in found:
            print(f"role-docs: {problem}", file=sys.stderr)
        return 1 if found else 0
    for role in roles():
        (role / "README.md").write_text(render(role))
        print(f"role-docs: wrote {(role / 'README.md').relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
