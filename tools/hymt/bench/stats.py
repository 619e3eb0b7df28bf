"""The figures of one load level, named as vLLM's `vllm bench serve` names them where they mean the same."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

PERCENTILES = (50, 90, 99)


@dataclass
class Outcome:
    """One request: when it started, when pieces arrived (seconds), how many output tokens, or what went wrong."""

    started: float
    ended: float = 0.0
    first: float | None = None  # when the first piece of text arrived
    gaps: list[float] = field(default_factory=list)  # seconds between consecutive pieces
    output_tokens: int = 0
    error: str | None = None  # "http 429", "timeout", "connection", "stream error" ...

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def ttft(self) -> float:
        return (self.first if self.first is not None else self.ended) - self.started

    @property
    def e2el(self) -> float:
        return self.ended - self.started

    @property
    def tpot(self) -> float | None:
        """Time per output token after the first (vLLM's TPOT); None for answers of one token, and for answers not
        streamed (whose tokens all come at once)."""
        if self.first is None or self.output_tokens < 2:
            return None
        return (self.e2el - self.ttft) / (self.output_tokens - 1)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile with linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _series(name: str, seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    figures = {
        f"mean_{name}_ms": statistics.fmean(ms) if ms else 0.0,
        f"median_{name}_ms": statistics.median(ms) if ms else 0.0,
        f"std_{name}_ms": statistics.pstdev(ms) if ms else 0.0,
    }
    figures.update({f"p{p}_{name}_ms": percentile(ms, p) for p in PERCENTILES})
    return {key: round(value, 2) for key, value in figures.items()}


def summarise(
    outcomes: Sequence[Outcome],
    duration: float,
    *,
    max_concurrency: int | None,
    request_rate: float | None,
    goodput: Mapping[str, float] | None = None,
) -> dict[str, object]:
    """The level's figures: vLLM bench's field names for throughput and latency, plus errors by kind."""
    done = [o for o in outcomes if o.ok]
    output_tokens = sum(o.output_tokens for o in done)
    duration = max(duration, 1e-9)
    summary: dict[str, object] = {
        "max_concurrency": max_concurrency,
        "request_rate": request_rate,
        "duration": round(duration, 3),
        "completed": len(done),
        "failed": len(outcomes) - len(done),
        "errors": dict(sorted(Counter(o.error for o in outcomes if o.error).items())),
        "total_output_tokens": output_tokens,
        "request_throughput": round(len(done) / duration, 3),
        "output_throughput": round(output_tokens / duration, 2),
    }
    if goodput:
        good = [o for o in done if _meets(o, goodput)]
        summary["request_goodput"] = round(len(good) / duration, 3)
    summary.update(_series("ttft", [o.ttft for o in done]))
    summary.update(_series("tpot", [t for o in done if (t := o.tpot) is not None]))
    summary.update(_series("itl", [gap for o in done for gap in o.gaps]))
    summary.update(_series("e2el", [o.e2el for o in done]))
    return summary


def _meets(outcome: Outcome, slo: Mapping[str, float]) -> bool:
    """Whether a request met every target of `slo` (milliseconds for ttft, tpot and e2el)."""
    measured = {"ttft": outcome.ttft, "tpot": outcome.tpot or 0.0, "e2el": outcome.e2el}
    return all(measured[name] * 1000 <= limit for name, limit in slo.items())
