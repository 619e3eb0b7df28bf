"""A deployed host, seen through Testinfra: the engine and its daemon.json, the stack's (or the edge's) services and
files, the firewall (and Docker's DOCKER-USER rules), sshd, security-only unattended upgrades, the held pins, and the
model's files. Run by `hymt verify` (through the inventory, or over SSH with --host); a skip that starts with
"no GPU: " is the rehearsal profile's expected one. Each host gets the tests of its part in the deployment
(hymt.verify.shape): an edge host has no GPU, model or stack release."""

from __future__ import annotations

import json

import pytest

from hymt.verify.host_suite.conftest import NO_GPU, let_in_before_drop, pinned_packages, stat_listing
from hymt.verify.shape import Shape

# Where vLLM runs: the single server and the GPU hosts behind an edge (not an edge host of its own).
WHERE_VLLM_RUNS = pytest.mark.shapes(Shape.SINGLE, Shape.BEHIND_EDGE)


def test_the_docker_engine_runs_and_starts_at_boot(host):
    # One command, systemd asked directly (preflight requires it): each of Testinfra's service properties costs one
    # or more round trips, the first ones finding out which init system runs.
    said = host.run(
        "systemctl is-active --quiet docker && echo running; systemctl is-enabled --quiet docker && echo at-boot"
    ).stdout.split()
    assert "running" in said, "the Docker engine is not running: sudo systemctl start docker"
    assert "at-boot" in said, "the Docker engine does not start at boot: sudo systemctl enable docker"
    assert host.run("docker info --format '{{.ServerVersion}}'").rc == 0


def test_daemon_json_rotates_logs_and_keeps_containers_alive(host):
    daemon_json = host.file("/etc/docker/daemon.json")
    assert daemon_json.exists, "/etc/docker/daemon.json is missing: run 'make provision' (the docker role writes it)"
    options = json.loads(daemon_json.content_string)
    assert options.get("log-opts", {}).get("max-size"), "container logs are not rotated (log-opts.max-size)"
    assert options.get("live-restore") is True, "live-restore is off: an engine restart would stop the service"


@WHERE_VLLM_RUNS
def test_daemon_json_has_the_nvidia_runtime(host, settings):
    if settings["profile"] == "rehearsal":
        pytest.skip(NO_GPU + "the rehearsal host has no NVIDIA runtime")
    options = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert "nvidia" in options.get("runtimes", {}), "no 'nvidia' runtime in daemon.json: run 'make provision'"


def test_compose_v2_answers(host):
    assert host.run("docker compose version --short").stdout.strip().lstrip("v").split(".")[0] in ("2", "5")


def test_every_compose_service_runs(host, settings):
    found = host.run(
        "docker ps --filter label=com.docker.compose.project=%s --format '{{.Label \"com.docker.compose.service\"}}'",
        settings["project"],
    )
    running = set(found.stdout.split())
    missing = [service for service in settings["services"] if service not in running]
    assert not missing, f"not running in Compose project {settings['project']!r}: {', '.join(missing)}"
    extra = [service for service in settings["absent_services"] if service in running]
    assert not extra, f"running on a {settings['shape']}, which must not run them: {', '.join(extra)}"


@WHERE_VLLM_RUNS
def test_the_stack_directory_holds_the_compose_files(host, settings):
    directory = settings["stack_dir"]
    compose, env = f"{directory}/compose.yaml", f"{directory}/.env"
    # One command for the three (stat lists those that exist; -L: the directory is the link to the active release).
    found = stat_listing(host.run("stat -L --format '%%n|%%F|%%U|%%a' %s %s %s", directory, compose, env).stdout)
    assert directory in found, f"no stack at {directory}: run 'make deploy'"
    assert compose in found, f"{compose} is missing: run 'make deploy'"
    assert env in found and found[env][1:] == ("root", 0o600), ".env must be root's, mode 0600 (it holds the key)"


@pytest.mark.shapes(Shape.EDGE)
def test_the_edge_directory_holds_its_files(host, settings):
    directory = settings["stack_dir"]
    assert host.file(directory).is_directory, f"no edge at {directory}: run 'make deploy' (the edge role)"
    for name in settings["stack_files"]:
        installed = host.file(f"{directory}/{name}")
        assert installed.exists, f"{directory}/{name} is missing: run 'make deploy' (the edge role)"
        assert installed.user == "root" and not installed.mode & 0o022, f"{directory}/{name} must be root's alone"


def test_the_firewall_denies_all_but_ssh_http_and_https(host, settings):
    status = host.check_output("ufw status verbose")
    assert "Status: active" in status, "ufw is not active: run 'make provision'"
    assert "Default: deny (incoming)" in status
    rules = [line.split() for line in status.splitlines() if " IN " in line and "(v6)" not in line]
    allowed = {rule[0].split("/")[0] for rule in rules}
    expected = {str(settings["ssh_port"]), *(str(port) for port in settings["web_ports"])}
    assert allowed <= expected, f"ufw allows more than SSH, HTTP and HTTPS: {sorted(allowed - expected)}"
    assert str(settings["ssh_port"]) in allowed


