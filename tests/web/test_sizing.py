"""Requests sized by the model's own tokenizer when HYMT_TOKENIZER_DIR holds it (the stack mounts the model there)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hymt.core.tokens import load_counter
from tests.support.net import free_port
from tests.support.tokenizer import ENGLISH_PARAGRAPHS, rehearsal_tokenizer_dir
from tests.web.conftest import gateway, settings_for, source_of

pytestmark = pytest.mark.anyio


async def test_with_the_models_tokenizer_no_request_exceeds_the_budget_as_the_model_counts(fake, tmp_path):
    directory, _ = rehearsal_tokenizer_dir(tmp_path)
    count = load_counter(directory).count
    budget = 60
    async with gateway(settings_for(fake, chunk_tokens=budget, tokenizer_dir=str(directory))) as client:
        info = (await client.get("/api/info")).json()
        response = await client.post(
            "/api/translate", json={"text": ENGLISH_PARAGRAPHS, "target": "fr", "source": "en"}
        )
    assert info["token_count"] == "tokenizer"
    assert response.status_code == 200
    sent = [source_of(body["messages"][0]["content"]) for body in fake.chat_requests()]
    assert max(count(text) for text in sent) <= budget
    fake.reset()
    # The estimate alone lets requests overflow: the model's count is what keeps them within the budget.
    async with gateway(settings_for(fake, chunk_tokens=budget)) as client:
        await client.post("/api/translate", json={"text": ENGLISH_PARAGRAPHS, "target": "fr", "source": "en"})
    assert max(count(source_of(body["messages"][0]["content"])) for body in fake.chat_requests()) > budget


def test_hymt_web_refuses_a_damaged_tokenizer_in_words(tmp_path):
    (tmp_path / "tokenizer.json").write_text("not json", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "hymt.cli.main", "web", "--port", str(free_port())],
        env={**os.environ, "HYMT_TOKENIZER_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "could not be read as a tokenizer" in result.stderr and "Traceback" not in result.stderr
