"""The public half of `hymt verify` against fake deployments: the real gateway in front of a fake vLLM that
translates correctly, echoes the source, copies most of it, answers in the wrong language or in gibberish, and a
gateway that says it is a rehearsal. Each check's pass and fail path, and the exit code the user gets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from hymt.core.exit import ExitStatus
from hymt.verify.language import PAIRS
from hymt.verify.result import Status, exit_code
from hymt.verify.run import verify
from hymt.verify.settings import VerifySettings
from tests.support.fake_openai import running
from tests.support.web_deployment import deployment, front_door
from tests.verify import fakes


@contextmanager
def site(reply, profile: str = "gpu", web_settings: dict | None = None, **fake_options) -> Iterator[str]:
    """The real gateway (with HYMT_PROFILE=`profile`, and `web_settings`) in front of a fake vLLM answering with
    `reply`, behind a proxy with the stack's allowlist."""
    with site_behind(reply, profile, web_settings, **fake_options) as door:
        yield door.url


@contextmanager
def site_behind(
    reply, profile: str = "gpu", web_settings: dict | None = None, door: dict | None = None, **fake_options
) -> Iterator[fakes.Proxy]:
    """As site, yielding the proxy, made with the `door` options (e.g. a login)."""
    with (
        running(reply=reply, **fake_options) as fake,
        deployment(fake, profile=profile, **(web_settings or {})) as web,
        fakes.proxy(web, vllm=fake.root, **(door or {})) as proxy,
    ):
        yield proxy


def checked(url: str, profile: str | None = "gpu", strict: bool = False):
    report = verify(VerifySettings(url=url, profile=profile, strict=strict, timeout=60))
    statuses = {r.name: r for r in report.results}
    return report, statuses


def test_a_working_gpu_deployment_passes_every_check_and_exits_0():
    with site(fakes.translating) as url:
        report, checks = checked(url)
    assert {r.status for r in report.results} == {Status.PASS}, [r for r in report.results if r.status != "pass"]
    assert exit_code(report.results, "gpu") == ExitStatus.OK
    languages = [name for name in checks if name.startswith("language of")]
    assert len(languages) == len(PAIRS) >= 6
    assert checks["declared profile"].reason.startswith("profile gpu")


def test_verify_is_one_polite_client_that_waits_out_a_429():
    # A deployment taking one translation at a time from an address: verify's concurrent checks are refused (429 with
    # Retry-After) until they wait their turn, and the deployment is still verified.
    with site(fakes.translating, web_settings={"client_max_in_flight": 1}) as url:
        report, _ = checked(url)
    assert {r.status for r in report.results} == {Status.PASS}, [r for r in report.results if r.status != "pass"]


def test_the_pairs_cover_both_chinese_directions_rtl_cyrillic_indic_a_minority_and_no_chinese():
    from hymt.core.languages import CHINESE_CODES, get_language

    assert ("zh", "en") in PAIRS and ("en", "zh") in PAIRS
    targets = [get_language(target) for _, target in PAIRS]
    assert any(lang.rtl for lang in targets)
    assert {"cyrillic", "devanagari"} <= {lang.script for lang in targets}
    assert {"bo", "kk", "mn", "ug", "yue"} & {lang.code for lang in targets}
    assert any(s not in CHINESE_CODES and t not in CHINESE_CODES for s, t in PAIRS)


@pytest.mark.parametrize("profile", ["gpu", "rehearsal"])
def test_an_echo_server_fails_every_translation_in_every_profile(profile):
    with site(fakes.echoing, profile=profile) as url:
        report, checks = checked(url, profile=profile)
    for source, target in PAIRS:
        result = checks[f"translate {source}->{target}"]
        assert result.status is Status.FAIL and "repeats the source" in result.reason, result
    assert exit_code(report.results, profile) == ExitStatus.FAILURE


