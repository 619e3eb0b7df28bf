"""The model role shows hymt's own message when a check or fetch fails, with the host's paths."""

from __future__ import annotations

from hymt.provision import model

FAILED_CHECK = """\
hymt: checking config.json (127 B)
hymt: config.json: ok
hymt: checking model.safetensors (2.0 MB)
hymt: model.safetensors: corrupt
hymt: error: /models/tiny-mt is not complete: 1 of 6 files are missing, short or corrupt: model.safetensors: corrupt
hymt: hint: fetch the damaged files again: hymt model fetch hymt-test/tiny-mt --dir /models/tiny-mt
"""


def test_the_message_is_the_error_and_the_hint_with_the_hosts_paths():
    assert model.tool_message(FAILED_CHECK, "/models", "/srv/hymt/models") == (
        "hymt: error: /srv/hymt/models/tiny-mt is not complete: 1 of 6 files are missing, short or corrupt: "
        "model.safetensors: corrupt hymt: hint: fetch the damaged files again: hymt model fetch hymt-test/tiny-mt "
        "--dir /srv/hymt/models/tiny-mt"
    )


def test_without_an_error_line_the_last_lines_are_the_message():
    output = "\n".join(f"line {n}" for n in range(30))
    assert model.tool_message(output) == " ".join(f"line {n}" for n in range(15, 30))
    assert model.tool_message("") == "(it printed nothing)"


def test_the_summary_is_the_result_line_not_the_progress():
    output = "hymt: fetching a (1 B)\nhymt: a: verified\nfetched x into /models/x: 1 files\n"
    assert model.tool_summary(output) == "fetched x into /models/x: 1 files"
    assert model.tool_summary("") == ""
