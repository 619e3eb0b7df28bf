"""Optional access control (HYMT_ACCESS_KEYS_FILE): off by default; with keys, a translation needs one, by Bearer token
or X-API-Key; 401 with WWW-Authenticate and words of what to do otherwise; the page, health and /api/info stay open;
a bad keys file stops the start naming its line; limits count per key; the key itself is never logged."""

from __future__ import annotations

import hashlib
import logging

import pytest

from hymt_web import Settings, SettingsError, access
from tests.support.gateway import refused_start
from tests.web.conftest import settings_for
from tests.web.test_errors import assert_error
from tests.web.test_fairness import app_for

pytestmark = pytest.mark.anyio

BODY = {"text": "Hello", "target": "fr", "source": "en"}
ALICE = "alice-3f9c1e7d2b8a4c6e9f0a1b2c3d4e5f60"
BOB = "bob-0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture
def keys_file(tmp_path):
    path = tmp_path / "access_keys"
    path.write_text(
        f"# the team's keys\n\n{digest(ALICE)} alice\n{digest(BOB).upper()}  bob's laptop \n", encoding="utf-8"
    )
    return str(path)


async def test_without_a_keys_file_everything_is_open(fake):
    async with app_for(settings_for(fake)) as connect:
        client = connect("198.51.100.7")
        info = (await client.get("/api/info")).json()
        answer = await client.post("/api/translate", json=BODY)
    assert info["access_key_required"] is False
    assert answer.status_code == 200


@pytest.mark.parametrize("route", ["/api/translate", "/api/translate/stream"])
async def test_a_translation_needs_a_key_and_says_how_to_send_it(fake, keys_file, route):
    async with app_for(settings_for(fake, access_keys_file=keys_file)) as connect:
        client = connect("198.51.100.7")
        missing = await client.post(route, json=BODY)
        wrong = await client.post(route, json=BODY, headers={"Authorization": "Bearer not-a-key"})
        basic = await client.post(route, json=BODY, headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
    error = assert_error(missing, 401, "access_key_required")
    assert "Authorization: Bearer <key>" in error["message"] and "X-API-Key" in error["message"]
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="hymt"'
    error = assert_error(wrong, 401, "invalid_access_key")
    assert "not accepted" in error["message"] and "not-a-key" not in wrong.text
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert_error(basic, 401, "access_key_required")  # a proxy's basic auth is not a key
    assert fake.chat_requests() == []  # refused before the model was asked


async def test_a_listed_key_translates_as_bearer_token_or_x_api_key(fake, keys_file):
    async with app_for(settings_for(fake, access_keys_file=keys_file)) as connect:
        client = connect("198.51.100.7")
        bearer = await client.post("/api/translate", json=BODY, headers={"Authorization": f"Bearer {ALICE}"})
        header = await client.post("/api/translate/stream", json=BODY, headers={"X-API-Key": BOB})
        lower = await client.post("/api/translate", json=BODY, headers={"authorization": f"bearer {BOB}"})
    assert bearer.status_code == 200 and bearer.json()["translation"]
    assert header.status_code == 200 and "event: done" in header.text
    assert lower.status_code == 200


async def test_the_page_health_info_and_languages_stay_open(fake, keys_file):
    async with app_for(settings_for(fake, access_keys_file=keys_file)) as connect:
        client = connect("198.51.100.7")
        answers = {path: await client.get(path) for path in ("/", "/static/app.js", "/healthz", "/api/languages")}
        info = await client.get("/api/info")
        schema = (await client.get("/api/openapi.json")).json()
    assert {path: r.status_code for path, r in answers.items()} == dict.fromkeys(answers, 200)
    assert info.status_code == 200 and info.json()["access_key_required"] is True
    assert 'id="access-key"' in answers["/"].text
    operation = schema["paths"]["/api/translate"]["post"]
    assert operation["security"] == [{"accessKey": []}, {"accessKeyHeader": []}]
    assert "401" in operation["responses"]


async def test_limits_count_per_key_not_per_address(fake, keys_file):
    """Alice's burst is hers wherever she connects from; Bob, from the same address, has his own."""
    async with app_for(settings_for(fake, access_keys_file=keys_file, client_burst=2, client_rate=1)) as connect:
        first, second = connect("198.51.100.7"), connect("203.0.113.9")
        alice = {"Authorization": f"Bearer {ALICE}"}
        spent = [await first.post("/api/translate", json=BODY, headers=alice) for _ in range(2)]
        elsewhere = await second.post("/api/translate", json=BODY, headers=alice)
        bob = await first.post("/api/translate", json=BODY, headers={"X-API-Key": BOB})
    assert [r.status_code for r in spent] == [200, 200]
    assert_error(elsewhere, 429, "too_many_requests")
    assert bob.status_code == 200


async def test_a_key_with_its_own_rate_is_held_to_it_while_others_keep_the_default(fake, tmp_path):
    """rate= and burst= at the end of a key's line: Alice may send 1 at once and 2 a minute; Bob keeps the settings'."""
    path = tmp_path / "keys"
    path.write_text(f"{digest(ALICE)} alice the tester rate=2 burst=1\n{digest(BOB)} bob\n", encoding="utf-8")
    async with app_for(settings_for(fake, access_keys_file=str(path), client_burst=5)) as connect:
        client = connect("198.51.100.7")
        alice = [await client.post("/api/translate", json=BODY, headers={"X-API-Key": ALICE}) for _ in range(2)]
        bob = [await client.post("/api/translate", json=BODY, headers={"X-API-Key": BOB}) for _ in range(5)]
    assert alice[0].status_code == 200
    error = assert_error(alice[1], 429, "too_many_requests")
    assert "more than 1 translations" in error["message"] and "2 a minute" in error["message"]
    assert alice[1].headers["Retry-After"] == "30"  # one request's worth at 2 a minute
    assert [r.status_code for r in bob] == [200] * 5


def test_a_keys_own_limits_are_read_from_the_end_of_its_line(tmp_path):
    path = tmp_path / "keys"
    lines = [f"{digest(ALICE)} alice  rate=10", f"{digest(BOB)} burst=3 rate=20", f"{'c' * 64} ci bot", "d" * 64]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    keys = access.AccessKeys.load(str(path)).keys
    assert [(k.label, k.rate, k.burst) for k in keys] == [
        ("alice", 10, None),
        ("key-" + digest(BOB)[:8], 20, 3),
        ("ci bot", None, None),  # a file without limits reads as before
        ("key-dddddddd", None, None),
    ]
    assert access.AccessKeys.load(str(path)).own_limits == {
        "key:alice": (10, None),
        f"key:key-{digest(BOB)[:8]}": (20, 3),
    }


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (f"{digest(ALICE)} alice rate=0", "line 1 of .* 'rate=0': give rate=N once"),
        (f"{digest(ALICE)} alice rate=fast", "'rate=fast'"),
        (f"{digest(ALICE)} alice burst=2 burst=3", "give burst=N once"),
        (f"{digest(ALICE)} team rate=5\n{digest(BOB)} team rate=6", "labelled 'team' with different rate or burst"),
    ],
)
def test_bad_limits_of_a_key_are_refused_naming_the_line(tmp_path, line, words):
    path = tmp_path / "keys"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=words):
        Settings.from_env({"HYMT_ACCESS_KEYS_FILE": str(path)})


