"""The stack checks of the host half against fake hosts: a healthy stack, an unhealthy container, a restarting one, a
service missing, no stack installed, vLLM down or refusing the key or serving another name, an incomplete model, a
full disk. (tests/verify/test_stack_docker.py runs the same checks against real containers.)"""

from __future__ import annotations

import json

import pytest

from hymt.verify.host import INSPECT_FORMAT, HostContext
from hymt.verify.result import CheckFailed, SkipKind, Status
from hymt.verify.run import host_settings
from hymt.verify.stack import check_services
from tests.verify import hosts
from tests.verify.fakes import FakeHost, fails, ok

STACK_CHECKS = (
    "stack installed",
    "services running and healthy",
    "restart counts",
    "vLLM /health and /v1/models inside",
    "model directory passes hymt model check",
    "free disk",
)


def run(host, profile="gpu"):
    return hosts.check_host(host, profile)[1]


def with_containers(*lines: str):
    return hosts.stack_host(hosts.gpu_server(), list(lines))


def test_a_healthy_stack_passes_every_stack_check():
    checks = run(hosts.gpu_server())
    for name in STACK_CHECKS:
        assert checks[name].status is Status.PASS, checks[name]
    assert checks["services running and healthy"].reason == "vllm healthy, web healthy, proxy healthy"
    assert checks["restart counts"].reason == "restarts: vllm 0, web 0, proxy 0"
    assert "/v1/models lists Hunyuan-MT-7B" in checks["vLLM /health and /v1/models inside"].reason
    assert "/ 136.0 GiB free" in checks["free disk"].reason


def test_the_containers_are_found_by_the_project_label_and_inspected_without_their_environment():
    host = hosts.gpu_server()
    run(host)
    listed = [argv for argv, _ in host.commands if argv[:2] == ["docker", "ps"]]
    assert listed[0][-2:] == ["--filter", "label=com.docker.compose.project=hymt"]
    assert ".Config.Env" not in INSPECT_FORMAT and "{{json ." not in INSPECT_FORMAT


def test_an_unhealthy_container_fails():
    checks = run(with_containers(hosts.container_line("vllm", health="unhealthy"), hosts.container_line("web"),
                                 hosts.container_line("proxy")))  # fmt: skip
    result = checks["services running and healthy"]
    assert result.status is Status.FAIL
    assert "vllm: unhealthy, health check failing (docker logs hymt-vllm-1)" in result.reason


def test_a_restarting_container_fails_the_services_and_the_restart_counts():
    checks = run(with_containers(hosts.container_line("vllm"), hosts.container_line("web", state="restarting",
                 health="", restarts=7), hosts.container_line("proxy")))  # fmt: skip
    assert "web: restarting (exit code 1" in checks["services running and healthy"].reason
    assert checks["restart counts"].status is Status.FAIL
    assert "web is restarting now" in checks["restart counts"].reason


def test_a_running_container_that_crash_looped_fails_the_restart_counts():
    checks = run(with_containers(hosts.container_line("vllm", restarts=4), hosts.container_line("web"),
                                 hosts.container_line("proxy")))  # fmt: skip
    assert checks["services running and healthy"].status is Status.PASS
    assert (
        checks["restart counts"].status is Status.FAIL and "vllm restarted 4 times" in checks["restart counts"].reason
    )


def test_a_missing_service_and_a_missing_stack_fail():
    host = with_containers(hosts.container_line("web"))
    host.on("ls", "-1A", answer=fails(2, "ls: cannot access '/opt/hymt/stack/current/': No such file or directory"))
    checks = run(host)
    assert "vllm: no container" in checks["services running and healthy"].reason
    assert "proxy: no container" in checks["services running and healthy"].reason
    assert checks["stack installed"].status is Status.FAIL and "make deploy" in checks["stack installed"].reason
    host = hosts.stack_host(hosts.gpu_server(), [])
    checks = run(host)
    assert checks["restart counts"].status is Status.FAIL and "the stack is not up" in checks["restart counts"].reason


def test_a_stack_directory_without_its_env_file_fails():
    host = hosts.gpu_server()
    host.on("ls", "-1A", answer=ok("compose.yaml\n"))
    assert "lacks .env" in run(host)["stack installed"].reason


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ({"health": 503}, "/health answered 503"),
        ({"health": 0, "health_said": "URLError: Connection refused"}, "Connection refused"),
        ({"models_status": 401}, "refused the web app's API key"),
        ({"models": ["hymt-rehearsal"]}, "vLLM serves ['hymt-rehearsal'], but the web app asks for 'Hunyuan-MT-7B'"),
    ],
)
def test_vllm_down_refusing_the_key_or_serving_another_name_fails(said, expected):
    host = hosts.gpu_server()
    host.on("docker", "exec", "hymt-web-1", "python", answer=ok(json.dumps(hosts.VLLM_INSIDE | said)))
    result = run(host)["vLLM /health and /v1/models inside"]
    assert result.status is Status.FAIL and expected in result.reason


