"""POST /api/translate: what reaches the model, what comes back, and long texts in pieces."""

from __future__ import annotations

import contextlib
import threading

import pytest

from hymt.core.chunking import split_text
from hymt.core.languages import LANGUAGES
from hymt.core.prompts import build_prompt, chat_request
from tests.web.conftest import gateway, settings_for, source_of

pytestmark = pytest.mark.anyio


async def test_the_model_gets_the_core_prompt_and_sampling_and_nothing_else(fake):
    async with gateway(settings_for(fake)) as client:
        response = await client.post("/api/translate", json={"text": "Hello", "target": "fr", "source": "en"})
    assert response.status_code == 200
    [sent] = fake.chat_requests()
    assert sent == chat_request(build_prompt("Hello", "fr", "en"), fake.behaviour.model, source_text="Hello")
    # Spelled out as Tencent documents it: one user message (no system prompt) and the recommended sampling.
    assert sent["messages"] == [
        {
            "role": "user",
            "content": "Translate the following segment into French, without additional explanation.\n\nHello",
        }
    ]
    assert (sent["temperature"], sent["top_p"], sent["top_k"], sent["repetition_penalty"]) == (0.7, 0.6, 20, 1.05)
    assert sent["stream"] is False
    assert sent["model"] == fake.behaviour.model


async def test_chinese_on_either_side_uses_the_chinese_template(fake):
    async with gateway(settings_for(fake)) as client:
        await client.post("/api/translate", json={"text": "你好，世界", "target": "en"})
        await client.post("/api/translate", json={"text": "Good morning", "target": "zh-hant", "source": "EN"})
    prompts = [body["messages"][0]["content"] for body in fake.chat_requests()]
    assert prompts == [
        "把下面的文本翻译成英语，不要额外解释。\n\n你好，世界",
        "把下面的文本翻译成繁体中文，不要额外解释。\n\nGood morning",
    ]


async def test_hy_mt15_models_get_their_own_chinese_template(fake):
    fake.behaviour.model = "tencent/HY-MT1.5-7B"
    async with gateway(settings_for(fake)) as client:
        response = await client.post("/api/translate", json={"text": "Good morning", "target": "zh"})
    assert response.status_code == 200
    [sent] = fake.chat_requests()
    assert sent["messages"][0]["content"].startswith("将以下文本翻译为中文，注意只需要输出翻译后的结果")


async def test_the_answer_names_the_translation_source_target_model_and_time(fake):
    async with gateway(settings_for(fake)) as client:
        response = await client.post("/api/translate", json={"text": "你好，世界", "target": "en"})
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"translation", "source", "target", "model", "elapsed_ms", "output_tokens"}
    assert answer["translation"] == "英语 translation of: 你好，世界"
    assert answer["output_tokens"] == 6  # the model server's usage figure: 24 characters in pieces of 4
    assert answer["source"] == "zh"  # source defaults to auto and is detected
    assert answer["target"] == "en"
    assert answer["model"] == fake.behaviour.model
    assert isinstance(answer["elapsed_ms"], int) and answer["elapsed_ms"] >= 0


async def test_codes_are_accepted_in_any_case_and_answered_canonically(fake):
    async with gateway(settings_for(fake)) as client:
        response = await client.post("/api/translate", json={"text": "Hola", "target": "ZH_hant", "source": "ES"})
    assert response.status_code == 200
    assert (response.json()["source"], response.json()["target"]) == ("es", "zh-Hant")


async def test_every_language_is_a_target(fake):
    async with gateway(settings_for(fake, client_burst=len(LANGUAGES))) as client:
        for lang in LANGUAGES:
            source = "en" if lang.code != "en" else "fr"
            response = await client.post(
                "/api/translate", json={"text": "Peace", "target": lang.code, "source": source}
            )
            assert response.status_code == 200, response.text
            assert response.json()["target"] == lang.code
            expected = lang.name_zh if lang.code in ("zh", "zh-Hant", "yue") else lang.name_en
            assert response.json()["translation"] == f"{expected} translation of: Peace"


LONG_TEXT = (
    "The first paragraph has a few sentences. It goes on for a while, so that it needs more than one piece. "
    "Then it ends here.\n"
    "\n"
    "    An indented second paragraph follows after a blank line.\n"
    "A third line right below it, also long enough to be cut into pieces by the chunker.\r\n"
    "\n"
    "\n"
    "The end."
)


def uppercase_source(prompt: str) -> str:
    return source_of(prompt).upper()


async def test_long_text_is_translated_in_pieces_and_put_back_together_with_its_line_breaks(fake):
    fake.behaviour.reply = uppercase_source
    settings = settings_for(fake, chunk_tokens=12)
    plan = split_text(LONG_TEXT, settings.chunk_tokens)
    assert len(plan.segments) > 5  # the budget really splits the text
    async with gateway(settings) as client:
        response = await client.post("/api/translate", json={"text": LONG_TEXT, "target": "de", "source": "en"})
    assert response.status_code == 200
    # Every segment went to the model in its own request, with the core's prompt ...
    sent = sorted(source_of(body["messages"][0]["content"]) for body in fake.chat_requests())
    assert sent == sorted(plan.segments)
    # ... and the answers came back in place: paragraphs, blank lines, indentation and CRLF kept.
    assert response.json()["translation"] == LONG_TEXT.upper()
    # The output tokens are the model server's figures for all the requests, added up.
    assert response.json()["output_tokens"] == sum(-(-len(segment) // 4) for segment in plan.segments)


async def test_an_answer_without_a_usage_figure_gets_no_output_token_count(fake):
    fake.behaviour.plain_usage = False
    async with gateway(settings_for(fake)) as client:
        response = await client.post("/api/translate", json={"text": "Hello", "target": "fr", "source": "en"})
    assert response.status_code == 200
    assert "output_tokens" not in response.json()  # not a made-up 0: the model server did not count


async def test_the_pieces_of_a_long_text_are_translated_concurrently_up_to_the_limit(fake):
    lock = threading.Lock()
    running_now = 0
    most = 0
    all_arrived = threading.Barrier(3, timeout=10)

    def reply(prompt: str) -> str:
        nonlocal running_now, most
        with lock:
            running_now += 1
            most = max(most, running_now)
        with contextlib.suppress(threading.BrokenBarrierError):
            all_arrived.wait()  # times out (and the test fails) unless three requests are open at once
        with lock:
            running_now -= 1
        return source_of(prompt)

    fake.behaviour.reply = reply
    text = "\n\n".join(f"Line number {n} is here." for n in range(9))
    async with gateway(settings_for(fake, chunk_concurrency=3)) as client:
        response = await client.post("/api/translate", json={"text": text, "target": "fr", "source": "en"})
    assert response.status_code == 200
    assert len(fake.chat_requests()) == 9
    assert most == 3
    assert response.json()["translation"] == text
