"""`hymt translate` with prompted features: --glossary FILE, --context TEXT|@FILE, --style, --format, --model-family;
and the SDK beneath it. What reaches the model is compared with prompts written out by hand (tests/unit/test_features.py
has every template)."""

from __future__ import annotations

import json

import pytest

from hymt.cli.main import main
from hymt.core.features import Features
from hymt.core.glossary import GlossaryError, parse_glossary
from hymt.sdk import ClientSettings, InvalidRequest, TranslationClient, WebSettings, WebTranslationClient
from tests.support.web_deployment import SHARED_BY_TESTS, deployment


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def prompt_of(fake) -> str:
    [sent] = fake.chat_requests()
    return sent["messages"][0]["content"]


# -- glossary files ----------------------------------------------------------------------------------------------------
def test_a_tsv_glossary_reaches_the_model(capsys, fake, tmp_path):
    fake.behaviour.model = "Hy-MT2-7B"
    terms = tmp_path / "terms.tsv"
    terms.write_text("# product names\nsource\ttarget\nHunyuan\t混元\n\nvLLM\tvLLM\n", encoding="utf-8")
    argv = ["translate", "Hunyuan läuft auf vLLM.", "--to", "fr", "--from", "de", "--url", fake.url]
    code, _, err = run(capsys, *argv, "--model", "Hy-MT2-7B", "--glossary", str(terms))
    assert (code, err) == (0, "")
    assert prompt_of(fake) == (
        "Reference the following translations:\nHunyuan translates to 混元\nvLLM translates to vLLM\n\nTranslate the "
        "following text into French. Note that you must ONLY output the translated result without any additional "
        "explanation:\n\nHunyuan läuft auf vLLM."
    )


def test_a_csv_glossary_with_a_quoted_comma():
    assert parse_glossary('"Tencent, Inc.",腾讯公司\nGPU,显卡\n', "terms.csv") == (
        ("Tencent, Inc.", "腾讯公司"),
        ("GPU", "显卡"),
    )


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("t.tsv", "a\tb\nc\td\te\n", "t.tsv, line 2: 3 columns where two are needed: the source term, a tab"),
        ("t.tsv", "a\tb\n\nonly one\n", "t.tsv, line 3: 1 column where two are needed"),
        ("t.csv", "a,b\n c , \n", "t.csv, line 2: an empty term"),
        ("t.csv", 'a,"b\n', "t.csv, line 1: not a CSV line"),
        ("t.tsv", "# nothing\n\n", "t.tsv has no term pairs"),
        ("t.tsv", "source\ttarget\n", "t.tsv has only a header"),
    ],
)
def test_a_bad_glossary_file_is_refused_naming_the_line(name, text, said):
    with pytest.raises(GlossaryError) as caught:
        parse_glossary(text, name)
    assert said in str(caught.value)


def test_a_bad_glossary_file_exits_2_before_anything_is_sent(capsys, fake, tmp_path):
    terms = tmp_path / "terms.tsv"
    terms.write_text("Hunyuan\t混元\nGPU 显卡\n", encoding="utf-8")
    argv = ["translate", "Hallo", "--to", "en", "--url", fake.url, "--model", "Hy-MT2-7B", "--glossary", str(terms)]
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert f"hymt: error: --glossary: {terms}, line 2: 1 column where two are needed" in err
    assert "Traceback" not in err
    missing = run(capsys, *argv[:-1], str(tmp_path / "nope.tsv"))
    assert missing[0] == 2 and "nope.tsv does not exist" in missing[2]
    assert fake.requests == []


# -- context, style, family --------------------------------------------------------------------------------------------
def test_context_from_a_file_reaches_an_hy_mt15_model(capsys, fake, tmp_path):
    fake.behaviour.model = "HY-MT1.5-7B"
    background = tmp_path / "context.txt"
    background.write_text("A weather report.", encoding="utf-8")
    argv = ["translate", "It is cold.", "--to", "zh", "--url", fake.url, "--model", "HY-MT1.5-7B"]
    assert run(capsys, *argv, "--context", f"@{background}")[0] == 0
    assert prompt_of(fake) == (
        "A weather report.\n参考上面的信息，把下面的文本翻译成中文，注意不需要翻译上文，也不要额外解释：\nIt is cold.\n"
    )
    missing = run(capsys, *argv, "--context", f"@{tmp_path / 'none.txt'}")
    assert missing[0] == 2 and "--context:" in missing[2] and "does not exist" in missing[2]


