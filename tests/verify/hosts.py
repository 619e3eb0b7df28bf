"""Fake hosts for the host half: a FakeHost runner answering like a GPU server, the rehearsal host, a host without a
GPU, a driver too old for the image, a stack whose containers are unhealthy or restarting; and the scale-out shapes: a
GPU server behind an edge, an edge host, a fleet of both."""

from __future__ import annotations

import copy
import json

import yaml

from hymt.provision import docker_daemon
from hymt.verify import cis, edge
from hymt.verify.gpu_probe import MARK
from hymt.verify.host import INSPECT_FORMAT
from hymt.verify.pins import ImagePins
from hymt.verify.result import CheckResult
from hymt.verify.run import Plan, verify_host
from hymt.verify.settings import VerifySettings
from hymt.verify.ssh import Target
from tests.support import repo
from tests.verify.fakes import FakeHost, fails, ok

PINS = ImagePins.from_vars(repo.PINS)


def data(name: str) -> str:
    """A transcribed output of tests/gpu/data or tests/ansible/data (their READMEs give the sources)."""
    for directory in ("tests/gpu/data", "tests/ansible/data"):
        if (repo.ROOT / directory / name).is_file():
            return (repo.ROOT / directory / name).read_text()
    raise FileNotFoundError(name)


H100_QUERY = (
    "0, NVIDIA H100 80GB HBM3, 81559, 580.95.05, 00000000:18:00.0, 9.0\n"
    "1, NVIDIA H100 80GB HBM3, 81559, 580.95.05, 00000000:2A:00.0, 9.0\n"
)
H100_HEADER = "| NVIDIA-SMI 580.95.05    Driver Version: 580.95.05    CUDA Version: 13.0     |\n"


def probe_output(report: dict) -> str:
    return "some library chatter\n" + MARK + json.dumps(report) + "\n"


def gpu_report(devices: int = 2, matmul_ok: bool = True, smi_lines: int | None = None, quick: bool = False) -> dict:
    entries = []
    for index in range(devices):
        entry = {"index": index, "name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "capability": "9.0",
                 "tensor_ok": True}  # fmt: skip
        if not quick:
            entry["matmul"] = {"size": 1024, "relative_error": 2e-7 if matmul_ok else 0.4, "ok": matmul_ok,
                               "fp16_tflops": 612.3}  # fmt: skip
        entries.append(entry)
    lines = "\n".join(
        f"{i}, NVIDIA H100 80GB HBM3, 81559 MiB" for i in range(devices if smi_lines is None else smi_lines)
    )
    return {
        "python": "3.12.3", "torch": "2.13.0+cu130", "torch_cuda": "13.0", "cuda_available": True,
        "device_count": devices, "devices": entries, "quick": quick,
        "nvidia_smi": None if quick else {"rc": 0, "output": lines},
        "nvcc": None if quick else {"rc": 0, "output": "Cuda compilation tools, release 13.0, V13.0.88"},
    }  # fmt: skip


CPU_REPORT = {"python": "3.11.2", "torch": "2.13.0+cpu", "torch_cuda": None, "cuda_available": False,
              "device_count": 0, "devices": [], "cpu_matmul_ok": True}  # fmt: skip


def container_line(service: str, state: str = "running", health: str = "healthy", restarts: int = 0,
                   image: str = "", model_dir: str = "") -> str:  # fmt: skip
    images = {"vllm": PINS.gpu_image, "web": PINS.web_image, "proxy": "caddy:2.10.2"}
    exit_code = "0" if state == "running" else "1"
    fields = [f"/hymt-{service}-1", service, state, health, str(restarts), exit_code, image or images[service],
              model_dir or ("/srv/hymt/models/Hunyuan-MT-7B" if service == "vllm" else "")]  # fmt: skip
    return "\t".join(fields)


def stack_host(host: FakeHost, lines: list[str]) -> FakeHost:
    """Answer docker ps/inspect of the Compose project with `lines` (INSPECT_FORMAT rows)."""
    ids = "\n".join(f"id{i}" for i in range(len(lines)))
    host.on("docker", "ps", "--filter", answer=ok(ids + "\n"))
    host.on("docker", "inspect", "--format", INSPECT_FORMAT, answer=ok("\n".join(lines) + "\n"))
    return host


VLLM_INSIDE = {"health": 200, "health_said": "", "models_status": 200, "models": ["Hunyuan-MT-7B"],
               "expected": "Hunyuan-MT-7B", "key_set": True}  # fmt: skip
DF = "Mounted on        Avail\n/             146028888064\n/srv          900000000000\n"


# What `docker inspect --format cis.INSPECT_FORMAT` gives for the stack's web container (Docker 20.10's shape).
HARDENED_WEB = {
    "name": "/hymt-web-1",
    "service": "web",
    "user": "10001:10001",
    "healthcheck": {"Test": ["CMD", "python", "-m", "hymt_web.healthcheck"]},
    "apparmor": "docker-default",
    "host": {
        "CapDrop": ["ALL"], "CapAdd": None, "Privileged": False, "SecurityOpt": ["no-new-privileges:true"],
        "ReadonlyRootfs": True, "Memory": 536870912, "PidsLimit": 256, "CpuShares": 0,
        "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0}, "NetworkMode": "hymt_backend",
        "PidMode": "", "IpcMode": "private", "UTSMode": "", "UsernsMode": "", "CgroupParent": "", "Devices": [],
        "PortBindings": {},
    },
    "mounts": [],
}  # fmt: skip


