"""`hymt verify`'s host half against a real rehearsal host over SSH, provisioned by playbooks/provision.yml, with the
CPU vLLM image shipped in but no stack deployed: on the rehearsal profile the GPU checks are expected skips while the
GPU test really runs in hymt/vllm-cpu; on the gpu profile they fail; the missing stack fails; the ports from outside
are judged; the Testinfra suite runs through the inventory; an unknown or changed host key is refused.

(The full "verify after make rehearse" run belongs to the deploy's tests.)
"""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from tests.conftest import require
from tests.support.playbook import ROOT, ansible_env, run_playbook
from tests.support.rehearsal_hosts import container_address, load_image, rehearsal_host
from tests.verify.test_gpu import GPU_CHECKS

pytestmark = [pytest.mark.docker, pytest.mark.rehearsal_host]
PINS = yaml.safe_load((ROOT / "inventory/group_vars/all/versions.yml").read_text())
CPU_IMAGE = PINS["hymt_vllm_cpu_image"]
HYMT = str(ROOT / ".venv/bin/hymt")


@pytest.fixture(scope="module")
def host(docker_engine, tmp_path_factory):
    """A provisioned rehearsal host of its own, with the CPU vLLM image loaded into its engine."""
    require(
        subprocess.run(["docker", "image", "inspect", CPU_IMAGE], capture_output=True).returncode == 0,
        f"{CPU_IMAGE} is missing; build it with 'make vllm-cpu-image'",
    )
    with rehearsal_host(tmp_path_factory.mktemp("verify-host"), "hymt-test-verify") as access:
        provisioned = run_playbook(ROOT / "playbooks/provision.yml", access.inventory, timeout=1200)
        assert provisioned.returncode == 0, provisioned.explain()
        load_image(access, CPU_IMAGE)
        yield access


def verify(*args: str) -> tuple[int, dict, str]:
    done = subprocess.run(
        [HYMT, "verify", "--no-http", "--json", *args],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=ROOT,
        env=ansible_env(),
    )
    report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    return done.returncode, report, done.stderr


def checks_of(report: dict) -> dict[str, dict]:
    return {check["name"]: check for check in report["checks"]}


@pytest.fixture(scope="module")
def rehearsal_report(host) -> dict:
    code, report, err = verify("--inventory", str(host.inventory))
    assert report, err
    assert code == 1, "no stack is deployed: the run must not count as verified"
    return report


def test_the_profile_comes_from_the_inventory_and_the_host_is_reached_with_its_key_checked(rehearsal_report):
    assert rehearsal_report["profile"] == "rehearsal"
    assert checks_of(rehearsal_report)["SSH login"]["status"] == "pass"


def test_gpu_checks_are_expected_skips_while_the_gpu_test_really_runs_in_the_cpu_image(rehearsal_report):
    checks = checks_of(rehearsal_report)
    runs = checks[f"gpu_test runs in {CPU_IMAGE}"]
    assert runs["status"] == "pass" and f"torch {PINS['hymt_torch_cpu_version']}" in runs["reason"], runs
    for name in GPU_CHECKS[:-1]:  # the last, in the running vllm container, needs the stack
        assert checks[name]["status"] == "skip" and checks[name]["expected"] is True, checks[name]
        assert checks[name]["reason"].startswith("skipped: no GPU"), checks[name]
    assert "the script ran and multiplied on the CPU" in checks["gpu_test: PyTorch sees every GPU"]["reason"]


def test_the_missing_stack_fails(rehearsal_report):
    checks = checks_of(rehearsal_report)
    for name in (
        "stack installed",
        "services running and healthy",
        "restart counts",
        "vLLM /health and /v1/models inside",
        "vllm container sees its GPU",
        "model directory passes hymt model check",
    ):
        assert checks[name]["status"] == "fail", checks[name]
    assert "no stack at /opt/hymt/stack/current" in checks["stack installed"]["reason"]
    assert checks["free disk"]["status"] == "pass"


def test_the_ports_are_probed_at_the_host_s_own_address_and_nothing_serves_http(rehearsal_report, host):
    ports = checks_of(rehearsal_report)["ports from outside"]
    assert ports["status"] == "fail"
    assert container_address(host.name) in ports["reason"]
    assert "nothing serves HTTP port 80 on the host" in ports["reason"] and "open: 22;" in ports["reason"]


