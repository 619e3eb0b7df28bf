"""One host under check: its command runner, the settings that say where things live on it, and the facts several
checks share (the stack's containers, the host's GPUs), each gathered once.

Where the deployed stack lives is a parameter: the stack role installs it under /opt/hymt/stack/current (a link to the
active release directory, with the compose files and .env) as Compose project `hymt`; an edge host's proxy is in
/opt/hymt/edge, also as project `hymt` (hymt.verify.shape).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hymt.verify.commands import CommandResult, HostUnreachable, Runner
from hymt.verify.pins import ImagePins
from hymt.verify.result import CheckFailed, CheckResult, CheckSkipped, SkipKind, run_check
from hymt.verify.shape import STACK_FILES, Shape, WebApp

DEFAULT_STACK_DIR = "/opt/hymt/stack/current"
DEFAULT_COMPOSE_PROJECT = "hymt"
DEFAULT_SERVICES = ("vllm", "web", "proxy")
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


@dataclass(frozen=True)
class HostSettings:
    profile: str
    pins: ImagePins
    stack_dir: str = DEFAULT_STACK_DIR
    compose_project: str = DEFAULT_COMPOSE_PROJECT
    services: tuple[str, ...] = DEFAULT_SERVICES
    model_dir: str = ""  # where the model is when no vllm container says (the inventory's hymt_model_dir)
    min_free_gb: float = 5.0
    max_restarts: int = 3
    # Seconds a service's health check may still be "starting" before that counts against it (verify --wait): a web
    # app that a deploy just recreated serves before Docker has run its first health check.
    starting_wait: float = 0.0
    # The host's part in the deployment (hymt.verify.shape) and what that part means here.
    shape: Shape = Shape.SINGLE
    stack_files: tuple[str, ...] = STACK_FILES  # in stack_dir (a name with a slash: in its subdirectory)
    absent_services: tuple[str, ...] = ()  # services that must not run here (the proxy of a GPU host behind an edge)
    web_app: WebApp | None = None  # a GPU host behind an edge: where its web app must be published, and nothing else
    gpu_web_apps: tuple[WebApp, ...] = ()  # an edge host: the GPU hosts' web apps it must balance across


@dataclass(frozen=True)
class Container:
    name: str
    service: str
    state: str  # running, restarting, exited ...
    health: str  # healthy, unhealthy, starting, or "" without a health check
    restarts: int
    exit_code: int
    image: str
    model_dir: str  # the host directory mounted at /model ("" if none)


# docker inspect's view of a container, one tab-separated line, without its environment (where the API key is).
INSPECT_FORMAT = "\t".join(
    (
        "{{.Name}}",
        '{{index .Config.Labels "' + SERVICE_LABEL + '"}}',
        "{{.State.Status}}",
        "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
        "{{.RestartCount}}",
        "{{.State.ExitCode}}",
        "{{.Config.Image}}",
        '{{range .Mounts}}{{if eq .Destination "/model"}}{{.Source}}{{end}}{{end}}',
    )
)


def parse_inspect(output: str) -> list[Container]:
    containers = []
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) != 8:
            continue
        name, service, state, health, restarts, exit_code, image, model_dir = parts
        containers.append(
            Container(
                name=name.lstrip("/"),
                service=service,
                state=state,
                health=health,
                restarts=int(restarts) if restarts.isdigit() else 0,
                exit_code=int(exit_code) if exit_code.lstrip("-").isdigit() else 0,
                image=image,
                model_dir=model_dir,
            )
        )
    return containers


def docker_failure(result: CommandResult) -> str:
    """Why a docker command failed, in words."""
    said = result.output(300)
    if result.rc == 127 or "command not found" in said:
        return "Docker is not installed on the host: run 'make provision'."
    if "a password is required" in said or "a terminal is required" in said:
        return "sudo asks for a password on the host: the login user needs passwordless sudo (as Ansible does)."
    if "Cannot connect to the Docker daemon" in said or "Is the docker daemon running" in said:
        return "the Docker engine does not answer on the host: 'sudo systemctl status docker'."
    return f"'{result.command}' failed (exit {result.rc}): {said}"


@dataclass
class HostContext:
    """A host and what the checks found out about it so far."""

    name: str
    runner: Runner
    settings: HostSettings
    notes: list[str] = field(default_factory=list)
    # hymt.hostfacts.nvidia_gpus_from_nvidia_smi's, set by the nvidia-smi check (None: not run or no driver)
    gpus: list[dict] | None = None
    cuda: str = ""
    sleep: Callable[[float], None] = time.sleep  # between looks at containers still starting

    @property
    def profile(self) -> str:
        return self.settings.profile

    def run(self, argv: Sequence[str], *, sudo: bool = False, timeout: float = 120.0) -> CommandResult:
        return self.runner.run(argv, sudo=sudo, timeout=timeout)

    def docker(self, *args: str, timeout: float = 120.0) -> CommandResult:
        return self.run(["docker", *args], sudo=True, timeout=timeout)

    @functools.cached_property
    def containers(self) -> list[Container]:
        """The stack's containers (all states), by its Compose project label, as first read. CheckFailed when Docker
        fails."""
        return self.read_containers()

    def read_containers(self) -> list[Container]:
        """The stack's containers as they are now (a fresh look, not the one the checks share)."""
        project = self.settings.compose_project
        listed = self.docker("ps", "--all", "--quiet", "--no-trunc", "--filter", f"label={PROJECT_LABEL}={project}")
        if not listed.ok:
            raise CheckFailed(docker_failure(listed))
        ids = listed.stdout.split()
        if not ids:
            return []
        inspected = self.docker("inspect", "--format", INSPECT_FORMAT, *ids)
        if not inspected.ok:
            raise CheckFailed(docker_failure(inspected))
        return parse_inspect(inspected.stdout)

    def service(self, name: str, running: bool = True) -> Container | None:
        for container in self.containers:
            if container.service == name and (container.state == "running" or not running):
                return container
        return None

    def vllm_image(self) -> str:
        """The vLLM image this host runs (its vllm container's), else the one the profile pins."""
        vllm = self.service("vllm", running=False)
        if vllm and vllm.image:
            return vllm.image
        return self.settings.pins.vllm_cpu_image if self.profile == "rehearsal" else self.settings.pins.gpu_image

    def image_present(self, image: str) -> bool:
        return self.docker("image", "inspect", "--format", "{{.Id}}", image).ok


HostCheck = Callable[[HostContext], "str | list[CheckResult]"]


def run_host_check(name: str, check: HostCheck, context: HostContext) -> list[CheckResult]:
    """One check's results on this host; a broken SSH connection stops the host's checks (HostUnreachable)."""
    return run_check(name, lambda: check(context), context.name, propagate=(HostUnreachable,))


def no_gpu_skip(context: HostContext, why: str) -> CheckSkipped:
    """The rehearsal host has no GPU: an expected skip there (the gpu profile fails instead, before this is used)."""
    return CheckSkipped(f"skipped: no GPU ({why})", SkipKind.NO_GPU)
