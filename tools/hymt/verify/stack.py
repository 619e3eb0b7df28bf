"""The stack on a host: installed, every service running and healthy, not restarting, vLLM answering from inside the
host (it has no published port), the model directory complete, and room left on the disks.

vLLM sits on an internal network, so it is asked from inside the web container, with the web container's own
settings: the API key stays in that container's environment and is never on a command line nor in the output.
"""

from __future__ import annotations

import json
import posixpath

from hymt.provision.model import tool_message, tool_summary
from hymt.provision.preflight import mounts_from_df
from hymt.verify import cis
from hymt.verify.commands import CommandResult, Runner
from hymt.verify.host import Container, HostContext, docker_failure
from hymt.verify.result import CheckFailed, CheckSkipped
from hymt.verify.shape import WEB_CONTAINER_PORT, Shape

# Run with the web container's Python: asks vLLM's /health and /v1/models with the container's own key and served
# model name (new and old variable names), prints a JSON line without the key.
VLLM_INSIDE_SCRIPT = """
import json, os, urllib.error, urllib.request
base = os.environ.get("HYMT_UPSTREAM_URL", "http://vllm:8000/v1").rstrip("/")
key = os.environ.get("HYMT_API_KEY") or ""
model = os.environ.get("HYMT_SERVED_MODEL") or ""
def ask(url, key=""):
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + key} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except Exception as error:
        return 0, type(error).__name__ + ": " + str(error)
health, said = ask(base[: -len("/v1")] + "/health" if base.endswith("/v1") else base + "/health")
status, body = ask(base + "/models", key)
try:
    models = [item["id"] for item in json.loads(body)["data"]]
except Exception:
    models = []
print(json.dumps({"health": health, "health_said": said[:200] if not health else "", "models_status": status,
                  "models": models, "expected": model, "key_set": bool(key)}))
"""


def check_stack_installed(context: HostContext) -> str:
    """The stack's (or the edge's) directory holds the files its role writes there."""
    directory = context.settings.stack_dir
    what = "edge" if context.settings.shape is Shape.EDGE else "stack"
    deploy = "'make deploy' (the edge role)" if what == "edge" else "'make deploy'"
    found: set[str] = set()
    for folder in sorted({posixpath.dirname(name) for name in context.settings.stack_files}):
        listed = context.run(["ls", "-1A", posixpath.join(directory, folder, "")], sudo=True)
        if not listed.ok and not folder:
            raise CheckFailed(f"no {what} at {directory} on the host: deploy it ({deploy}).")
        found |= {posixpath.join(folder, name) for name in listed.stdout.split()} if listed.ok else set()
    missing = [name for name in context.settings.stack_files if name not in found]
    if missing:
        raise CheckFailed(f"{directory} lacks {', '.join(missing)}: the deploy did not finish; run {deploy}.")
    shown = {name for name in found if name in context.settings.stack_files or name.startswith(("compose", ".env"))}
    return f"{directory}: " + ", ".join(sorted(shown))


# Why a service must not run on a host of a shape (hymt.verify.shape.services_of): what the message says.
WHY_ABSENT = {
    Shape.BEHIND_EDGE: "a GPU host behind an edge leaves the proxy to the edge hosts (compose.backend.yaml keeps it "
    "off unless started with '--profile proxy'): stop it and run 'make deploy'",
    Shape.EDGE: "an edge host runs the proxy alone: remove the stack's other containers from it ('make teardown' on a "
    "host that was a GPU host)",
}


# How often the services check looks again at containers whose health check is still starting.
STARTING_POLL = 2.0


def _settled(context: HostContext) -> tuple[list[Container], float]:
    """The stack's containers once none of the host's services is "starting" any more, or as they are when
    starting_wait has run out; and the seconds waited."""
    containers, waited = context.containers, 0.0
    while waited < context.settings.starting_wait and any(
        c.health == "starting" and c.service in context.settings.services for c in containers
    ):
        context.sleep(STARTING_POLL)
        waited += STARTING_POLL
        containers = context.read_containers()
    return containers, waited


