"""The host half in each shape of the deployment (hymt.verify.shape), against fake hosts: the single server as before;
a GPU host behind an edge (vllm and web, no proxy, the web app published on its private address and nowhere else,
nothing public from outside); an edge host (the proxy alone in /opt/hymt/edge, every GPU host in Caddy's rotation and
ready). Each way these go wrong fails, saying which host and what to do. The real fleet: tests/scaleout."""

from __future__ import annotations

from pathlib import Path

import pytest

from hymt.verify import run
from hymt.verify.result import Status
from hymt.verify.run import host_checks, host_settings
from hymt.verify.shape import Shape, shape_of
from hymt.verify.ssh import targets_from_inventory
from tests.verify import hosts
from tests.verify.fakes import fails, ok

GPU_CHECKS = {"nvidia-smi on the host", "driver runs the vLLM image", "gpu_test", "vllm container sees its GPU",
              "vLLM /health and /v1/models inside", "model directory passes hymt model check"}  # fmt: skip
ROTATION = "every GPU host in the rotation and ready"


def failures(checks) -> dict[str, str]:
    return {name: r.reason for name, r in checks.items() if r.status is not Status.PASS}


def test_the_shape_comes_from_the_groups():
    assert shape_of(("gpu_hosts", "edge")) is Shape.SINGLE
    assert shape_of(("gpu_hosts",)) is Shape.BEHIND_EDGE
    assert shape_of(("edge",)) is Shape.EDGE


def test_each_shape_gets_its_own_checks():
    targets = hosts.fleet()
    plan = hosts.fleet_plan(targets)
    single = {name for name, _ in host_checks(hosts.plan_for()[0], plan)}
    behind = {name for name, _ in host_checks(targets[1], plan)}
    edge = {name for name, _ in host_checks(targets[0], plan)}
    assert single >= GPU_CHECKS and "stack installed" in single and "ports from outside" in single
    assert behind == single
    assert not GPU_CHECKS & edge and "stack installed" not in edge
    assert {"edge installed", "services running and healthy", "restart counts", "containers hardened (CIS Docker 5)",
            "engine settings (CIS Docker 2)", "free disk", "ports from outside", ROTATION} == edge  # fmt: skip
    assert ROTATION not in single | behind


def test_an_inventory_of_that_shape_gives_each_host_its_settings():
    listing = {
        "_meta": {"hostvars": {
            "edge-1": {"ansible_host": "203.0.113.5", "hymt_private_address": "10.0.0.21", "hymt_model_dir": "/m"},
            "gpu-1": {"ansible_host": "203.0.113.7", "hymt_private_address": "10.0.0.11", "hymt_web_private_port": 80},
            "gpu-2": {"ansible_host": "203.0.113.8", "hymt_private_address": "10.0.0.12", "hymt_web_private_port": 81},
        }},
        "gpu_hosts": {"hosts": ["gpu-1", "gpu-2"]},
        "edge": {"hosts": ["edge-1"]},
    }  # fmt: skip
    targets = targets_from_inventory(Path("fleet.yml"), listing)
    plan = hosts.fleet_plan(targets)
    by_name = {t.name: host_settings(t, plan) for t in targets}
    edge, gpu_1 = by_name["edge-1"], by_name["gpu-1"]
    assert (edge.shape, edge.stack_dir, edge.compose_project, edge.services) == (
        Shape.EDGE, "/opt/hymt/edge", "hymt", ("proxy",))  # fmt: skip
    assert edge.absent_services == ("vllm", "web") and edge.model_dir == ""
    assert [app.hostport for app in edge.gpu_web_apps] == ["10.0.0.11:80", "10.0.0.12:81"]
    assert (gpu_1.shape, gpu_1.stack_dir, gpu_1.services, gpu_1.absent_services) == (
        Shape.BEHIND_EDGE, "/opt/hymt/stack/current", ("vllm", "web"), ("proxy",))  # fmt: skip
    assert gpu_1.web_app is not None and gpu_1.web_app.hostport == "10.0.0.11:80"
    assert run.testinfra_settings(plan)["HYMT_VERIFY_EDGE_ADDRESSES"] == "10.0.0.21"


def test_the_single_server_keeps_today_s_expectations():
    _, plan = hosts.plan_for()
    settings = host_settings(hosts.plan_for()[0], plan)
    assert settings.services == ("vllm", "web", "proxy") and settings.absent_services == ()
    assert settings.web_app is None and settings.stack_dir == "/opt/hymt/stack/current"
    assert failures(hosts.check_host(hosts.gpu_server())[1]) == {}