def test_sshd_allows_key_logins_only(host):
    config = dict(
        line.split(None, 1) for line in host.check_output("sshd -T").splitlines() if len(line.split(None, 1)) == 2
    )
    assert config.get("passwordauthentication") == "no", "sshd accepts passwords: set PasswordAuthentication no"
    root = config.get("permitrootlogin")
    assert root in ("no", "prohibit-password", "without-password"), "root may log in with a password"
    assert config.get("kbdinteractiveauthentication", config.get("challengeresponseauthentication")) == "no"


def test_published_ports_cannot_bypass_the_firewall(host):
    rules = host.check_output("iptables -S DOCKER-USER").splitlines()
    assert any(rule.startswith("-A DOCKER-USER -i ") and rule.endswith(" -j DROP") for rule in rules), (
        "no DOCKER-USER rule drops what reaches containers from the public interface: Docker-published ports bypass "
        "ufw. Run 'make provision' (the firewall role, firewall_docker_user: true)"
    )
    assert "-A FORWARD -j DOCKER-USER" in host.check_output("iptables -S FORWARD").splitlines()


@pytest.mark.shapes(Shape.BEHIND_EDGE)
def test_the_web_app_is_open_to_the_edge_hosts_only(host, settings):
    web_app = settings["web_app"]
    assert web_app.address, "hymt_private_address is not set for this GPU host behind an edge: set it, 'make deploy'"
    let_in = let_in_before_drop(host.check_output("iptables -S DOCKER-USER"), web_app.address, web_app.port)
    assert let_in is not None, (
        f"no DOCKER-USER rule drops what reaches {web_app.hostport} from other hosts than the edge hosts: run "
        "'make provision' (the firewall role, firewall_docker_restricted_ports)"
    )
    expected = set(settings["edge_addresses"])
    assert not expected or let_in == expected, (
        f"DOCKER-USER lets {sorted(let_in)} reach {web_app.hostport} before dropping the rest; the edge hosts are "
        f"{sorted(expected)}: run 'make provision'"
    )


def test_unattended_upgrades_take_security_updates_only(host):
    config = host.check_output("apt-config dump Unattended-Upgrade APT::Periodic").splitlines()
    origins = [line for line in config if line.startswith(("Unattended-Upgrade::Origins-Pattern:: ",
                                                           "Unattended-Upgrade::Allowed-Origins:: "))]  # fmt: skip
    assert origins, "unattended-upgrades has no origins: run 'make provision' (the unattended_upgrades role)"
    others = [line.split(" ", 1)[1] for line in origins if "security" not in line]
    assert not others, f"unattended-upgrades may install more than security updates: {', '.join(others)}"
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in config, "unattended-upgrades may reboot the host"
    assert 'APT::Periodic::Unattended-Upgrade "1";' in config, "unattended-upgrades does not run daily"


# The packages the roles pin and hold, where they are installed (trixie's docker-compose only where the docker role
# pinned it, on Debian 12 with the distribution's engine).
HELD = ["docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin",
        "nvidia-container-toolkit", "nvidia-container-toolkit-base", "libnvidia-container-tools",
        "libnvidia-container1"]  # fmt: skip


def test_the_pinned_packages_are_held(host):
    pinned = HELD + (["docker-compose"] if host.file("/etc/apt/preferences.d/hymt-trixie-compose").exists else [])
    # One command for all of them (dpkg-query exits 1 when it knows some names not at all, and lists the others).
    query = "dpkg-query --show --showformat '${Package} ${Status}\\n'" + " %s" * len(pinned)
    listing = host.run(query, *pinned)
    installed, loose = pinned_packages(listing.stdout)
    assert installed, "none of the pinned Docker or NVIDIA packages is installed: run 'make provision'"
    assert not loose, f"apt upgrade would move these pinned packages: {', '.join(loose)}; run 'make provision'"


def _model_dir(host, settings) -> str:
    mounted = host.run(
        "docker ps --quiet --filter label=com.docker.compose.project=%s --filter label=com.docker.compose.service=vllm",
        settings["project"],
    ).stdout.split()
    if mounted:
        source = host.check_output(
            "docker inspect --format '{{range .Mounts}}{{if eq .Destination \"/model\"}}{{.Source}}{{end}}{{end}}' %s",
            mounted[0],
        )
        if source:
            return source
    return settings["model_dir"]


@WHERE_VLLM_RUNS
def test_the_model_files_are_there(host, settings):
    model_dir = _model_dir(host, settings)
    assert model_dir, "no model directory known: no vllm container mounts one and hymt_model_dir is unset"
    # One command: the trailing slash makes ls fail on anything but a directory.
    listing = host.run("ls -A %s", f"{model_dir.rstrip('/')}/")
    assert listing.rc == 0, f"{model_dir} does not exist: run 'make deploy' (the model role)"
    names = listing.stdout.split()
    assert "config.json" in names, f"{model_dir} has no config.json"
    assert any(name.endswith(".safetensors") for name in names), f"{model_dir} has no *.safetensors weights"
    assert any(name.startswith("tokenizer") for name in names), f"{model_dir} has no tokenizer files"
