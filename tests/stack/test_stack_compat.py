"""DeepL's and LibreTranslate's own clients against the rehearsal stack: the web app recreated with the compatible APIs
on (HYMT_COMPAT_APIS, an access keys file and a glossary mounted as the stack role mounts them), reached through
Caddy, answered by the real CPU vLLM; then the web app as it was. (tests/web/test_compat.py has every case against a
stand-in upstream; this is the one run through the whole stack that issue 14 asks for.)

The rehearsal model writes gibberish, so the answers are checked for being the model's (non-empty, not the source),
not for their words."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import deepl
import httpx
from libretranslatepy import LibreTranslateAPI

from tests.stack.conftest import REHEARSE, ROOT

KEY = "rehearsal-compat-3f9a1c7e"
TEXT = "The weather is nice today."


def _up_web(stack, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(REHEARSE), "compose", "up", "-d", "--no-deps", "--wait", "--wait-timeout", "300", "web"],
        env={**stack.env, **extra},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_deepl_and_libretranslate_clients_translate_through_the_rehearsal_stack(stack, tmp_path):
    # The stack directory as the role lays it out: the Caddyfile beside access/web (the web app's keys, glossaries).
    shutil.copy(ROOT / "compose/Caddyfile", tmp_path / "Caddyfile")
    access = tmp_path / "access/web"
    access.mkdir(parents=True)
    (tmp_path / "access/proxy").mkdir()
    (access / "keys").write_text(f"{hashlib.sha256(KEY.encode()).hexdigest()} rehearsal\n", encoding="utf-8")
    entries = [{"source": "weather", "target": "天气"}]
    glossary = {"terms": {"source_lang": "en", "target_lang": "zh", "entries": entries}}
    (access / "glossaries.json").write_text(json.dumps(glossary, ensure_ascii=False), encoding="utf-8")
    access.chmod(0o755)
    on = {
        "HYMT_STACK_DIR": str(tmp_path),
        "HYMT_COMPAT_APIS": "deepl,libretranslate",
        "HYMT_ACCESS_KEYS_FILE": "/etc/hymt/access/keys",
        "HYMT_GLOSSARIES_FILE": "/etc/hymt/access/glossaries.json",
    }
    try:
        up = _up_web(stack, **on)
        assert up.returncode == 0, up.stdout + up.stderr
        translator = deepl.Translator(KEY, server_url=stack.url)
        by_deepl = translator.translate_text(TEXT, source_lang="EN", target_lang="ZH-HANS")
        glossaries = [item.name for item in translator.list_glossaries()]
        libre = LibreTranslateAPI(stack.url + "/", api_key=KEY)
        by_libre = libre.translate(TEXT, "en", "fr")
        refused = httpx.post(f"{stack.url}/translate", json={"q": TEXT, "source": "en", "target": "fr"}, timeout=30)
    finally:
        back = _up_web(stack)
        assert back.returncode == 0, back.stdout + back.stderr
    assert by_deepl.text.strip() and by_deepl.text != TEXT, by_deepl.text
    assert by_libre.strip() and by_libre != TEXT, by_libre
    assert glossaries == ["terms"]
    assert refused.status_code in (400, 403) and "error" in refused.json(), refused.text  # no key, no translation