def check_services(context: HostContext) -> str:
    """Every service the host's shape runs has a running container, healthy where it has a health check; none of
    those it must not run is running. A health check still starting is waited for, up to starting_wait seconds."""
    problems, fine = [], []
    everything, waited = _settled(context)
    for service in context.settings.services:
        containers = [c for c in everything if c.service == service]
        if not containers:
            problems.append(f"{service}: no container")
            continue
        running = [c for c in containers if c.state == "running"]
        if not running:
            worst = containers[0]
            problems.append(f"{service}: {worst.state} (exit code {worst.exit_code}; docker logs {worst.name})")
            continue
        container = running[0]
        if container.health and container.health != "healthy":
            advice = "still loading (the model load takes minutes)" if container.health == "starting" else "failing"
            after = f" after {waited:g} s" if waited and container.health == "starting" else ""
            logs = f"docker logs {container.name}"
            problems.append(f"{service}: {container.health}{after}, health check {advice} ({logs})")
        else:
            fine.append(f"{service} {container.health or 'running (no health check)'}")
    for service in context.settings.absent_services:
        for container in everything:
            if container.service == service and container.state in ("running", "restarting"):
                problems.append(f"{service}: {container.name} runs, but {WHY_ABSENT[context.settings.shape]}")
    if problems:
        raise CheckFailed(
            f"Compose project {context.settings.compose_project!r}: "
            + "; ".join(problems)
            + ("; fine: " + ", ".join(fine) if fine else "")
        )
    return ", ".join(fine) + (f" (after {waited:g} s starting)" if waited else "")


def check_restarts(context: HostContext) -> str:
    containers = context.containers
    if not containers:
        raise CheckFailed(f"no container of Compose project {context.settings.compose_project!r}: the stack is not up.")
    limit = context.settings.max_restarts
    looping = [
        f"{c.service or c.name} {'is restarting now' if c.state == 'restarting' else f'restarted {c.restarts} times'}"
        for c in containers
        if c.state == "restarting" or c.restarts >= limit
    ]
    counts = ", ".join(f"{c.service or c.name} {c.restarts}" for c in containers)
    if looping:
        raise CheckFailed(
            "; ".join(looping) + f" (restarts: {counts}): a service that keeps dying; its log says why "
            "(docker logs <container>)."
        )
    return f"restarts: {counts}"


def cis_verdict(findings: list[cis.Finding], advice: str) -> str:
    """The passes and exceptions counted; CheckFailed naming every failed item, then `advice`."""
    failures, counted = cis.summary(findings)
    if failures:
        raise CheckFailed("; ".join(failures) + f" ({counted}). {advice}")
    return counted


def check_containers_cis(context: HostContext) -> str:
    """The running containers against the CIS Docker Benchmark's container items (hymt.verify.cis)."""
    running = [c.name for c in context.containers if c.state == "running"]
    if not running:
        raise CheckFailed(f"no running container of Compose project {context.settings.compose_project!r} to inspect.")
    inspected = context.docker("inspect", "--format", cis.INSPECT_FORMAT, *running)
    if not inspected.ok:
        raise CheckFailed(docker_failure(inspected))
    web_app = context.settings.web_app  # behind an edge: the web app on its private address (never on all of them)
    allowed = {"web": {(WEB_CONTAINER_PORT, web_app.address, str(web_app.port))}} if web_app and web_app.address else {}
    return cis_verdict(
        cis.container_findings(cis.parse_inspect(inspected.stdout), allowed),
        "The stack's compose files meet these: a local override or an edited compose file changed them "
        "(docs/security.md, 'Containers and daemon').",
    )


def check_daemon_cis(context: HostContext) -> str:
    """/etc/docker/daemon.json against the CIS Docker Benchmark's daemon items (hymt.verify.cis)."""
    read = context.run(["cat", cis.DAEMON_JSON], sudo=True)
    if not read.ok:
        raise CheckFailed(f"cannot read {cis.DAEMON_JSON} ({read.output(200)}): the docker role writes it; run "
                          "'make provision'.")  # fmt: skip
    try:
        config = json.loads(read.stdout or "{}")
    except ValueError:
        raise CheckFailed(f"{cis.DAEMON_JSON} is not JSON: run 'make provision' to rewrite it.") from None
    return cis_verdict(
        cis.daemon_findings(config if isinstance(config, dict) else {}),
        "The docker role writes these settings: 'make provision' (docker_daemon_options, docs/security.md).",
    )