def test_an_answer_that_mostly_copies_the_source_fails():
    # The fake's default answer: "<target> translation of: <source text>".
    with site(lambda prompt: "Voici: " + prompt.partition("\n\n")[2]) as url:
        _, checks = checked(url)
    assert checks["translate en->ja"].status is Status.FAIL
    assert "copies 100% of the source" in checks["translate en->ja"].reason


def test_a_wrong_language_server_fails_the_language_checks_on_gpu():
    with site(fakes.wrong_language) as url:
        report, checks = checked(url)
    for source, target in PAIRS:
        assert checks[f"translate {source}->{target}"].status is Status.PASS
        assert checks[f"language of {source}->{target}"].status is Status.FAIL, checks[
            f"language of {source}->{target}"
        ]
    assert "not Chinese" in checks["language of en->zh"].reason
    assert "kana" in checks["language of en->zh"].reason
    assert exit_code(report.results, "gpu") == ExitStatus.FAILURE


def test_a_server_saying_it_is_a_rehearsal_fails_when_gpu_was_declared_and_its_answers_are_judged():
    # The case: a rehearsal gateway that echoes used to get "10 passed, 3 skipped" and exit 0.
    with site(fakes.echoing, profile="rehearsal") as url:
        report, checks = checked(url, profile=None)  # nothing declared: the default is gpu, never the server's word
    assert report.profile == "gpu"
    assert checks["declared profile"].status is Status.FAIL
    assert "the server says its profile is 'rehearsal'" in checks["declared profile"].reason
    assert exit_code(report.results, "gpu") == ExitStatus.FAILURE


def test_a_gpu_server_fails_the_profile_check_when_rehearsal_was_declared():
    with site(fakes.translating, profile="gpu") as url:
        _, checks = checked(url, profile="rehearsal")
    assert checks["declared profile"].status is Status.FAIL


def test_a_rehearsal_with_gibberish_answers_is_verified_with_expected_skips_and_strict_refuses_it():
    with site(fakes.gibberish, profile="rehearsal") as url:
        report, checks = checked(url, profile="rehearsal")
        strict, _ = checked(url, profile="rehearsal", strict=True)
    languages = [r for name, r in checks.items() if name.startswith("language of")]
    assert languages and all(r.status is Status.SKIP and r.expected_by("rehearsal") for r in languages)
    assert all(r.status is Status.PASS for name, r in checks.items() if not name.startswith("language of"))
    assert exit_code(report.results, "rehearsal") == ExitStatus.OK
    assert exit_code(strict.results, "rehearsal", strict=True) == ExitStatus.FAILURE


def test_gibberish_declared_as_gpu_fails_the_language_checks():
    with site(fakes.gibberish, profile="gpu") as url:
        _, checks = checked(url)
    languages = [r for name, r in checks.items() if name.startswith("language of")]
    assert all(r.status is Status.FAIL for r in languages), [r for r in checks.values() if r.status != "fail"]


def test_an_upstream_that_fails_fails_the_translations_and_readiness():
    with site(fakes.translating, healthy=False, fail_status=500, fail_count=-1) as url:
        _, checks = checked(url)
    assert checks["/readyz"].status is Status.FAIL
    assert checks["translate zh->en"].status is Status.FAIL
    assert checks["streaming"].status is Status.FAIL
    # The language checks could not judge: an unexpected skip, never a pass.
    assert checks["language of zh->en"].status is Status.SKIP and not checks["language of zh->en"].expected_by("gpu")


def test_a_site_that_is_not_hymt_fails_the_page_languages_and_error_checks():
    with front_door(200, '{"ok": true}', content_type="application/json") as door:
        _, checks = checked(door.url)
    for name in ("page loads", "38 languages", "error contract", "declared profile"):
        assert checks[name].status is Status.FAIL, checks[name]


def test_a_front_door_whose_app_is_down_fails_health_and_readiness():
    with front_door(502, "Bad Gateway", content_type="text/plain") as door:
        _, checks = checked(door.url)
    for name in ("page loads", "/healthz", "/readyz", "streaming"):
        assert checks[name].status is Status.FAIL, checks[name]
    assert "answered 502" in checks["/healthz"].reason
