"""What counts as verified: a skip is never a pass; only the skips the declared profile expects keep exit 0, and
--strict refuses those too."""

from __future__ import annotations

import json

from hymt.core.exit import ExitStatus
from hymt.verify.report import render_json, render_text
from hymt.verify.result import SkipKind, Summary, exit_code, failed, passed, skipped
from hymt.verify.run import Report

NO_GPU = skipped("nvidia-smi on the host", "skipped: no GPU", SkipKind.NO_GPU, target="host-1")
GIBBERISH = skipped("language of zh->en", "rehearsal model", SkipKind.REHEARSAL_MODEL, target="web")
OTHER = skipped("model check", "no 'model check' command yet", target="host-1")
OK = passed("page loads", "fine", 0.1, "web")


def test_expected_skips_pass_only_on_the_profile_that_expects_them():
    assert exit_code([OK, NO_GPU, GIBBERISH], "rehearsal") == ExitStatus.OK
    assert exit_code([OK, NO_GPU], "gpu") == ExitStatus.FAILURE
    assert exit_code([OK, GIBBERISH], "gpu") == ExitStatus.FAILURE


def test_any_other_skip_fails_and_strict_fails_every_skip():
    assert exit_code([OK, OTHER], "rehearsal") == ExitStatus.FAILURE
    assert exit_code([OK, NO_GPU], "rehearsal", strict=True) == ExitStatus.FAILURE
    assert exit_code([OK], "gpu", strict=True) == ExitStatus.OK


def test_a_failure_fails_and_nothing_checked_is_not_verified():
    assert exit_code([OK, failed("x", "broken")], "gpu") == ExitStatus.FAILURE
    assert exit_code([], "gpu") == ExitStatus.FAILURE


def test_the_summary_counts_passed_failed_skipped_and_the_unexpected_skips():
    summary = Summary.of([OK, failed("x", "broken"), NO_GPU, OTHER], "rehearsal")
    assert summary.line() == "1 passed, 1 failed, 2 skipped (1 not expected by the profile)"


def test_json_lists_every_check_with_status_reason_time_and_whether_a_skip_was_expected():
    report = Report("rehearsal", False, "http://x", [OK, NO_GPU, OTHER], targets=["host-1"])
    data = json.loads(render_json(report))
    assert data["ok"] is False and data["exit_code"] == ExitStatus.FAILURE
    assert data["summary"] == {"passed": 1, "failed": 0, "skipped": 2, "skipped_unexpected": 1}
    assert [c["name"] for c in data["checks"]] == ["page loads", "nvidia-smi on the host", "model check"]
    first, no_gpu, other = data["checks"]
    assert first == {"target": "web", "name": "page loads", "status": "pass", "reason": "fine", "seconds": 0.1}
    assert no_gpu["status"] == "skip" and no_gpu["expected"] is True and no_gpu["skip_kind"] == "no-gpu"
    assert other["expected"] is False


def test_the_text_report_groups_by_target_and_ends_with_the_verdict():
    text = render_text(Report("rehearsal", False, "http://x", [OK, NO_GPU]))
    lines = text.splitlines()
    assert lines[0] == "hymt verify: profile rehearsal"
    assert "web" in lines and "host-1" in lines
    assert any(line.strip().startswith("skip  nvidia-smi on the host") for line in lines)
    assert lines[-1] == "1 passed, 0 failed, 1 skipped: verified"
    strict = render_text(Report("rehearsal", True, "http://x", [OK, NO_GPU]))
    assert strict.splitlines()[-1].endswith("NOT verified") and "SKIP  nvidia-smi" in strict


def test_what_keeps_a_run_from_being_verified_is_repeated_above_the_verdict():
    broken = failed("translation zh->en", "HTTP 502 from the proxy", target="https://mt.example")
    text = render_text(Report("rehearsal", False, "http://x", [broken, OK, NO_GPU, OTHER]))
    assert text.splitlines()[-4:] == [
        "not verified because of:",
        "  FAIL  https://mt.example: translation zh->en: HTTP 502 from the proxy",
        "  SKIP  host-1: model check: no 'model check' command yet",
        "1 passed, 1 failed, 2 skipped (1 not expected by the profile): NOT verified",
    ], text
    # The expected skip is not a problem on its profile; with --strict it is.
    assert "host-1: nvidia-smi" not in text.split("not verified because of:")[1]
    strict = render_text(Report("rehearsal", True, "http://x", [OK, NO_GPU]))
    assert "  SKIP  host-1: nvidia-smi on the host: skipped: no GPU" in strict.split("not verified because of:")[1]
    # A verified run has no such block.
    assert "not verified because of" not in render_text(Report("rehearsal", False, "http://x", [OK, NO_GPU]))