def test_vllm_is_asked_from_inside_the_web_container_with_no_key_on_the_command_line():
    host = hosts.gpu_server()
    run(host)
    (command,) = [argv for argv, _ in host.commands if argv[:3] == ["docker", "exec", "hymt-web-1"]]
    script = command[command.index("-c") + 1]
    assert 'os.environ.get("HYMT_API_KEY")' in script and "Bearer" in script
    assert '"key_set": bool(key)' in script and '"key": key' not in script


def test_the_model_check_runs_read_only_in_the_web_image_on_the_mounted_directory():
    host = hosts.gpu_server()
    run(host)
    (command,) = [argv for argv, _ in host.commands if argv[:2] == ["docker", "run"] and "model" in argv]
    assert "/srv/hymt/models/Hunyuan-MT-7B:/model:ro" in command
    assert command[command.index("--network") + 1] == "none" and command[command.index("--pull") + 1] == "never"
    assert command[command.index("--entrypoint") + 1 :] == ["hymt", hosts.PINS.web_image, "model", "check", "/model"]


def test_a_complete_model_is_reported_by_the_tools_summary_not_its_progress():
    host = hosts.gpu_server()
    progress = "hymt: checking config.json (2 kB)\nhymt: config.json: ok\n" * 3
    summary = "/model holds tencent/Hunyuan-MT-7B at 0123abc: 4 files, 15.2 GB, every size and SHA-256 matches"
    host.on("docker", "run", "hymt", "model", "check", answer=ok(progress + summary + "\n"))
    result = run(host)["model directory passes hymt model check"]
    assert result.status is Status.PASS
    assert result.reason == "/srv/hymt/models/Hunyuan-MT-7B: " + summary.replace(
        "/model", "/srv/hymt/models/Hunyuan-MT-7B"
    )


def test_an_incomplete_model_fails_and_a_web_image_without_the_command_is_an_unexpected_skip():
    host = hosts.gpu_server()
    host.on("docker", "run", "hymt", "model", "check", answer=fails(1, "model-00002-of-00004.safetensors: short"))
    result = run(host)["model directory passes hymt model check"]
    assert result.status is Status.FAIL and "00002-of-00004.safetensors: short" in result.reason
    host.on("docker", "run", "hymt", "model", "check", answer=fails(2, "hymt: error: argument COMMAND: invalid choice: "
                                                                       "'model' (choose from ...)"))  # fmt: skip
    result = run(host)["model directory passes hymt model check"]
    assert result.status is Status.SKIP and result.skip_kind is SkipKind.NOT_JUDGED
    assert not result.expected_by("gpu") and not result.expected_by("rehearsal")


def test_a_full_disk_fails():
    host = hosts.gpu_server()
    host.on("df", answer=ok("Mounted on      Avail\n/          1073741824\n"))
    result = run(host)["free disk"]
    assert result.status is Status.FAIL and "below 5 GiB free: / 1.0 GiB free" in result.reason


def test_docker_missing_or_sudo_asking_for_a_password_is_said_plainly():
    host = hosts.gpu_server()
    host.on("docker", "ps", answer=fails(1, "sudo: a password is required"))
    assert "passwordless sudo" in run(host)["services running and healthy"].reason


def starting_then(*healths: str) -> FakeHost:
    """A GPU server whose web container's health check is starting at the first look, then each of `healths`."""
    looks = iter(["starting", *healths])

    def inspect(_argv):
        lines = [hosts.container_line("vllm"), hosts.container_line("web", health=next(looks, healths[-1])),
                 hosts.container_line("proxy")]  # fmt: skip
        return ok("\n".join(lines) + "\n")

    # The GPU server already lists its three containers; only what inspecting them says changes from look to look.
    return hosts.gpu_server().on("docker", "inspect", "--format", INSPECT_FORMAT, answer=inspect)


def services_check(host: FakeHost, wait: float) -> tuple[str, list[float]]:
    """What the services check says on `host` when hymt verify runs with --wait `wait`, and the pauses it took."""
    target, plan = hosts.plan_for("gpu", wait=wait)
    slept: list[float] = []
    context = HostContext(name=target.name, runner=host, settings=host_settings(target, plan), sleep=slept.append)
    try:
        return "PASS " + check_services(context), slept
    except CheckFailed as failure:
        return f"FAIL {failure}", slept


def test_a_service_still_starting_is_waited_for_when_verify_may_wait():
    said, slept = services_check(starting_then("starting", "healthy"), wait=30)
    assert said == "PASS vllm healthy, web healthy, proxy healthy (after 4 s starting)"
    assert slept == [2.0, 2.0]


def test_a_service_starting_longer_than_the_wait_fails_saying_so():
    said, slept = services_check(starting_then("starting"), wait=6)
    assert said.startswith("FAIL") and "web: starting after 6 s, health check still loading" in said
    assert slept == [2.0, 2.0, 2.0]


def test_without_a_wait_a_service_starting_fails_at_the_first_look():
    said, slept = services_check(starting_then("healthy"), wait=0)
    assert said.startswith("FAIL") and "web: starting, health check still loading" in said
    assert slept == []


def test_a_service_turning_unhealthy_while_waited_for_fails():
    said, _ = services_check(starting_then("unhealthy"), wait=30)
    assert said.startswith("FAIL") and "web: unhealthy, health check failing" in said
