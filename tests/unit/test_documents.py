"""Whole files: taken apart into the pieces a model is given, put back together around their translations, and
`hymt translate --file` writing them (never over an existing file, nothing when a piece fails)."""

from __future__ import annotations

import io
import json

import pytest

from hymt.cli import document
from hymt.cli.main import main
from hymt.core.documents import DocumentError, read_document


def upper(doc):
    return doc.render([text.upper() for _, text in doc.units])


def test_txt_paragraphs_keep_blank_lines_and_indentation():
    doc = read_document("a.txt", "  First line\nsecond line\n\n\nNext.\n")
    assert doc.units == (("paragraph 1", "First line\nsecond line"), ("paragraph 2", "Next."))
    assert upper(doc) == "  FIRST LINE\nSECOND LINE\n\n\nNEXT.\n"


def test_markdown_keeps_code_fences_and_front_matter():
    text = "---\ntitle: Notes\n---\n\n# Title\n\nSome text.\n\n```sh\necho hello\n\nls\n```\n\n- one\n- two\n"
    doc = read_document("notes.md", text)
    assert [unit for _, unit in doc.units] == ["# Title", "Some text.", "- one\n- two"]
    assert upper(doc) == (
        "---\ntitle: Notes\n---\n\n# TITLE\n\nSOME TEXT.\n\n```sh\necho hello\n\nls\n```\n\n- ONE\n- TWO\n"
    )


def test_srt_translates_the_text_and_keeps_numbers_and_timings():
    text = "1\r\n00:00:01,000 --> 00:00:02,500\r\nHello\r\nthere\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nBye\r\n"
    doc = read_document("talk.srt", text)
    assert doc.units == (("subtitle 1 (line 1)", "Hello\r\nthere"), ("subtitle 2 (line 6)", "Bye"))
    assert doc.render(["Bonjour\r\nà vous", "Salut"]) == (
        "1\r\n00:00:01,000 --> 00:00:02,500\r\nBonjour\r\nà vous\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nSalut\r\n"
    )


def test_a_broken_srt_is_refused_naming_the_line():
    with pytest.raises(DocumentError, match=r"talk.srt, line 5: not the start of a subtitle"):
        read_document("talk.srt", "1\n00:00:01,000 --> 00:00:02,000\nHi\n\nno timing here\n")


def test_json_translates_string_values_only():
    text = (
        '{\n  "title": "Hello {name}",\n  "count": 3,\n  "home": "https://example.com",\n  "menu": ["Open", "42"]\n}\n'
    )
    doc = read_document("ui.json", text)
    assert doc.units == (("$.title", "Hello {name}"), ("$.menu[0]", "Open"))
    assert json.loads(doc.render(["Bonjour {name}", "Ouvrir"])) == {
        "title": "Bonjour {name}",
        "count": 3,
        "home": "https://example.com",
        "menu": ["Ouvrir", "42"],
    }


@pytest.mark.parametrize(("name", "said"), [("a.pdf", "cannot translate a .pdf file"), ("a.json", "is not valid JSON")])
def test_other_files_are_refused(name, said):
    with pytest.raises(DocumentError, match=said):
        read_document(name, "{")


# -- hymt translate --file ---------------------------------------------------------------------------------------------
def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_subtitle_file_is_translated_into_a_new_file(capsys, fake, tmp_path):
    fake.behaviour.reply = lambda prompt: "[fr] " + prompt.partition("\n\n")[2]
    source = tmp_path / "talk.srt"
    source.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n\n2\n00:00:03,000 --> 00:00:04,000\nBye {n}\n")
    out_path = tmp_path / "talk.fr.srt"
    code, out, err = run(
        capsys, "translate", "--file", str(source), "--to", "fr", "--from", "en", "--url", fake.url, "-o", str(out_path)
    )
    assert (code, out, err) == (0, "", "")
    assert out_path.read_text() == (
        "1\n00:00:01,000 --> 00:00:02,000\n[fr] Hello\n\n2\n00:00:03,000 --> 00:00:04,000\n[fr] Bye {n}\n"
    )
    assert len(fake.chat_requests()) == 2
    again = run(capsys, "translate", "--file", str(source), "--to", "fr", "--url", fake.url, "-o", str(out_path))
    assert again[0] == 2 and "exists already" in again[2]  # never over an existing file


def test_a_failed_piece_writes_nothing_and_names_the_piece(capsys, fake, tmp_path):
    fake.behaviour.fail_status = 500
    fake.behaviour.fail_count = -1
    source = tmp_path / "a.txt"
    source.write_text("One.\n\nTwo.\n")
    out_path = tmp_path / "a.fr.txt"
    argv = ["translate", "--file", str(source), "--to", "fr", "--url", fake.url, "--retries", "0", "-o", str(out_path)]
    code, _, err = run(capsys, *argv)
    assert code == 1 and "hymt: error: paragraph " in err
    assert not out_path.exists() and list(tmp_path.iterdir()) == [source]


def test_a_damaged_piece_is_warned_about_by_its_place(capsys, fake, tmp_path):
    fake.behaviour.reply = lambda prompt: "Bonjour"
    source = tmp_path / "ui.json"
    source.write_text('{"greeting": "Hello %s"}')
    code, out, err = run(capsys, "translate", "--file", str(source), "--to", "fr", "--from", "en", "--url", fake.url)
    assert code == 0 and json.loads(out) == {"greeting": "Bonjour"}
    assert "hymt: warning: $.greeting: the translation may be damaged: the placeholder %s appears once" in err


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["Hello"], "TEXT does not go with --file"),
        (["--stream"], "--stream does not go with --file"),
        (["--format", "json"], "--format does not go with --file"),
    ],
)
def test_options_that_do_not_go_with_a_file_exit_2(capsys, fake, tmp_path, extra, said):
    source = tmp_path / "a.txt"
    source.write_text("Hi")
    code, _, err = run(capsys, "translate", "--file", str(source), "--to", "fr", "--url", fake.url, *extra)
    assert code == 2 and said in err
    assert fake.requests == []


def test_the_progress_bar_counts_the_pieces_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    shown = Terminal()
    progress = document.UnitProgress(shown, "translating a.srt", 4)
    for _ in range(4):
        progress.advance()
    progress.close()
    assert shown.getvalue().split("\r")[-1] == "translating a.srt [" + "#" * 30 + "] 4/4\n"
    assert "[" + "#" * 7 + "-" * 23 + "] 1/4" in shown.getvalue()
    quiet = io.StringIO()
    document.UnitProgress(quiet, "x", 2).advance()
    assert quiet.getvalue() == ""  # not a terminal: no bar in logs