def hardened(service: str) -> dict:
    """A container of `service` as the stack's compose files make it."""
    c = copy.deepcopy(HARDENED_WEB)
    c.update(name=f"/hymt-{service}-1", service=service)
    if service == "proxy":
        c["user"] = ""
        c["host"].update(
            CapAdd=["NET_BIND_SERVICE"], PortBindings={"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "80"}]}
        )
        c["mounts"] = [{"Type": "volume", "Source": "/var/lib/docker/volumes/hymt_caddy_data/_data",
                        "Destination": "/data"}]  # fmt: skip
    if service == "vllm":
        c["user"] = ""
        c["host"].update(ReadonlyRootfs=False, Memory=32 << 30, PidsLimit=4096)
        c["mounts"] = [{"Type": "bind", "Source": "/srv/hymt/models/Hunyuan-MT-7B", "Destination": "/model"}]
    return c


def role_daemon_json(**extra: object) -> dict:
    """daemon.json as the docker role writes it by default (and `extra` merged last)."""
    defaults = yaml.safe_load((repo.ROOT / "roles/docker/defaults/main.yml").read_text())
    return docker_daemon.daemon_config(defaults["docker_daemon_options"], extra_options=extra)


def cis_answers(host: FakeHost, containers: list[dict], daemon_json: dict | None) -> FakeHost:
    """Answer the CIS checks' docker inspect with `containers` and the daemon.json read (None: not there)."""
    inspected = "".join(json.dumps(c) + "\n" for c in containers)
    host.on("docker", "inspect", "--format", cis.INSPECT_FORMAT, answer=ok(inspected))
    found = ok(json.dumps(daemon_json)) if daemon_json is not None else fails(1, "cat: No such file or directory")
    host.on("cat", cis.DAEMON_JSON, answer=found)
    return host


def stack_answers(host: FakeHost) -> FakeHost:
    """The rest of a deployed host: the stack directory, vLLM from inside the web container, the model check, df, the
    containers' and the engine's settings."""
    cis_answers(host, [hardened("vllm"), hardened("web"), hardened("proxy")], role_daemon_json())
    host.on("ls", "-1A", answer=ok("compose.gpu.yaml\ncompose.yaml\n.env\nCaddyfile\n"))
    host.on("docker", "exec", "hymt-web-1", "python", answer=ok(json.dumps(VLLM_INSIDE) + "\n"))
    host.on("docker", "run", "hymt", "model", "check", answer=ok("hymt model check: 4 files, 15.2 GB, all verified\n"))
    host.on("docker", "info", answer=ok("/var/lib/docker\n"))
    host.on("df", answer=ok(DF))
    return host


def gpu_server(report: dict | None = None, quick: dict | None = None) -> FakeHost:
    """A GPU server with two H100s, driver 580, the stack up and healthy."""
    host = FakeHost(description="gpu-1 (fake)")
    host.on("true", answer=ok())
    host.on("nvidia-smi", answer=ok(H100_HEADER))
    host.on("nvidia-smi", "--format=csv,noheader,nounits", answer=ok(H100_QUERY))
    host.on("docker", "image", "inspect", answer=ok("sha256:abc\n"))
    host.on("docker", "run", "--gpus", "all", "python3", answer=ok(probe_output(report or gpu_report())))
    host.on("docker", "exec", "hymt-vllm-1", "--quick", answer=ok(probe_output(quick or gpu_report(quick=True))))
    stack_host(host, [container_line("vllm"), container_line("web"), container_line("proxy")])
    return stack_answers(host)


def rehearsal_host() -> FakeHost:
    """No GPU, no nvidia-smi; the CPU vLLM image on the host; the stack up on CPU."""
    host = FakeHost(description="rehearsal (fake)")
    host.on("true", answer=ok())
    host.on("nvidia-smi", answer=fails(127, "nvidia-smi: command not found"))
    host.on("docker", "image", "inspect", answer=ok("sha256:abc\n"))
    host.on("docker", "run", "python3", answer=ok(probe_output(CPU_REPORT)))
    host.on("docker", "exec", "hymt-vllm-1", "--quick", answer=ok(probe_output(CPU_REPORT)))
    stack_host(
        host,
        [container_line("vllm", image=PINS.vllm_cpu_image), container_line("web"), container_line("proxy")],
    )
    return stack_answers(host)


SINGLE = ("gpu_hosts", "edge")


def plan_for(profile: str = "gpu", groups: tuple[str, ...] = SINGLE, **settings: object) -> tuple[Target, Plan]:
    """A plan of one host, by default the single server (in both groups)."""
    target = Target(name="gpu-1", address="203.0.113.7", groups=groups)
    verify_settings = VerifySettings(profile=profile, testinfra=False, http=False, **settings)  # type: ignore[arg-type]
    return target, Plan(verify_settings, profile, None, [target], PINS, None)


def public_web(address: str, port: int, timeout: float) -> bool:
    """From outside, a server's public ports as they should be: SSH and HTTP accept, nothing else."""
    return port in (22, 80)


def check_host(host: FakeHost, profile: str = "gpu") -> tuple[list[CheckResult], dict[str, CheckResult]]:
    """The host half's results on `host` (the single server of a plan of `profile`): in order, and by check name."""
    target, plan = plan_for(profile)
    results = verify_host(target, plan, host, public_web)
    return results, {r.name: r for r in results}


# -- the scale-out shapes (hymt.verify.shape) ----------------------------------------------------------------------
def published_web(address: str = "10.0.0.11", port: str = "8000") -> dict:
    """The web container of a GPU host behind an edge: compose.backend.yaml publishes it on the private address."""
    web = hardened("web")
    web["host"]["PortBindings"] = {"8000/tcp": [{"HostIp": address, "HostPort": port}]}
    return web


def gpu_behind_edge(web: dict | None = None) -> FakeHost:
    """A GPU server behind an edge: vllm and web up and healthy, no proxy, the web app published on 10.0.0.11:8000."""
    host = gpu_server()
    stack_host(host, [container_line("vllm"), container_line("web")])
    cis_answers(host, [hardened("vllm"), web or published_web()], role_daemon_json())
    return host


EDGE_LISTING = "compose.edge.yaml\nCaddyfile\n.env\nbalance\naccess\n"


def caddy_upstreams(*addresses: str) -> str:
    """What the edge's Caddy admin API lists (its documented shape: address, num_requests, fails)."""
    return json.dumps([{"address": address, "num_requests": 0, "fails": 0} for address in addresses])


def ready_answer(statuses: dict[str, tuple[int, str]]):
    """The edge host's python3 asking /readyz of each host:port it is given: `statuses` by host:port, else 200."""

    def answer(argv: list[str]):
        return ok(json.dumps({hostport: list(statuses.get(hostport, (200, ""))) for hostport in argv[3:]}) + "\n")

    return answer


def edge_host(upstreams: str | None = None, ready: dict[str, tuple[int, str]] | None = None) -> FakeHost:
    """An edge host: the proxy alone in /opt/hymt/edge, Caddy balancing across 10.0.0.11:8000 and 10.0.0.12:8000,
    both ready."""
    host = FakeHost(description="edge-1 (fake)")
    host.on("true", answer=ok())
    stack_host(host, [container_line("proxy")])
    cis_answers(host, [hardened("proxy")], role_daemon_json())
    host.on("ls", "-1A", "/opt/hymt/edge/", answer=ok(EDGE_LISTING))
    host.on("ls", "-1A", "/opt/hymt/edge/balance/", answer=ok("upstreams.caddy\n"))
    host.on(
        "docker",
        "exec",
        "hymt-proxy-1",
        "wget",
        answer=ok(upstreams or caddy_upstreams("10.0.0.11:8000", "10.0.0.12:8000")),
    )
    host.on("python3", "-c", edge.READY_SCRIPT, answer=ready_answer(ready or {}))
    host.on("docker", "info", answer=ok("/var/lib/docker\n"))
    host.on("df", answer=ok(DF))
    return host


def fleet(*, gpu_2_address: str = "10.0.0.12") -> list[Target]:
    """Two GPU hosts behind one edge host, as an inventory of that shape gives them."""
    return [
        Target("edge-1", "203.0.113.5", groups=("edge",), variables={"hymt_private_address": "10.0.0.21"}),
        Target("gpu-1", "203.0.113.7", groups=("gpu_hosts",),
               variables={"hymt_private_address": "10.0.0.11", "hymt_web_private_port": 8000}),
        Target("gpu-2", "203.0.113.8", groups=("gpu_hosts",),
               variables={"hymt_private_address": gpu_2_address, "hymt_web_private_port": 8000}),
    ]  # fmt: skip


def fleet_plan(targets: list[Target], profile: str = "gpu") -> Plan:
    settings = VerifySettings(profile=profile, testinfra=False, http=False)
    return Plan(settings, profile, None, targets, PINS, None)


def ssh_only(address: str, port: int, timeout: float) -> bool:
    """From outside, a GPU host behind an edge as it should be: SSH accepts, nothing else."""
    return port == 22


def check_in_fleet(
    name: str, host: FakeHost, targets: list[Target] | None = None, connector=None
) -> dict[str, CheckResult]:
    """The host half's results on the fleet's host `name`, by check name; from outside its ports are as they should be
    unless `connector` says otherwise."""
    targets = targets or fleet()
    target = next(t for t in targets if t.name == name)
    connector = connector or (public_web if "edge" in target.groups else ssh_only)
    return {r.name: r for r in verify_host(target, fleet_plan(targets), host, connector)}