def check_vllm_inside(context: HostContext) -> str:
    """vLLM's /health and /v1/models, asked from the web container (vLLM has no published port)."""
    web = context.service("web")
    if web is None:
        raise CheckFailed("no running web container to ask vLLM from: the stack is not up.")
    result = context.docker("exec", web.name, "python", "-c", VLLM_INSIDE_SCRIPT, timeout=60)
    if not result.ok:
        raise CheckFailed(docker_failure(result))
    try:
        said = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise CheckFailed(f"no answer from the check in {web.name}: {result.output(200)}") from None
    if said["health"] != 200:
        raise CheckFailed(
            f"vLLM's /health answered {said['health'] or said.get('health_said') or 'nothing'}: the engine is down "
            "or still loading (docker logs of the vllm container)."
        )
    if said["models_status"] == 401:
        raise CheckFailed("vLLM refused the web app's API key (401): HYMT_API_KEY differs between web and vllm.")
    if said["models_status"] != 200:
        raise CheckFailed(f"vLLM's /v1/models answered {said['models_status']}")
    if said["expected"] and said["expected"] not in said["models"]:
        raise CheckFailed(
            f"vLLM serves {said['models']}, but the web app asks for {said['expected']!r}: align "
            "hymt_served_model (vLLM's --served-model-name) with the web app's setting."
        )
    return f"/health 200; /v1/models lists {', '.join(said['models'])} (API key {'set' if said['key_set'] else 'none'})"


def model_check(runner: Runner, image: str, model_dir: str) -> CommandResult:
    """`hymt model check` of `model_dir`, run on the host in a container of the web image (no network, read-only)."""
    return runner.run(
        [
            "docker", "run", "--rm", "--pull", "never", "--network", "none",
            "--volume", f"{model_dir}:/model:ro", "--entrypoint", "hymt", image, "model", "check", "/model",
        ],
        sudo=True,
        timeout=1800,
    )  # fmt: skip


def check_model(context: HostContext) -> str:
    vllm = context.service("vllm", running=False)
    model_dir = (vllm.model_dir if vllm else "") or context.settings.model_dir
    if not model_dir:
        raise CheckFailed("the model directory is unknown: no vllm container mounts one and hymt_model_dir is unset.")
    web = context.service("web", running=False)
    image = (web.image if web else "") or context.settings.pins.web_image
    if not image or not context.image_present(image):
        raise CheckFailed(f"the web image {image or '(unpinned)'} is not on the host to run 'hymt model check' in.")
    result = model_check(context.runner, image, model_dir)
    said = f"{result.stdout}\n{result.stderr}"  # its lines, which the tool's summary and message are picked from
    if result.ok:  # its summary line, not its progress
        return f"{model_dir}: {tool_summary(said).replace('/model', model_dir, 1) or 'complete'}"
    if "invalid choice: 'model'" in said:
        raise CheckSkipped(f"the hymt in {image} has no 'model check' command yet: {model_dir} was not checked")
    message = tool_message(said, "/model", model_dir)
    raise CheckFailed(f"{model_dir} is not a complete model: {message} ('hymt model fetch' completes it)")


def check_disk(context: HostContext) -> str:
    """Free space on the file systems of the root, Docker's data, the model and the stack."""
    paths = ["/"]
    root_dir = context.docker("info", "--format", "{{.DockerRootDir}}")
    if root_dir.ok and root_dir.stdout.strip():
        paths.append(root_dir.stdout.strip())
    vllm = context.service("vllm", running=False)
    for path in ((vllm.model_dir if vllm else "") or context.settings.model_dir,):
        if path:
            paths.append(path)
    result = context.run(["df", "-B1", "--output=target,avail", *paths])  # as preflight reads it
    rows = {mount["mount"]: mount["size_available"] for mount in mounts_from_df(result.stdout)}
    if not rows:
        raise CheckFailed(f"df gave nothing to judge: {result.output(200)}")
    low = {mount: free for mount, free in rows.items() if free < context.settings.min_free_gb * 1024**3}
    shown = ", ".join(f"{mount} {free / 1024**3:.1f} GiB free" for mount, free in rows.items())
    if low:
        raise CheckFailed(
            f"below {context.settings.min_free_gb:g} GiB free: {shown}. Free space (docker system prune, old models) "
            "or grow the disk: logs, images and the engine's caches need room."
        )
    return shown