def test_the_testinfra_suite_runs_through_the_inventory(rehearsal_report):
    suite = {c["name"]: c for c in rehearsal_report["checks"] if c["name"].startswith("testinfra: ")}
    passing = (
        "the docker engine runs and starts at boot",
        "daemon json rotates logs and keeps containers alive",
        "compose v2 answers",
        "the firewall denies all but ssh http and https",
        "sshd allows key logins only",
        "published ports cannot bypass the firewall",
        "unattended upgrades take security updates only",
        "the pinned packages are held",
    )
    for name in passing:
        assert suite[f"testinfra: {name}"]["status"] == "pass", suite[f"testinfra: {name}"]
    nvidia = suite["testinfra: daemon json has the nvidia runtime"]
    assert nvidia["status"] == "skip" and nvidia["expected"] is True
    for name in (
        "every compose service runs",
        "the stack directory holds the compose files",
        "the model files are there",
    ):
        assert suite[f"testinfra: {name}"]["status"] == "fail", suite[f"testinfra: {name}"]


def test_the_gpu_profile_fails_the_gpu_checks_and_a_published_dashboard_port_fails_the_ports(host):
    address = container_address(host.name)
    run = lambda *command: subprocess.run(host.ssh_command(*command), capture_output=True, text=True, timeout=120)  # noqa: E731
    # Something on 80 (as the proxy would be), and a port Docker publishes past the firewall: the firewall role's
    # DOCKER-USER rules (which keep such a port unreachable, tests/infra/test_exposure.py) flushed, as on a host
    # provisioned without them; `ufw reload` puts them back.
    assert run("sudo", "iptables", "-F", "DOCKER-USER").returncode == 0
    assert run("sudo", "systemd-run", "--unit", "hymt-test-http", "python3", "-m", "http.server", "80").returncode == 0
    published = run("sudo", "docker", "run", "-d", "--name", "hymt-test-dashboard", "-p", "3000:8000", "--entrypoint",
                    "python3", CPU_IMAGE, "-m", "http.server", "8000")  # fmt: skip
    assert published.returncode == 0, published.stderr
    try:
        code, report, err = verify(
            "--host", f"debian@127.0.0.1:{host.ssh_port}", "--ssh-key", str(host.key_file),
            "--known-hosts", str(host.known_hosts), "--profile", "gpu", "--public-address", address, "--no-testinfra",
        )  # fmt: skip
    finally:
        run("sudo", "docker", "rm", "-f", "hymt-test-dashboard")
        run("sudo", "systemctl", "stop", "hymt-test-http")
        run("sudo", "ufw", "reload")
    assert report, err
    assert code == 1 and report["profile"] == "gpu"
    checks = checks_of(report)
    assert checks["nvidia-smi on the host"]["status"] == "fail"
    assert "no NVIDIA driver" in checks["nvidia-smi on the host"]["reason"]
    assert checks[f"gpu_test runs in {PINS['hymt_vllm_image']}"]["status"] == "fail"  # not on the host, never pulled
    assert not [c for c in report["checks"] if c["status"] == "skip" and c["expected"]]
    ports = checks["ports from outside"]
    assert ports["status"] == "fail" and "3000 accepts connections from outside" in ports["reason"]
    assert "open: 22, 80, 3000" in ports["reason"]


def test_an_unknown_or_changed_host_key_is_refused(host, tmp_path):
    empty, wrong = tmp_path / "empty", tmp_path / "wrong"
    empty.write_text("")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    other_key = " ".join((tmp_path / "k.pub").read_text().split()[:2])
    wrong.write_text(f"[127.0.0.1]:{host.ssh_port} {other_key}\n")
    for known_hosts, said in ((empty, "is not in"), (wrong, "is not the one in")):
        code, report, _ = verify(
            "--host", f"debian@127.0.0.1:{host.ssh_port}", "--ssh-key", str(host.key_file),
            "--known-hosts", str(known_hosts), "--profile", "rehearsal", "--no-testinfra",
        )  # fmt: skip
        login = checks_of(report)["SSH login"]
        assert code == 1 and login["status"] == "fail" and said in login["reason"], login


def test_the_testinfra_suite_reaches_a_host_given_by_address_with_its_key_checked(host, tmp_path):
    # No inventory: the suite's own ssh logs in with the key and the known_hosts file given on the command line (the
    # host's key is in no file of the user's, so a login that ignored --known-hosts would be refused).
    by_address = (
        "--host",
        f"debian@127.0.0.1:{host.ssh_port}",
        "--ssh-key",
        str(host.key_file),
        "--profile",
        "rehearsal",
    )
    code, report, err = verify(*by_address, "--known-hosts", str(host.known_hosts))
    assert report, err
    suite = {c["name"]: c for c in report["checks"] if c["name"].startswith("testinfra: ")}
    for name in ("the docker engine runs and starts at boot", "sshd allows key logins only"):
        assert suite[f"testinfra: {name}"]["status"] == "pass", suite
    assert suite["testinfra: daemon json has the nvidia runtime"]["expected"] is True
    assert code == 1  # the stack is not deployed on this host
