"""The report: a line per check for people (grouped by what was checked), JSON for machines."""

from __future__ import annotations

import json

from hymt.verify.result import Status, Summary, exit_code
from hymt.verify.run import Report

MARKS = {Status.PASS: ("PASS", "32"), Status.FAIL: ("FAIL", "31"), Status.SKIP: ("SKIP", "33")}


def render_text(report: Report, color: bool = False) -> str:
    lines = [f"hymt verify: profile {report.profile}" + (" (strict: any skip fails)" if report.strict else "")]
    width = max((len(r.name) for r in report.results), default=0)
    current = None
    for result in report.results:
        if result.target != current:
            current = result.target
            lines.append(f"{current}")
        label, code = MARKS[result.status]
        if result.status is Status.SKIP and not report.strict and result.expected_by(report.profile):
            label = "skip"  # expected by the declared profile: lower case, not a problem
        if color:
            label = f"\033[{code}m{label}\033[0m"
        lines.append(f"  {label}  {result.name:<{width}}  {result.seconds:6.2f}s  {result.reason}")
    lines += [f"note: {note}" for note in report.notes]
    # A report runs to a hundred lines on a fleet: what stopped verification is repeated above the verdict, where the
    # last lines of a log (a CI job's, Ansible's) still show it.
    problems = [r for r in report.results if r.blocks(report.profile, report.strict)]
    if problems:
        lines.append("not verified because of:")
        lines += [f"  {MARKS[r.status][0]}  {r.target}: {r.name}: {r.reason}" for r in problems]
    summary = Summary.of(report.results, report.profile)
    verdict = "verified" if exit_code(report.results, report.profile, report.strict) == 0 else "NOT verified"
    lines.append(f"{summary.line()}: {verdict}")
    return "\n".join(lines)


def render_json(report: Report) -> str:
    summary = Summary.of(report.results, report.profile)
    code = exit_code(report.results, report.profile, report.strict)
    return json.dumps(
        {
            "profile": report.profile,
            "strict": report.strict,
            "url": report.url,
            "targets": report.targets,
            "ok": code == 0,
            "exit_code": code,
            "summary": {
                "passed": summary.passed,
                "failed": summary.failed,
                "skipped": summary.skipped,
                "skipped_unexpected": summary.skipped_unexpected,
            },
            "info": report.info,
            "notes": report.notes,
            "checks": [r.as_dict(report.profile) for r in report.results],
        },
        ensure_ascii=False,
        indent=2,
    )