def test_a_renamed_model_needs_its_family_for_a_feature(capsys, fake):
    fake.behaviour.model = "translator"
    argv = ["translate", "Salut", "--to", "en", "--from", "fr", "--url", fake.url, "--model", "translator"]
    code, _, err = run(capsys, *argv, "--style", "formal")
    assert code == 2 and "is not in the model catalogue and no model family is set" in err
    assert fake.requests == []
    assert run(capsys, *argv, "--style", "formal", "--model-family", "hy-mt2")[0] == 0
    assert prompt_of(fake) == (
        "Please translate the following text into English. Note that the translation style must strictly conform to "
        "[formal]:\n\nSalut"
    )


def test_a_feature_the_family_lacks_exits_2_naming_the_families_that_have_it(capsys, fake):
    argv = ["translate", "Salut", "--to", "en", "--url", fake.url, "--style", "formal"]
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert "the hunyuan-mt prompts have no style template; the model families that have one: hy-mt2" in err
    assert fake.requests == []


def test_a_family_that_contradicts_the_catalogue_exits_2(capsys, fake):
    argv = ["translate", "Salut", "--to", "en", "--url", fake.url, "--model", "Hy-MT2-7B", "--model-family", "hy-mt1.5"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "of the hy-mt2 family" in err


# -- structured data and warnings --------------------------------------------------------------------------------------
def test_json_goes_whole_and_a_lost_key_is_warned_about(capsys, fake):
    fake.behaviour.model = "Hy-MT2-7B"
    fake.behaviour.reply = lambda prompt: '{\n  "titre": "Bonjour {name}"\n}'
    source = '{\n  "title": "Hello {name}"\n}'
    argv = ["translate", source, "--to", "fr", "--from", "en", "--url", fake.url, "--model", "Hy-MT2-7B"]
    code, out, err = run(capsys, *argv, "--format", "json")
    assert code == 0
    assert out == '{\n  "titre": "Bonjour {name}"\n}\n'  # printed as it came
    assert "hymt: warning: the translation may be damaged: the keys of $ changed: lost ['title']" in err
    assert len(fake.chat_requests()) == 1
    fake.reset()
    fake.behaviour.model = "Hy-MT2-7B"
    fake.behaviour.reply = lambda prompt: '{\n  "titre": "Bonjour {name}"\n}'
    code, out, _ = run(capsys, *argv, "--format", "json", "--json", "--stream")
    assert json.loads(out.splitlines()[-1])["warnings"] == ["the keys of $ changed: lost ['title'], gained ['titre']"]


def test_a_kept_translation_has_no_warning(capsys, fake):
    fake.behaviour.reply = lambda prompt: "Bonjour %s"
    code, out, err = run(capsys, "translate", "Hello %s", "--to", "fr", "--from", "en", "--url", fake.url, "--json")
    assert code == 0 and err == "" and "warnings" not in json.loads(out)


# -- the SDK: the web deployment gets the fields; HY-MT1.5's formatted form --------------------------------------------
def test_the_web_client_sends_the_features_and_reads_the_warnings(fake):
    fake.behaviour.model = "Hy-MT2-7B"
    fake.behaviour.reply = lambda prompt: "Bonjour"
    with deployment(fake, **SHARED_BY_TESTS) as url, WebTranslationClient(WebSettings(url)) as client:
        result = client.translate("Hello {name}", "fr", "en", features=Features(glossary=(("Hello", "Bonjour"),)))
    assert prompt_of(fake).startswith("Reference the following translations:\nHello translates to Bonjour\n\n")
    assert result.warnings == ("the placeholder {name} appears once in the source but 0 times in the translation",)


def test_the_web_client_refuses_what_the_web_api_has_not():
    with pytest.raises(InvalidRequest, match="no formatted"):
        WebTranslationClient(WebSettings("http://127.0.0.1:9")).translate("x", "en", features=Features(formatted=True))


def test_a_formatted_answer_comes_back_without_its_wrapper(fake):
    fake.behaviour.model = "HY-MT1.5-1.8B"
    fake.behaviour.reply = lambda prompt: "<target>请<sn>保存</sn>。</target>"
    with TranslationClient(ClientSettings(base_url=fake.url, model="HY-MT1.5-1.8B", retries=0)) as client:
        result = client.translate("Please <sn>save</sn>.", "zh", "en", features=Features(formatted=True))
        assert result.text == "请<sn>保存</sn>。"
        with pytest.raises(InvalidRequest, match="not streamed"):
            client.stream("Please <sn>save</sn>.", "zh", "en", features=Features(formatted=True))