def test_the_slowest_checks_start_first_and_the_report_keeps_the_checks_order():
    target, plan = hosts.plan_for()
    checks = host_checks(target, plan)
    lanes = run.check_lanes(checks)
    started = [lanes[index][0][0] for index in run.start_order(lanes)]
    assert started[:4] == [
        "ports from outside",
        "nvidia-smi on the host",  # the GPU lane: nvidia-smi, the driver's fit and gpu_test, in that order
        "model directory passes hymt model check",
        "vllm container sees its GPU",
    ]
    rest = [name for name, _ in checks if name not in run.SLOW_CHECKS]
    assert started[4:] == rest
    results, _ = hosts.check_host(hosts.gpu_server())
    names = [name for name, _ in checks]
    # gpu_test reports under names of its own ("gpu_test runs in <image>", "gpu_test: ..."), in its place.
    assert [r.name for r in results if r.name in names] == [name for name in names if name != "gpu_test"]
    assert results[0].name == "SSH login" and results[4].name.startswith("gpu_test")


# -- a GPU host behind an edge -----------------------------------------------------------------------------------------
def test_a_gpu_host_behind_an_edge_passes_without_a_proxy():
    checks = hosts.check_in_fleet("gpu-1", hosts.gpu_behind_edge())
    assert failures(checks) == {}
    assert set(checks) >= GPU_CHECKS - {"gpu_test"} and "gpu_test: matrix product on every GPU" in checks
    assert checks["services running and healthy"].reason == "vllm healthy, web healthy"
    assert "closed 80, 443, 2375, 2376, 3000, 8000, 8080, 9090" in checks["ports from outside"].reason


@pytest.mark.parametrize(
    ("address", "port", "said"),
    [
        ("0.0.0.0", "8000", "CIS 5.8 web: publishes 0.0.0.0:8000->8000/tcp (only 10.0.0.11:8000->8000/tcp may be)"),
        ("", "8000", "CIS 5.8 web: publishes *:8000->8000/tcp"),
        ("10.0.0.12", "8000", "CIS 5.8 web: publishes 10.0.0.12:8000->8000/tcp"),
        ("10.0.0.11", "8080", "CIS 5.8 web: publishes 10.0.0.11:8080->8000/tcp"),
    ],
)
def test_a_web_port_published_elsewhere_than_the_private_address_fails_cis_5_8(address, port, said):
    checks = hosts.check_in_fleet("gpu-1", hosts.gpu_behind_edge(hosts.published_web(address, port)))
    assert set(failures(checks)) == {"containers hardened (CIS Docker 5)"}
    assert said in checks["containers hardened (CIS Docker 5)"].reason


def test_the_web_app_s_port_is_accepted_only_behind_an_edge():
    # The same published web app on the single server: only the proxy publishes there.
    host = hosts.gpu_server()
    hosts.cis_answers(
        host, [hosts.hardened("vllm"), hosts.published_web(), hosts.hardened("proxy")], hosts.role_daemon_json()
    )
    reason = hosts.check_host(host)[1]["containers hardened (CIS Docker 5)"].reason
    assert "CIS 5.8 web: publishes 10.0.0.11:8000->8000/tcp" in reason and "may be" not in reason


def test_a_gpu_host_behind_an_edge_without_its_private_address_accepts_no_published_port():
    targets = hosts.fleet()
    targets[1] = hosts.Target("gpu-1", "203.0.113.7", groups=("gpu_hosts",), variables={})
    web = hosts.published_web("", "8000")
    checks = hosts.check_in_fleet("gpu-1", hosts.gpu_behind_edge(web), targets)
    assert "CIS 5.8 web: publishes *:8000->8000/tcp" in checks["containers hardened (CIS Docker 5)"].reason


def test_a_proxy_running_on_a_gpu_host_behind_an_edge_fails():
    host = hosts.gpu_behind_edge()
    hosts.stack_host(host, [hosts.container_line("vllm"), hosts.container_line("web"), hosts.container_line("proxy")])
    result = hosts.check_in_fleet("gpu-1", host)["services running and healthy"]
    assert result.status is Status.FAIL
    assert "proxy: hymt-proxy-1 runs, but a GPU host behind an edge leaves the proxy to the edge hosts" in result.reason


def test_a_gpu_host_behind_an_edge_that_answers_http_from_outside_fails():
    checks = hosts.check_in_fleet("gpu-1", hosts.gpu_behind_edge(), connector=hosts.public_web)
    assert set(failures(checks)) == {"ports from outside"}
    assert "80 accepts connections from outside (HTTP: the edge hosts serve it" in checks["ports from outside"].reason


