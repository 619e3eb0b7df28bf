"""What the two clients share (TranslationClient for an OpenAI-compatible server, WebTranslationClient for a deployed
web app): settings from the environment, one HttpTransport with the retry policy, closing, batch checks and the
thread pool that runs a batch."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any, ClassVar, Self, TypeVar

import requests

from hymt.sdk.errors import InvalidRequest
from hymt.sdk.retry import RetryPolicy
from hymt.sdk.transport import HttpTransport

Task = TypeVar("Task")


class BaseClient:
    """A client of one server. Subclasses name their settings type and build their transport.

    `session`, `sleep`, `jitter` and `clock` are there for tests (and for callers who bring their own
    `requests.Session`). Safe to use from several threads.
    """

    settings_type: ClassVar[Any]
    transport_type: ClassVar[type[HttpTransport]] = HttpTransport

    def __init__(
        self,
        settings: Any = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings if settings is not None else self.settings_type.from_env()
        s = self.settings
        self.transport = self.transport_type(
            s.base_url,
            timeout=s.timeout,
            retry=RetryPolicy.from_settings(s, sleep=sleep, random=jitter),
            session=session,
            pool_size=max(32, s.max_workers),
            clock=clock,
            **self._transport_options(),
        )
        self._clock = clock

    def _transport_options(self) -> dict[str, Any]:
        """What this client's transport takes besides the common options (credentials, headers ...)."""
        return {}

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, session: requests.Session | None = None, **overrides: object
    ) -> Self:
        """A client configured from the environment, with keyword overrides of its settings (None: not given)."""
        return cls(cls.settings_type.from_env(env, **overrides), session=session)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _batch_workers(self, texts: Iterable[str], max_workers: int | None) -> int:
        """The checked worker count of translate_many; InvalidRequest for a single string or a bad count."""
        if isinstance(texts, str):
            raise InvalidRequest("translate_many takes a list of texts", "use translate() for a single text")
        workers = self.settings.max_workers if max_workers is None else max_workers
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise InvalidRequest(f"max_workers must be a whole number of at least 1, not {workers!r}")
        return workers


def run_concurrently(work: Callable[[Task], None], tasks: list[Task], workers: int) -> None:
    """Run `work` on every task with `workers` threads; on the first failure cancel what has not started, raise it."""
    pool = ThreadPoolExecutor(max_workers=min(workers, len(tasks)), thread_name_prefix="hymt")
    futures: list[Future[None]] = []
    try:
        futures = [pool.submit(work, task) for task in tasks]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in futures if f in done and f.exception() is not None]
        if failed:
            raise failed[0].exception()  # type: ignore[misc]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
