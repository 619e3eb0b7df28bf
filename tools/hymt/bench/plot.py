"""`hymt bench --plot`: latency and throughput against the load, as a PNG (matplotlib, the `bench` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed; the message says how to get it."""


def write_png(levels: Sequence[dict[str, object]], path: Path) -> None:
    """Two panels against the load (clients, or requests/s for an open loop): throughput, and latency percentiles."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, never a window
        from matplotlib import pyplot
    except ImportError:
        raise PlotUnavailable("--plot needs matplotlib: pip install 'hymt[bench]' (make setup installs it)") from None
    by_rate = levels[0]["max_concurrency"] is None
    xs = [float(level["request_rate" if by_rate else "max_concurrency"]) for level in levels]  # type: ignore[arg-type]
    figure, (throughput, latency) = pyplot.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    throughput.plot(xs, [level["output_throughput"] for level in levels], marker="o", label="output tokens/s")
    throughput.set_ylabel("output tokens/s")
    requests_axis = throughput.twinx()
    requests_axis.plot(
        xs, [level["request_throughput"] for level in levels], marker="s", color="tab:orange", label="requests/s"
    )
    requests_axis.set_ylabel("requests/s")
    throughput.set_title("Throughput")
    for name, style in (
        ("median_ttft_ms", "o-"),
        ("p99_ttft_ms", "o--"),
        ("median_e2el_ms", "s-"),
        ("p99_e2el_ms", "s--"),
    ):
        latency.plot(xs, [level[name] for level in levels], style, label=name.replace("_ms", "").replace("_", " "))
    latency.set_ylabel("ms")
    latency.set_title("Latency")
    latency.legend(fontsize="small")
    for axis in (throughput, latency):
        axis.set_xlabel("requests/s offered" if by_rate else "concurrent clients")
        if not by_rate and len(xs) > 1 and max(xs) / min(xs) >= 8:
            axis.set_xscale("log", base=2)
        axis.set_xticks(xs, [f"{x:g}" for x in xs])
        axis.grid(True, alpha=0.3)
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
