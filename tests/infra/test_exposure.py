"""Docker-published ports behind the firewall, on the VM-like rehearsal host (its own systemd, dockerd and iptables).

The host runs two containers the way a stack with a stray override would: one published on 0.0.0.0:80 (the proxy's
port, served from another container port, so the rule must match the port the client asked for) and one on
0.0.0.0:8000 (vLLM's port). From outside the host (this machine, through the host's address on its Docker network)
SSH and HTTP connect and 8000 does not; with the firewall role's DOCKER-USER rules flushed, 8000 connects (so the
check can fail), and `ufw reload` or a restart of Docker brings back the same result. A container on the host still
reaches a server outside it (egress and its replies pass).
"""

from __future__ import annotations

import secrets
import subprocess

import pytest
import requests

from tests.support.net import connects, wait_until
from tests.support.rehearsal_hosts import container_address, load_image
from tests.support.repo import PINS

pytestmark = [pytest.mark.docker, pytest.mark.rehearsal_host]

SERVERS = {"hymt-test-published-web": (80, 8080), "hymt-test-published-vllm": (8000, 8000)}


@pytest.fixture(scope="module")
def published(host, rehearsal_host):
    """The two containers, publishing on every address of the host; their image moved in with docker save | load."""
    image = PINS["hymt_python_image"]
    load_image(rehearsal_host, image)
    try:
        for name, (port, inside) in SERVERS.items():
            host.check_output(
                f"docker run -d --name {name} -p 0.0.0.0:{port}:{inside} {image} python3 -m http.server {inside}"
            )
        address = container_address(rehearsal_host.name)
        wait_until(lambda: web_answers(address), "the published web container to answer", timeout=30)
        yield address
    finally:
        host.run(f"docker rm -f {' '.join(SERVERS)}")


def web_answers(address: str) -> bool:
    try:
        return requests.get(f"http://{address}:80/", timeout=3).status_code == 200
    except requests.RequestException:
        return False


def reachable(address: str) -> dict[int, bool]:
    return {port: connects(address, port) for port in (22, 80, 8000)}


def test_from_outside_only_ssh_and_http_connect(host, published):
    assert host.socket("tcp://0.0.0.0:8000").is_listening or "8000" in host.check_output("docker ps")
    assert reachable(published) == {22: True, 80: True, 8000: False}
    assert web_answers(published)


def test_the_rules_sit_in_docker_user_on_the_default_route_s_interface(host):
    interface = host.check_output("ip -o route show default").split(" dev ")[1].split()[0]
    rules = host.check_output("iptables -S DOCKER-USER")
    assert f"-A DOCKER-USER -i {interface} -p tcp -m conntrack --ctorigdstport 80 -j RETURN" in rules
    assert rules.strip().endswith(f"-A DOCKER-USER -i {interface} -j DROP"), rules
    # Docker sends forwarded packets there first.
    assert "-A FORWARD -j DOCKER-USER" in host.check_output("iptables -S FORWARD").splitlines()


def test_without_the_rules_8000_connects_and_ufw_reload_restores_them(host, published):
    host.check_output("iptables -F DOCKER-USER")
    try:
        flushed = reachable(published)
    finally:
        host.check_output("ufw reload")
    assert flushed == {22: True, 80: True, 8000: True}
    assert reachable(published) == {22: True, 80: True, 8000: False}


def test_the_rules_survive_a_restart_of_docker(host, published):
    engine_before = host.check_output("systemctl show --property MainPID --value docker")
    host.check_output("systemctl restart docker")
    host.run("for i in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done")
    assert host.check_output("systemctl show --property MainPID --value docker") != engine_before
    # live-restore keeps the containers running through the restart.
    wait_until(lambda: web_answers(published), "the web container to answer after the restart", timeout=30)
    assert reachable(published) == {22: True, 80: True, 8000: False}


@pytest.fixture
def outside_server(docker_engine):
    """An HTTP server in a container of this machine's engine: outside the rehearsal host."""
    name = f"hymt-test-outside-{secrets.token_hex(4)}"
    subprocess.run(
        ["docker", "run", "-d", "--name", name, PINS["hymt_python_image"], "python3", "-m", "http.server", "8000"],
        check=True,
        capture_output=True,
    )
    try:
        yield container_address(name)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_containers_still_reach_the_outside_and_get_the_replies(host, published, outside_server):
    fetch = (
        f"docker run --rm {PINS['hymt_python_image']} python3 -c "
        f"\"import urllib.request; print(urllib.request.urlopen('http://{outside_server}:8000/', timeout=5).status)\""
    )
    result = host.run(f"for i in $(seq 10); do {fetch} && exit 0; sleep 1; done; exit 1")
    assert result.rc == 0 and result.stdout.strip().endswith("200"), result.stderr
