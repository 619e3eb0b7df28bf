"""Fake deployments for `hymt verify`'s tests, built on the fake OpenAI server and the real gateway.

- Upstream answers (replies of tests/support/fake_openai.py): a translator that answers each sample in its target
  language (sentences written for these tests), an echo, a server answering in the wrong language, gibberish like the
  rehearsal model's.
- Front doors: a proxy with the stack's allowlist (a stand-in for compose/Caddyfile), one that also forwards vLLM's
  routes, and one that matches the allowlist on the raw path but forwards the decoded, normalised path; any of them
  may ask for a login as the stack's basic auth file makes Caddy do (everything but /healthz and /readyz).
- A fake host: a command runner that answers the commands the host checks send, from a table.
"""

from __future__ import annotations

import base64
import http.client
import posixpath
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from hymt.core.languages import LANGUAGES
from hymt.verify.commands import CommandResult, HostUnreachable
from hymt.verify.language import SAMPLES
from tests.support.net import QuietHandler, serve_http, stop_http

# Correct translations of the verify samples, written for these tests (what a working model answers).
TRANSLATIONS = {
    ("zh", "en"): "The weather is very nice today, let's go for a walk in the park together.",
    ("en", "zh"): "今天天气真好，我们一起去公园散散步吧。",
    ("en", "ar"): "الطقس جميل اليوم، فلنتمشى معًا في الحديقة.",
    ("en", "hi"): "आज मौसम बहुत अच्छा है, तो चलिए साथ में पार्क में टहलने चलते हैं।",
    ("zh", "ru"): "Сегодня прекрасная погода, давайте вместе прогуляемся по парку.",
    ("zh", "bo"): "དེ་རིང་གནམ་གཤིས་ཡག་པོ་འདུག ང་ཚོ་མཉམ་དུ་ལྡུམ་ར་ལ་འཆམ་འཆམ་ལ་འགྲོ།",
    ("en", "ja"): "今日はとても良い天気なので、一緒に公園を散歩しましょう。",
}
_TARGET = re.compile(r"(?:into (?P<en>[^,.]+)(?:,|\.)|翻译成(?P<zh1>[^，]+)，|翻译为(?P<zh2>[^，]+)，)")
_BY_NAME = {name: lang.code for lang in LANGUAGES for name in (lang.name_en, lang.name_zh)}


def _parse(prompt: str) -> tuple[str, str]:
    """(source code, target code) of a Hunyuan-MT prompt for one of the verify samples."""
    head, _, text = prompt.partition("\n\n")
    match = _TARGET.search(head)
    name = next((g for g in match.groups() if g), "") if match else ""
    source = next((code for code, sample in SAMPLES.items() if sample == text.strip()), "?")
    return source, _BY_NAME.get(name.strip(), "?")


def translating(prompt: str) -> str:
    source, target = _parse(prompt)
    return TRANSLATIONS.get((source, target), f"(no test translation for {source}->{target})")


def echoing(prompt: str) -> str:
    return prompt.partition("\n\n")[2]


def wrong_language(prompt: str) -> str:
    """Always Japanese (and Russian when Japanese is asked for): a model that ignores the target."""
    _, target = _parse(prompt)
    return TRANSLATIONS[("zh", "ru")] if target == "ja" else TRANSLATIONS[("en", "ja")]


def gibberish(prompt: str) -> str:
    """Like the rehearsal model: tokens that are no language, sharing nothing with the source."""
    return "qorv ĠzunÐ ĉkli wemb ĠĠtrq ßaxo lumbr ëpth"


# -- front doors -------------------------------------------------------------------------------------------------------
PUBLIC = re.compile(r"^(/|/index\.html|/favicon\.ico|/static/.*|/api/.*|/healthz|/readyz)$")
# What the stack's basic auth leaves open (roles/stack/templates/basic_auth.caddy.j2, without the compatible APIs).
OPEN_WITHOUT_LOGIN = ("/healthz", "/readyz")


