"""Per-client fairness: a rate and a concurrency limit per client address (the proxy's word for it, believed only
from the proxy), 429 with Retry-After, the global cap still the last line; the schema states what is accepted."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from hymt.core.languages import AUTO, LANGUAGES
from hymt_web import Settings, SettingsError, create_app
from hymt_web.admission import Admission, client_of
from hymt_web.metrics import Metrics
from tests.web.conftest import settings_for
from tests.web.test_errors import assert_error

pytestmark = pytest.mark.anyio

BODY = {"text": "Hello", "target": "fr", "source": "en"}
PROXY = "10.1.2.3"


@asynccontextmanager
async def app_for(settings: Settings) -> AsyncIterator:
    """A running app and a factory of clients that connect from a given address."""
    app = create_app(settings)
    clients: list[httpx.AsyncClient] = []

    def connect(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://gateway")
        clients.append(client)
        return client

    async with app.router.lifespan_context(app):
        connect.app = app  # type: ignore[attr-defined]
        yield connect
        for client in clients:
            await client.aclose()


def assert_refused(response: httpx.Response, words: str) -> int:
    error = assert_error(response, 429, "too_many_requests")
    assert words in error["message"]
    assert int(response.headers["Retry-After"]) >= 1
    return int(response.headers["Retry-After"])


async def test_a_client_over_its_rate_gets_429_with_retry_after_and_others_go_on(fake):
    async with app_for(settings_for(fake, client_burst=3, client_rate=6)) as connect:
        greedy, other = connect("198.51.100.7"), connect("198.51.100.8")
        answers = [await greedy.post("/api/translate", json=BODY) for _ in range(3)]
        refused = await greedy.post("/api/translate/stream", json=BODY)
        others = await other.post("/api/translate", json=BODY)
        metrics = (await other.get("/metrics")).text
    assert [a.status_code for a in answers] == [200, 200, 200]
    # 6 a minute: the next request is allowed about 10 seconds after the burst.
    assert 8 <= assert_refused(refused, "Try again in") <= 10
    assert others.status_code == 200
    assert 'hymt_web_refused_total{reason="client_rate"} 1.0' in metrics
    assert len(fake.chat_requests()) == 4  # the refused request never reached the model


def test_the_allowance_comes_back_at_the_rate_and_idle_clients_are_forgotten():
    now = [0.0]
    admission = Admission(Settings(client_burst=2, client_rate=60), Metrics(), clock=lambda: now[0])
    admission.check_rate("a")
    admission.check_rate("a")
    with pytest.raises(Exception, match="Try again in 1 seconds"):
        admission.check_rate("a")
    now[0] += 1.0  # one a second
    admission.check_rate("a")
    for n in range(3000):  # a crowd of one-time clients does not grow the table without bound
        admission.check_rate(f"client-{n}")
        now[0] += 0.1
    assert len(admission.clients) < 1100


async def test_a_client_at_its_concurrency_cap_gets_429_while_others_are_served(fake):
    release = threading.Event()
    fake.behaviour.reply = lambda prompt: release.wait(10) and "fini"
    async with app_for(settings_for(fake, client_max_in_flight=2)) as connect:
        busy, other = connect("198.51.100.7"), connect("198.51.100.8")
        first = [asyncio.create_task(busy.post("/api/translate", json=BODY)) for _ in range(2)]
        while len(fake.chat_requests()) < 2:
            await asyncio.sleep(0.01)
        refused = await busy.post("/api/translate", json=BODY)
        served = asyncio.create_task(other.post("/api/translate", json=BODY))
        while len(fake.chat_requests()) < 3:
            await asyncio.sleep(0.01)
        release.set()
        done = await asyncio.gather(*first, served)
        after = await busy.post("/api/translate", json=BODY)
    assert_refused(refused, "2 translations under way, the limit per client")
    assert [r.status_code for r in done] == [200, 200, 200]
    assert after.status_code == 200


async def test_the_proxy_is_believed_about_the_client_and_nobody_else_is(fake):
    settings = settings_for(fake, client_burst=1, forwarded_allow_ips=f"{PROXY},192.0.2.0/24")
    async with app_for(settings) as connect:
        proxy, stranger = connect(PROXY), connect("203.0.113.50")
        # Through the proxy, two users are two clients, each with its own allowance.
        alice = await proxy.post("/api/translate", json=BODY, headers={"X-Forwarded-For": "198.51.100.1"})
        bob = await proxy.post("/api/translate", json=BODY, headers={"X-Forwarded-For": "198.51.100.2"})
        alice_again = await proxy.post("/api/translate", json=BODY, headers={"X-Forwarded-For": "198.51.100.1"})
        # A client that forges the header gets nothing from it: counted under its own address every time.
        forged = [
            await stranger.post("/api/translate", json=BODY, headers={"X-Forwarded-For": f"198.51.100.{n}"})
            for n in (10, 11)
        ]
        # A forged entry in front of the one the proxy appended does not help either.
        chained = await proxy.post(
            "/api/translate", json=BODY, headers={"X-Forwarded-For": "198.51.100.99, 198.51.100.2"}
        )
    assert (alice.status_code, bob.status_code) == (200, 200)
    assert_refused(alice_again, "Try again")
    assert forged[0].status_code == 200
    assert_refused(forged[1], "Try again")
    assert_refused(chained, "Try again")  # counted as 198.51.100.2 (bob), whose allowance is spent


def test_ipv6_clients_are_counted_per_64():
    assert client_of({"client": ("2001:db8:1:2:aaaa::1", 5)}) == client_of({"client": ("2001:db8:1:2:bbbb::9", 6)})
    assert client_of({"client": ("2001:db8:1:2::1", 5)}) != client_of({"client": ("2001:db8:1:3::1", 5)})
    assert client_of({"client": ("192.0.2.1", 5)}) == "192.0.2.1"
    assert client_of({}) == "unknown"


def test_the_new_limits_come_from_the_environment_and_bad_ones_are_named():
    settings = Settings.from_env(
        {
            "HYMT_CLIENT_RATE": "30",
            "HYMT_CLIENT_BURST": "5",
            "HYMT_CLIENT_MAX_IN_FLIGHT": "2",
            "HYMT_MAX_SEGMENTS": "16",
            "HYMT_FORWARDED_ALLOW_IPS": "172.16.0.0/12, 10.0.0.1",
        }
    )
    assert (settings.client_rate, settings.client_burst, settings.client_max_in_flight) == (30, 5, 2)
    assert settings.max_segments == 16 and settings.trusted_proxies == ["172.16.0.0/12", "10.0.0.1"]
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"HYMT_FORWARDED_ALLOW_IPS": "*", "HYMT_CLIENT_RATE": "0", "HYMT_MAX_SEGMENTS": "x"})
    message = str(caught.value)
    assert "HYMT_FORWARDED_ALLOW_IPS: '*' is not an IP address" in message
    assert "HYMT_CLIENT_RATE=0" in message and "HYMT_MAX_SEGMENTS='x'" in message


async def test_the_schema_states_the_real_limits_and_codes(fake):
    async with app_for(settings_for(fake, max_chars=1234)) as connect:
        response = await connect("127.0.0.1").get("/api/openapi.json")
    schema = response.json()
    request = schema["components"]["schemas"]["TranslateRequest"]
    assert request["additionalProperties"] is False and request["required"] == ["text", "target"]
    assert (request["properties"]["text"]["minLength"], request["properties"]["text"]["maxLength"]) == (1, 1234)
    codes = [lang.code for lang in LANGUAGES]
    assert request["properties"]["target"]["enum"] == codes
    assert request["properties"]["source"]["enum"] == [AUTO, *codes]
    for route in ("/api/translate", "/api/translate/stream"):
        assert {"413", "422", "429", "502", "503", "504"} <= set(schema["paths"][route]["post"]["responses"])
