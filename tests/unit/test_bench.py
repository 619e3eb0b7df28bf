"""`hymt bench`: its figures against servers whose pace is known (the stand-in OpenAI server with set delays, and the
real gateway in front of it), its failures counted by kind, and its usage errors."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from hymt.bench.runner import Target, run_level
from hymt.bench.stats import Outcome, percentile, summarise
from hymt.bench.workload import SHORT, Request, built_in
from hymt.cli.main import main
from hymt.core.prompts import build_prompt, chat_request
from tests.support.certs import self_signed
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import QuietHandler, free_port, serve_http, stop_http
from tests.support.web_deployment import SHARED_BY_TESTS, deployment

VLLM_FIELDS = {
    "completed", "failed", "duration", "max_concurrency", "request_rate", "total_output_tokens",
    "request_throughput", "output_throughput", "mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms", "mean_itl_ms",
    "median_itl_ms", "p99_itl_ms", "mean_e2el_ms", "median_e2el_ms", "p99_e2el_ms", "mean_tpot_ms",
}  # fmt: skip


@pytest.fixture(scope="module")
def gateway(server: FakeOpenAI) -> Iterator[str]:
    with deployment(server, **SHARED_BY_TESTS) as url:
        yield url


def test_percentiles_interpolate_between_ranks_as_numpy_does():
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 90) == pytest.approx(3.7)
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 4.0
    assert percentile([], 99) == 0.0


def test_a_level_is_summarised_from_its_outcomes():
    fast = Outcome(started=0.0, first=0.1, ended=0.5, gaps=[0.1, 0.3], output_tokens=3)
    slow = Outcome(started=0.0, first=0.3, ended=1.5, gaps=[0.6, 0.6], output_tokens=3)
    failed = Outcome(started=0.0, ended=0.2, error="http 503")
    summary = summarise([fast, slow, failed], 2.0, max_concurrency=2, request_rate=None, goodput={"e2el": 1000})
    assert (summary["completed"], summary["failed"], summary["errors"]) == (2, 1, {"http 503": 1})
    assert summary["request_throughput"] == 1.0 and summary["output_throughput"] == 3.0
    assert summary["median_ttft_ms"] == 200.0 and summary["p99_e2el_ms"] == pytest.approx(1490.0)
    assert summary["mean_tpot_ms"] == 400.0  # (0.4 s and 1.2 s after the first token) / 2 tokens each
    assert summary["median_itl_ms"] == 450.0
    assert summary["request_goodput"] == 0.5  # only the fast one within 1,000 ms


def test_against_a_server_of_known_pace_the_figures_follow_it(fake):
    fake.behaviour.delay = 0.15  # before the first piece
    fake.behaviour.chunk_delay = 0.02  # between pieces
    target = Target(url=fake.url, api="openai", model=fake.behaviour.model)
    level = run_level(target, built_in()[:2], concurrency=2, count=4)
    summary = summarise(level.outcomes, level.duration, max_concurrency=2, request_rate=None)
    assert summary["completed"] == 4 and summary["failed"] == 0
    assert summary["median_ttft_ms"] >= 150
    assert 15 <= summary["median_itl_ms"] < 150
    # The stand-in sends no usage figure: each piece is a token, as vLLM streams them.
    assert all(o.output_tokens == 1 + len(o.gaps) for o in level.outcomes)
    sent = fake.chat_requests()
    assert len(sent) == 4 and all(body["stream"] and body["stream_options"] == {"include_usage": True} for body in sent)
    request = built_in()[0]
    prompt = build_prompt(request.text, request.target, request.source)
    assert sent[0]["messages"] == prompt.messages() or sent[1]["messages"] == prompt.messages()


def test_the_web_api_is_loaded_through_the_gateway(fake, gateway):
    fake.behaviour.chunk_delay = 0.01
    # Ten pieces of the model's, reaching the gateway three at a time: the gateway joins them into fewer events, and
    # its done event's count is what is counted. Sentences: one request to the model each.
    fake.behaviour.reply = lambda _prompt: "abcd" * 10
    fake.behaviour.pieces_per_write = 3
    sentences = [Request(text, code, "en" if code == "zh" else "zh") for code, text in SHORT.items()]
    level = run_level(Target(url=gateway, api="web"), sentences, concurrency=3, count=9)
    assert [o.error for o in level.outcomes] == [None] * 9
    assert [o.output_tokens for o in level.outcomes] == [10] * 9
    assert all(o.first is not None and len(o.gaps) < 9 for o in level.outcomes)  # fewer events than pieces
    assert len(fake.chat_requests()) >= 9


def test_failures_are_counted_by_kind_and_the_exit_code_says_so(capsys, fake):
    fake.behaviour.fail_status, fake.behaviour.fail_count = 503, -1
    code = main(["bench", "--url", fake.url, "--api", "openai", "--requests", "3", "--json"])
    out, err = capsys.readouterr()
    [summary] = json.loads(out)
    assert code == 1
    assert (summary["completed"], summary["failed"], summary["errors"]) == (0, 3, {"http 503": 3})
    assert "1 clients: 3 done, 3 failed" in err


def test_json_has_one_object_per_level_with_vllm_benchs_names(capsys, fake):
    code = main(["bench", "--url", fake.url, "--api", "openai", "--concurrency", "1,2", "--requests", "2",
                 "--json"])  # fmt: skip
    levels = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [level["max_concurrency"] for level in levels] == [1, 2]
    assert all(set(level) >= VLLM_FIELDS for level in levels)


def test_a_rate_sends_an_open_loop_of_requests(capsys, fake):
    code = main(["bench", "--url", fake.url, "--api", "openai", "--rate", "50", "--requests", "5"])
    out, _ = capsys.readouterr()
    assert code == 0 and out.startswith("rate 50.0/s: 5 completed")
    assert len(fake.chat_requests()) == 5


def test_input_lines_are_the_workload(capsys, fake, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("Good morning.\n\nSee you tomorrow.\n", encoding="utf-8")
    code = main(["bench", "--url", fake.url, "--api", "openai", "--input", str(texts), "--to", "de",
                 "--from", "en", "--requests", "2"])  # fmt: skip
    capsys.readouterr()
    assert code == 0
    contents = [body["messages"][-1]["content"] for body in fake.chat_requests()]
    assert any(c.endswith("Good morning.") for c in contents) and any(c.endswith("See you tomorrow.") for c in contents)


def test_a_fixed_answer_length_is_sent_as_vllm_bench_sends_it(capsys, fake):
    code = main(["bench", "--url", fake.url, "--api", "openai", "--requests", "2", "--max-tokens", "7",
                 "--ignore-eos"])  # fmt: skip
    capsys.readouterr()
    sent = fake.chat_requests()
    assert code == 0 and len(sent) == 2
    assert all(body["max_tokens"] == 7 and body["ignore_eos"] is True for body in sent)


def test_without_a_fixed_length_the_answer_length_is_the_gateways(capsys, fake):
    code = main(["bench", "--url", fake.url, "--api", "openai", "--requests", "1"])
    capsys.readouterr()
    [body] = fake.chat_requests()
    request = built_in()[0]
    expected = chat_request(build_prompt(request.text, request.target, request.source), "m", source_text=request.text)
    assert code == 0 and "ignore_eos" not in body and body["max_tokens"] == expected["max_tokens"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--concurrency", "1,x"], "--concurrency takes whole numbers"),
        (["--concurrency", "0"], "must be 1 or more"),
        (["--rate", "0"], "--rate must be above 0"),
        (["--goodput", "latency:5"], "--goodput takes ttft:MS"),
        (["--input", "/nonexistent/texts.txt"], "does not exist"),
        (["--max-tokens", "64"], "need --api openai"),
        (["--api", "openai", "--max-tokens", "0"], "--max-tokens must be 1 or more"),
        (["--api", "openai", "--ignore-eos"], "--ignore-eos needs --max-tokens"),
    ],
)
def test_bad_options_are_usage_errors_in_words(capsys, argv, words):
    code = main(["bench", "--url", "http://127.0.0.1:9/v1", *argv])
    err = capsys.readouterr().err
    assert code == 2 and words in err and "Traceback" not in err


def test_a_file_that_is_not_utf8_is_refused_in_words(capsys, tmp_path):
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1"))
    code = main(["bench", "--url", "http://127.0.0.1:9/v1", "--input", str(latin)])
    assert code == 2 and "is not UTF-8 text" in capsys.readouterr().err


def test_plot_writes_a_png_of_latency_and_throughput_against_the_load(capsys, fake, tmp_path):
    png = tmp_path / "bench.png"
    code = main(["bench", "--url", fake.url, "--api", "openai", "--concurrency", "1,2", "--requests", "2",
                 "--plot", str(png)])  # fmt: skip
    assert code == 0 and f"wrote {png}" in capsys.readouterr().err
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > height > 300


def test_plot_without_matplotlib_says_how_to_get_it(capsys, fake, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without the bench extra sees
    code = main(["bench", "--url", fake.url, "--api", "openai", "--requests", "1", "--plot", str(tmp_path / "b.png")])
    assert code == 2 and "pip install 'hymt[bench]'" in capsys.readouterr().err
    assert not (tmp_path / "b.png").exists()


def test_the_openai_benchmark_sends_the_models_own_sampling():
    url, body, _ = Target("http://gpu:8000/v1", api="openai", model="Hy-MT2-30B-A3B").http_request(
        Request("Guten Morgen", "de", "fr")
    )
    assert url == "http://gpu:8000/v1/chat/completions"
    assert (body["top_p"], body["top_k"], body["repetition_penalty"]) == (1.0, -1, 1.0)
    assert body["messages"][0]["content"].startswith("Translate the following text into French. Note that")


# ---- the client's failures, each counted by its kind -------------------------------------------------------------


def _one(target: Target) -> Outcome:
    [outcome] = run_level(target, built_in()[:1], concurrency=1, count=1).outcomes
    return outcome


@pytest.mark.parametrize("keep_alive", [False, True], ids=["connection-closed", "chunked-body-broken"])
def test_a_stream_that_breaks_off_is_cut_off(fake, keep_alive):
    fake.behaviour.drop_stream_after = 2  # the server dies after two pieces: no finish, no [DONE]
    fake.behaviour.keep_alive = keep_alive
    outcome = _one(Target(url=fake.url, api="openai", model=fake.behaviour.model))
    assert outcome.error == "stream cut off"
    assert outcome.first is not None  # the pieces before the break were timed


def test_a_silent_server_times_out(fake):
    fake.behaviour.stall_stream_after = 1
    fake.behaviour.stall_keepalive = False  # silence, as a hung engine
    outcome = _one(Target(url=fake.url, api="openai", model=fake.behaviour.model, timeout=0.3))
    assert outcome.error == "timeout"


def test_no_server_is_a_connection_error():
    outcome = _one(Target(url=f"http://127.0.0.1:{free_port()}/v1", api="openai"))
    assert outcome.error == "connection" and outcome.first is None


class StandIn:
    """A stand-in server answering every POST with `body` (an SSE stream) once `hold` requests are open at once, and
    recording the most it held open together; a request that waits 10 s for the others is answered 503."""

    def __init__(self, body: bytes, hold: int = 1) -> None:
        self.body, self.open, self.peak = body, 0, 0
        self.lock = threading.Lock()
        self.together = threading.Barrier(hold, timeout=10)
        stand_in = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                self.read_body()
                with stand_in.lock:
                    stand_in.open += 1
                    stand_in.peak = max(stand_in.peak, stand_in.open)
                try:
                    stand_in.together.wait()
                    status = 200
                except threading.BrokenBarrierError:
                    status = 503
                finally:
                    with stand_in.lock:  # counted as closed before the answer goes, so the next one cannot overlap it
                        stand_in.open -= 1
                self.reply(status, {"Content-Type": "text/event-stream"}, stand_in.body)

        self.server = serve_http(Handler, "bench-stand-in")
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *_: object) -> None:
        self.together.abort()
        stop_http(self.server)


OPENAI_ANSWER = (
    b'data: {"choices": [{"delta": {"role": "assistant", "content": ""}}]}\n\n'
    b'data: {"choices": [{"delta": {"content": "Guten"}}]}\n\n'
    b'data: {"choices": [{"delta": {"content": " Morgen"}, "finish_reason": "stop"}]}\n\n'
    b'data: {"choices": [], "usage": {"completion_tokens": 3}}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.mark.parametrize(
    ("api", "body", "error"),
    [
        ("openai", b'data: {"choices": [{"delta": {"content": "a"}}]}\n\ndata: {"error": {"message": "boom"}}\n\n',
         "stream error"),
        ("openai", b"data: not json\n\n", "stream error"),
        ("web", b'event: delta\ndata: {"text": "a"}\n\nevent: error\ndata: {"code": "upstream_error"}\n\n',
         "stream error"),
        ("openai", OPENAI_ANSWER.replace(b"data: [DONE]\n\n", b""), "stream cut off"),
        # [DONE] without its closing blank line: an event the stream never finished
        ("openai", OPENAI_ANSWER.replace(b"data: [DONE]\n\n", b"data: [DONE]"), "stream cut off"),
        ("web", b'event: delta\ndata: {"text": "a"}\n\n', "stream cut off"),
    ],
    ids=["openai-error-chunk", "openai-not-json", "web-error-event", "openai-no-done", "openai-done-unfinished",
         "web-no-done"],
)  # fmt: skip
def test_a_stream_that_fails_or_ends_early_is_counted_by_kind(api, body, error):
    with StandIn(body) as server:
        outcome = _one(Target(url=server.url + ("/v1" if api == "openai" else ""), api=api))
    assert outcome.error == error


def test_a_complete_stream_counts_its_usage_and_its_pieces():
    web = b'event: delta\ndata: {"text": "Guten"}\n\nevent: delta\ndata: {"text": " Morgen"}\n\n'
    with StandIn(OPENAI_ANSWER) as openai, StandIn(web + b'event: done\ndata: {"pieces": 5}\n\n') as gateway:
        direct = _one(Target(url=openai.url + "/v1", api="openai"))
        through = _one(Target(url=gateway.url, api="web"))
    assert (direct.error, direct.output_tokens, len(direct.gaps)) == (None, 3, 1)  # usage's 3, two pieces timed
    assert (through.error, through.output_tokens, len(through.gaps)) == (None, 5, 1)  # the done event's count


@pytest.mark.parametrize("clients", [1, 4, 16])
def test_the_closed_loop_keeps_exactly_its_clients_open(clients):
    # The stand-in answers only when `clients` requests are open together: a client that falls short gets 503s.
    with StandIn(OPENAI_ANSWER, hold=clients) as server:
        level = run_level(Target(url=server.url + "/v1", api="openai"), built_in(), concurrency=clients,
                          count=3 * clients)  # fmt: skip
    assert [o.error for o in level.outcomes] == [None] * 3 * clients
    assert server.peak == clients


def test_the_open_loop_sends_its_count_without_waiting_for_answers():
    # At 1,000 requests a second, all five are sent before any answer: the stand-in answers once five are open.
    with StandIn(OPENAI_ANSWER, hold=5) as server:
        level = run_level(Target(url=server.url + "/v1", api="openai"), built_in(), rate=1000, count=5)
    assert [o.error for o in level.outcomes] == [None] * 5
    assert server.peak == 5


def test_https_is_checked_against_requests_ca_bundle(tmp_path, monkeypatch):
    certificate, key = self_signed("hymt bench test", ip="127.0.0.1")
    (tmp_path / "cert.pem").write_bytes(certificate)
    (tmp_path / "key.pem").write_bytes(key)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = serve_http(_Answering, "bench-https", tls=tls)
    target = Target(url=f"https://127.0.0.1:{server.server_address[1]}/v1", api="openai")
    try:
        monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        untrusted = _one(target)  # certifi's bundle does not know the test's certificate
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "cert.pem"))
        trusted = _one(target)
    finally:
        stop_http(server)
    assert untrusted.error == "connection"
    assert trusted.error is None and trusted.output_tokens == 3


def test_a_ca_bundle_that_cannot_be_read_is_a_usage_error_in_words(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    code = main(["bench", "--url", "https://127.0.0.1:9/v1", "--api", "openai", "--requests", "1"])
    err = capsys.readouterr().err
    assert code == 2 and f"cannot read the certificates of {tmp_path / 'missing.pem'} (REQUESTS_CA_BUNDLE)" in err
    assert "Traceback" not in err


class _Answering(QuietHandler):
    def do_POST(self) -> None:
        self.read_body()
        self.reply(200, {"Content-Type": "text/event-stream"}, OPENAI_ANSWER)


def test_other_commands_start_without_the_bench_client():
    # aiohttp costs every command about 0.1 s to import: only `hymt bench` itself may pay for it.
    code = "import sys; from hymt.cli.main import build_parser; build_parser(); print('aiohttp' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_plain_requests_are_timed_as_whole_answers(fake):
    # The stand-in paces a plain answer as its stream: 0.05 s, then 0.02 s for each of the four pieces after the first.
    fake.behaviour.reply = lambda _prompt: "abcd" * 5
    fake.behaviour.delay, fake.behaviour.chunk_delay, fake.behaviour.pace_plain = 0.05, 0.02, True
    target = Target(url=fake.url, api="openai", model=fake.behaviour.model, stream=False)
    level = run_level(target, built_in()[:2], concurrency=2, count=4)
    assert [o.error for o in level.outcomes] == [None] * 4
    assert all(o.first is None and not o.gaps and o.tpot is None for o in level.outcomes)
    assert [o.output_tokens for o in level.outcomes] == [5] * 4  # the answer's usage figure
    assert all(o.ttft == o.e2el >= 0.13 for o in level.outcomes)
    sent = fake.chat_requests()
    assert len(sent) == 4 and all(body["stream"] is False and "stream_options" not in body for body in sent)


def test_plain_requests_through_the_gateway_get_its_plain_answer_and_the_model_servers_token_count(fake, gateway):
    fake.behaviour.reply = lambda _prompt: "abcd" * 5  # the stand-in's usage figure: 5 tokens
    sentences = [Request(text, code, "en" if code == "zh" else "zh") for code, text in SHORT.items()]
    level = run_level(Target(url=gateway, api="web", stream=False), sentences, concurrency=2, count=4)
    # A stream (/api/translate/stream) would be "bad answer": the plain route answered with a translation.
    assert [o.error for o in level.outcomes] == [None] * 4
    assert [o.output_tokens for o in level.outcomes] == [5] * 4  # the answer's output_tokens, the usage passed on


@pytest.mark.parametrize(
    ("api", "body"),
    [("openai", OPENAI_ANSWER), ("openai", b'{"choices": []}'), ("web", b'{"detail": "no translation"}'),
     ("web", b"<html>a login page</html>")],
    ids=["openai-a-stream", "openai-no-choice", "web-no-translation", "web-not-json"],
)  # fmt: skip
def test_a_plain_answer_that_is_not_the_apis_is_counted_as_bad(api, body):
    with StandIn(body) as server:
        outcome = _one(Target(url=server.url + ("/v1" if api == "openai" else ""), api=api, stream=False))
    assert outcome.error == "bad answer"


def test_no_stream_on_the_command_line_reports_whole_answers(capsys, fake):
    code = main(["bench", "--url", fake.url, "--api", "openai", "--requests", "3", "--no-stream", "--json"])
    [summary] = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["completed"] == 3
    assert summary["median_ttft_ms"] == summary["median_e2el_ms"] and summary["mean_itl_ms"] == 0.0
    assert [body["stream"] for body in fake.chat_requests()] == [False] * 3