@dataclass
class Proxy:
    """A front door in the stack's shape: the public allowlist to the web app, everything else 404 — unless told to
    forward the rest to vLLM (`forward_rest`), or to forward the decoded, normalised path (`normalise`)."""

    web: str  # base URL of the gateway
    vllm: str | None = None  # base URL of the (fake) vLLM server
    forward_rest: bool = False
    normalise: bool = False
    # Basic auth in front, a stand-in for the accounts file compose/Caddyfile imports: (user, password), and whether
    # any password of that user is let in (a broken accounts file).
    login: tuple[str, str] | None = None
    any_password: bool = False
    seen: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # the paths answered 401 for want of the login

    def start(self) -> Proxy:
        proxy = self

        class Handler(QuietHandler):
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall between

            def _handle(self) -> None:
                body = self.read_body()
                proxy.seen.append(self.path)
                raw = self.path.split("?", 1)[0]
                if proxy.login and raw not in OPEN_WITHOUT_LOGIN and not self._logged_in():
                    proxy.refused.append(self.path)
                    self._reply(401, {"WWW-Authenticate": 'Basic realm="restricted"'}, b"")
                    return
                forwarded = posixpath.normpath(unquote(raw)) if proxy.normalise else raw
                if PUBLIC.match(raw):
                    upstream = proxy.web
                    if proxy.normalise and not PUBLIC.match(forwarded):
                        upstream = proxy.vllm or proxy.web
                elif proxy.forward_rest and proxy.vllm:
                    upstream = proxy.vllm
                else:
                    self._reply(404, {"Content-Type": "text/plain"}, b"Not found")
                    return
                self._forward(upstream, forwarded, body)

            def _logged_in(self) -> bool:
                scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
                try:
                    user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
                except ValueError:
                    return False
                expected_user, expected_password = proxy.login or ("", "")
                return (
                    scheme.lower() == "basic"
                    and user == expected_user
                    and (proxy.any_password or password == expected_password)
                )

            def _forward(self, upstream: str, path: str, body: bytes | None) -> None:
                parts = urlsplit(upstream)
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                try:
                    connection.request(self.command, path, body=body, headers=headers)
                    answer = connection.getresponse()
                    data = answer.read()
                except OSError as error:
                    self._reply(502, {"Content-Type": "text/plain"}, f"upstream: {error}".encode())
                    return
                keep = {
                    k: v
                    for k, v in answer.getheaders()
                    if k.lower() not in ("transfer-encoding", "connection", "content-length")
                }
                connection.close()
                self._reply(answer.status, keep, data)

            def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
                # One request per connection: no race between a reused connection and the server closing it.
                self.close_connection = True
                self.reply(status, {**headers, "Connection": "close"}, data)

            do_GET = do_POST = _handle

        self._server = serve_http(Handler, "verify-proxy")
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        stop_http(self._server)


@contextmanager
def proxy(web: str, **options: object) -> Iterator[Proxy]:
    door = Proxy(web, **options).start()  # type: ignore[arg-type]
    try:
        yield door
    finally:
        door.stop()


# -- a fake host -------------------------------------------------------------------------------------------------------
Answer = CommandResult | Callable[[list[str]], CommandResult]


def ok(stdout: str = "", stderr: str = "") -> CommandResult:
    return CommandResult("", 0, stdout, stderr)


def fails(rc: int, stderr: str = "", stdout: str = "") -> CommandResult:
    return CommandResult("", rc, stdout, stderr)


@dataclass
class FakeHost:
    """Answers commands by the first rule whose words all appear, in order, in the command; records every command.
    Unknown commands answer 127 (as a shell does for a missing program)."""

    rules: list[tuple[Sequence[str], Answer]] = field(default_factory=list)
    description: str = "fake host"
    unreachable: str | None = None
    commands: list[tuple[list[str], bool]] = field(default_factory=list)

    def on(self, *words: str, answer: Answer) -> FakeHost:
        self.rules.insert(0, (words, answer))  # later rules win
        return self

    def run(self, argv: Sequence[str], *, sudo: bool = False, timeout: float = 120.0) -> CommandResult:
        if self.unreachable:
            raise HostUnreachable(self.unreachable)
        argv = list(argv)
        self.commands.append((argv, sudo))
        for words, answer in self.rules:
            if _in_order(words, argv):
                result = answer(argv) if callable(answer) else answer
                return CommandResult(" ".join(argv), result.rc, result.stdout, result.stderr)
        return CommandResult(" ".join(argv), 127, "", f"{argv[0]}: command not found")


def _in_order(words: Sequence[str], argv: Sequence[str]) -> bool:
    position = 0
    for word in words:
        try:
            position = argv.index(word, position) + 1
        except ValueError:
            return False
    return True