async def test_guessing_keys_spends_the_addresses_allowance(fake, keys_file):
    async with app_for(settings_for(fake, access_keys_file=keys_file, client_burst=3, client_rate=1)) as connect:
        guesser = connect("198.51.100.66")
        guesses = [
            await guesser.post("/api/translate", json=BODY, headers={"X-API-Key": f"guess-{n}"}) for n in range(4)
        ]
    assert [r.status_code for r in guesses] == [401, 401, 401, 429]
    assert int(guesses[-1].headers["Retry-After"]) >= 1


async def test_the_log_names_the_label_and_never_the_key(fake, keys_file, caplog):
    caplog.set_level(logging.INFO, logger="hymt_web.access")
    async with app_for(settings_for(fake, access_keys_file=keys_file)) as connect:
        client = connect("198.51.100.7")
        await client.post("/api/translate", json=BODY, headers={"Authorization": f"Bearer {ALICE}"})
        await client.post("/api/translate", json=BODY, headers={"Authorization": "Bearer wrong-key-123"})
    said = caplog.text
    assert "'alice'" in said and "198.51.100.7" in said
    assert "unknown access key" in said
    assert ALICE not in said and "wrong-key-123" not in said


def test_every_digest_is_compared_in_constant_time(keys_file, monkeypatch):
    """hmac.compare_digest on the key's digest, against every entry, even after a match (no early exit)."""
    compared = []

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(access.hmac, "compare_digest", spy)
    keys = access.AccessKeys.load(keys_file)
    assert keys.match(ALICE).label == "alice"
    assert [b.hex() for _, b in compared] == [digest(ALICE), digest(BOB)]
    assert {a.hex() for a, _ in compared} == {digest(ALICE)}
    compared.clear()
    assert keys.match("nobody") is None and len(compared) == 2


def test_labels_default_to_the_digests_start(tmp_path):
    path = tmp_path / "keys"
    path.write_text(digest(ALICE) + "\n", encoding="utf-8")
    assert access.AccessKeys.load(str(path)).keys[0].label == "key-" + digest(ALICE)[:8]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (f"{digest(ALICE)} alice\n\n{ALICE} pasted the key itself\n", "line 3 of"),
        (f"{digest(ALICE)[:-1]}\n", "line 1 of"),
        (f"{digest(ALICE)} a\n{digest(ALICE)} b\n", "line 2 of .* repeats the digest of line 1"),
        ("# nothing but comments\n\n", "holds no key"),
        (b"\xff\xfe".decode("latin-1"), "is not UTF-8 text"),
    ],
)
def test_a_malformed_keys_file_is_refused_naming_the_line(tmp_path, content, words):
    path = tmp_path / "keys"
    path.write_bytes(content.encode("latin-1" if "UTF-8" in words else "utf-8"))
    with pytest.raises(SettingsError, match=words) as caught:
        Settings.from_env({"HYMT_ACCESS_KEYS_FILE": str(path)})
    assert ALICE not in str(caught.value)  # a key pasted by mistake is not echoed
    assert "sha256sum" in str(caught.value) or "UTF-8" in words or "repeats" in words


def test_a_missing_keys_file_is_named():
    with pytest.raises(SettingsError, match="/nowhere/keys does not exist"):
        Settings.from_env({"HYMT_ACCESS_KEYS_FILE": "/nowhere/keys"})


def test_the_server_refuses_to_start_with_a_bad_keys_file_without_a_traceback(tmp_path):
    path = tmp_path / "keys"
    path.write_text("not a digest\n", encoding="utf-8")
    assert "line 1 of" in refused_start({"HYMT_ACCESS_KEYS_FILE": str(path)})