# -- an edge host ------------------------------------------------------------------------------------------------------
def test_an_edge_host_with_every_gpu_host_in_its_rotation_passes():
    host = hosts.edge_host()
    checks = hosts.check_in_fleet("edge-1", host)
    assert failures(checks) == {}
    assert checks["services running and healthy"].reason == "proxy healthy"
    assert checks["edge installed"].reason.startswith("/opt/hymt/edge: ")
    assert "balance/upstreams.caddy" in checks["edge installed"].reason
    assert "10.0.0.11:8000 (0 open, 0 fails), 10.0.0.12:8000" in checks[ROTATION].reason
    # Caddy's admin API asked inside the proxy container; /readyz asked from the edge host for both GPU hosts.
    (asked,) = [argv for argv, _ in host.commands if argv[:3] == ["docker", "exec", "hymt-proxy-1"]]
    assert asked[3:] == ["wget", "-qO-", "http://127.0.0.1:2019/reverse_proxy/upstreams"]
    (ready,) = [argv for argv, sudo in host.commands if argv[0] == "python3" and "/readyz" in argv[2]]
    assert ready[3:] == ["10.0.0.11:8000", "10.0.0.12:8000"]
    assert not any("nvidia-smi" in argv or "model" in argv for argv, _ in host.commands)


def test_a_gpu_host_missing_from_the_edge_s_rotation_fails_naming_it():
    checks = hosts.check_in_fleet("edge-1", hosts.edge_host(upstreams=hosts.caddy_upstreams("10.0.0.11:8000")))
    assert set(failures(checks)) == {ROTATION}
    reason = checks[ROTATION].reason
    assert "gpu-2 (10.0.0.12:8000) is not in Caddy's rotation" in reason and "'make deploy'" in reason
    assert "gpu-1" not in reason.split(". Caddy's upstreams")[0]


def test_a_gpu_host_that_is_not_ready_fails_naming_it():
    checks = hosts.check_in_fleet("edge-1", hosts.edge_host(ready={"10.0.0.12:8000": (503, "")}))
    reason = checks[ROTATION].reason
    assert checks[ROTATION].status is Status.FAIL
    assert "gpu-2's web app at 10.0.0.12:8000 answered /readyz 503 from here" in reason
    assert "its model is not loaded or its vLLM is down" in reason


def test_a_gpu_host_the_edge_cannot_reach_fails_with_the_firewall_to_look_at():
    unreachable = {"10.0.0.11:8000": (0, "URLError: <urlopen error timed out>")}
    reason = hosts.check_in_fleet("edge-1", hosts.edge_host(ready=unreachable))[ROTATION].reason
    assert "gpu-1's web app at 10.0.0.11:8000 did not answer (URLError: <urlopen error timed out>)" in reason
    assert "firewall let this edge host in (make provision)" in reason


def test_a_gpu_host_without_a_private_address_fails_the_rotation():
    targets = hosts.fleet(gpu_2_address="")
    result = hosts.check_in_fleet("edge-1", hosts.edge_host(), targets)[ROTATION]
    assert result.status is Status.FAIL
    assert result.reason.startswith("gpu-2: no hymt_private_address in the inventory")


def test_an_edge_without_its_proxy_fails():
    host = hosts.stack_host(hosts.edge_host(), [])
    checks = hosts.check_in_fleet("edge-1", host)
    assert "proxy: no container" in checks["services running and healthy"].reason
    assert "no running proxy container to ask for its upstreams" in checks[ROTATION].reason
    host = hosts.stack_host(hosts.edge_host(), [hosts.container_line("proxy", state="exited", health="")])
    assert "proxy: exited (exit code 1" in hosts.check_in_fleet("edge-1", host)["services running and healthy"].reason


def test_an_edge_running_the_gpu_services_fails():
    host = hosts.stack_host(hosts.edge_host(), [hosts.container_line("proxy"), hosts.container_line("vllm")])
    reason = hosts.check_in_fleet("edge-1", host)["services running and healthy"].reason
    assert "vllm: hymt-vllm-1 runs, but an edge host runs the proxy alone" in reason


def test_an_edge_without_its_files_fails():
    host = hosts.edge_host()
    host.on("ls", "-1A", "/opt/hymt/edge/balance/", answer=fails(2, "ls: cannot access: No such file or directory"))
    result = hosts.check_in_fleet("edge-1", host)["edge installed"]
    assert result.status is Status.FAIL and "lacks balance/upstreams.caddy" in result.reason
    host.on("ls", "-1A", "/opt/hymt/edge/", answer=fails(2, "ls: cannot access: No such file or directory"))
    result = hosts.check_in_fleet("edge-1", host)["edge installed"]
    assert result.reason == "no edge at /opt/hymt/edge on the host: deploy it ('make deploy' (the edge role))."


def test_caddy_s_admin_api_not_answering_fails_the_rotation():
    host = hosts.edge_host()
    host.on("docker", "exec", "hymt-proxy-1", "wget", answer=fails(1, "wget: can't connect to remote host"))
    assert "Caddy's admin API did not list its upstreams" in hosts.check_in_fleet("edge-1", host)[ROTATION].reason
    host.on("docker", "exec", "hymt-proxy-1", "wget", answer=ok("<html>"))
    assert "something other than a list" in hosts.check_in_fleet("edge-1", host)[ROTATION].reason
