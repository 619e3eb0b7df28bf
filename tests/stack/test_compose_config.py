"""The compose files as Compose itself reads them: the GPU variant (which cannot run here), the rehearsal variant,
and the documented environment example, which must carry the pins of versions.yml."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from hymt.core import catalogue
from hymt.provision.stack import Gpu, vllm_profile
from hymt_web import Settings
from tests.conftest import require
from tests.support.repo import PINS, ROOT

COMPOSE = ROOT / "compose"
ENV_EXAMPLE = dict(
    line.split("=", 1) for line in (COMPOSE / ".env.example").read_text().splitlines() if line and line[0] != "#"
)


def compose_config(*env_files: str, **env: str) -> subprocess.CompletedProcess:
    args = ["docker", "compose"] + [a for f in env_files for a in ("--env-file", f)] + ["config", "--format", "json"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HYMT_", "COMPOSE_"))}
    return subprocess.run(args, cwd=COMPOSE, env={**clean, **env}, capture_output=True, text=True, timeout=60)


def config(*env_files: str, **env: str) -> dict:
    run = compose_config(*env_files, **env)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.fixture(scope="module", autouse=True)
def compose_v2(docker_engine):
    ok = subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    require(ok, "docker compose (v2) is missing: run 'make docker'")


REQUIRED = {"HYMT_API_KEY": "k" * 32, "HYMT_MODEL_DIR": "/srv/hymt/models/Hunyuan-MT-7B"}


def test_env_example_carries_the_pins_of_versions_yml():
    assert ENV_EXAMPLE["HYMT_VLLM_IMAGE"] == PINS["hymt_vllm_image"]
    assert ENV_EXAMPLE["HYMT_VLLM_IMAGE_VARIANT"] == PINS["hymt_vllm_image_variant"]
    assert ENV_EXAMPLE["HYMT_VLLM_CPU_IMAGE"] == PINS["hymt_vllm_cpu_image"]
    assert ENV_EXAMPLE["HYMT_WEB_IMAGE"] == PINS["hymt_web_image"]
    assert ENV_EXAMPLE["HYMT_CADDY_IMAGE"] == PINS["hymt_caddy_image"]
    for name in ("prometheus", "node_exporter", "grafana", "dcgm_exporter"):
        assert ENV_EXAMPLE[f"HYMT_{name.upper()}_IMAGE"] == PINS[f"hymt_{name}_image"]


def test_the_gpu_variant_reserves_nvidia_gpus_for_the_official_image():
    services = config(".env.example", **REQUIRED)["services"]
    vllm = services["vllm"]
    assert vllm["image"] == PINS["hymt_vllm_image"]
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": -1, "capabilities": ["gpu"]}]  # -1 is Compose's "all"
    # Its own IPC namespace with a large /dev/shm, not the host's (docs/security.md); the host's stays a setting.
    assert vllm["ipc"] == "private" and int(vllm["shm_size"]) >= 8 << 30
    assert config(".env.example", HYMT_VLLM_IPC="host", **REQUIRED)["services"]["vllm"]["ipc"] == "host"
    # The image's entrypoint is `vllm serve`: the command starts with the model, never with "serve".
    assert vllm["command"][0] == "/model"
    assert "--served-model-name" in vllm["command"] and "Hunyuan-MT-7B" in vllm["command"]
    assert {"source": REQUIRED["HYMT_MODEL_DIR"], "target": "/model", "read_only": True}.items() <= next(
        v for v in vllm["volumes"] if v["target"] == "/model"
    ).items()
    assert vllm["environment"]["VLLM_API_KEY"] == REQUIRED["HYMT_API_KEY"]
    assert "VLLM_SERVER_DEV_MODE" not in vllm["environment"]


def test_the_gpu_variant_publishes_only_the_proxy():
    services = config(".env.example", **REQUIRED)["services"]
    assert "ports" not in services["vllm"] and "ports" not in services["web"]
    assert sorted(p["target"] for p in services["proxy"]["ports"]) == [80, 443]
    assert services["vllm"]["networks"].keys() == {"backend"}
    # Neither vLLM nor the web app has a network with a way out; the proxy's ports are on `edge`, its own.
    networks = config(".env.example", **REQUIRED)["networks"]
    assert services["web"]["networks"].keys() == {"backend", "web"}
    assert networks["backend"]["internal"] is True and networks["web"]["internal"] is True
    assert services["proxy"]["networks"].keys() == {"web", "edge"} and not networks["edge"].get("internal")
    assert services["web"]["environment"]["HYMT_UPSTREAM_URL"] == "http://vllm:8000/v1"


def test_the_web_app_believes_the_client_address_only_from_the_networks_the_proxy_lives_in():
    web = config(".env.example", **REQUIRED)["services"]["web"]
    trusted = Settings.from_env(web["environment"]).trusted_proxies  # a value the web app accepts
    assert trusted == ["172.16.0.0/12", "192.168.0.0/16", "10.0.0.0/8"]  # Docker's address pools, never public ones
    assert "ports" not in web  # so nothing but the proxy, vLLM and the host can reach it with a forged header
    tuned = config(".env.example", HYMT_CLIENT_RATE="10", HYMT_FORWARDED_ALLOW_IPS="172.30.0.2", **REQUIRED)
    environment = tuned["services"]["web"]["environment"]
    assert (environment["HYMT_CLIENT_RATE"], environment["HYMT_FORWARDED_ALLOW_IPS"]) == ("10", "172.30.0.2")


def test_access_control_is_off_by_default_and_its_files_are_mounted_read_only():
    services = config(".env.example", **REQUIRED)["services"]
    web, proxy = services["web"], services["proxy"]
    assert Settings.from_env(web["environment"]).access_keys is None  # open unless HYMT_ACCESS_KEYS_FILE is set
    mounts = {(v["target"], v.get("read_only", False)) for s in (web, proxy) for v in s.get("volumes", [])}
    assert {("/etc/hymt/access", True), ("/etc/caddy/access", True)} <= mounts
    private = config(".env.example", HYMT_ACCESS_KEYS_FILE="/etc/hymt/access/keys-1", **REQUIRED)
    assert private["services"]["web"]["environment"]["HYMT_ACCESS_KEYS_FILE"] == "/etc/hymt/access/keys-1"


def test_gpu_count_and_the_cuda12_image_variant_are_settings():
    vllm = config(".env.example", HYMT_GPU_COUNT="2", HYMT_VLLM_IMAGE_VARIANT="-cu129", **REQUIRED)["services"]["vllm"]
    assert vllm["image"] == PINS["hymt_vllm_image"] + "-cu129"
    assert vllm["deploy"]["resources"]["reservations"]["devices"][0]["count"] == 2


def test_gpus_can_be_picked_by_id_with_the_example_override(tmp_path):
    override = tmp_path / "compose.gpu-ids.yaml"
    override.write_text((COMPOSE / "compose.gpu-ids.example.yaml").read_text().replace('["0"]', '["1", "3"]'))
    files = f"compose.yaml:compose.gpu.yaml:{override}"
    vllm = config(".env.example", COMPOSE_FILE=files, **REQUIRED)["services"]["vllm"]
    assert vllm["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "device_ids": ["1", "3"], "capabilities": ["gpu"]}
    ]


# The rehearsal's variant, as the stack role (its .env) and tools/scripts/stack (its local.env) choose it.
REHEARSAL = {"COMPOSE_FILE": "compose.yaml:compose.rehearsal.yaml", "HYMT_PROFILE": "rehearsal"}


def test_the_rehearsal_variant_runs_the_cpu_image_without_gpus():
    services = config(".env.example", "rehearsal.env", **REHEARSAL, **REQUIRED)["services"]
    vllm = services["vllm"]
    assert vllm["image"] == PINS["hymt_vllm_cpu_image"]
    assert "deploy" not in vllm
    assert int(vllm["shm_size"]) >= 1 << 30
    # rehearsal.env's settings for vLLM on the CPU reach its command line.
    assert " --dtype bfloat16 " in " " + " ".join(vllm["command"]) + " "
    assert services["web"]["environment"]["HYMT_PROFILE"] == "rehearsal"


def test_every_service_is_pinned_restarts_rotates_logs_and_has_a_health_check():
    for env_files, variant in (((".env.example",), {}), ((".env.example", "rehearsal.env"), REHEARSAL)):
        for name, service in config(*env_files, **variant, **REQUIRED)["services"].items():
            assert not service["image"].endswith(":latest") and ":" in service["image"], name
            assert service["restart"] == "unless-stopped", name
            assert service["logging"]["options"]["max-size"], name
            # web's health check is its image's HEALTHCHECK; the others declare one here.
            assert name == "web" or service["healthcheck"]["test"], name


@pytest.mark.parametrize("missing", ["HYMT_API_KEY", "HYMT_MODEL_DIR"])
def test_a_missing_required_setting_is_named(missing):
    run = compose_config(".env.example", **{**REQUIRED, missing: ""})
    assert run.returncode != 0
    assert missing in run.stderr and "set " + missing in run.stderr


def test_every_service_drops_capabilities_and_is_limited_in_both_variants():
    for env_files, variant in (((".env.example",), {}), ((".env.example", "rehearsal.env"), REHEARSAL)):
        services = config(*env_files, **variant, **REQUIRED)["services"]
        for name, service in services.items():
            assert service["cap_drop"] == ["ALL"], name
            assert service["security_opt"] == ["no-new-privileges:true"], name
            assert int(service["mem_limit"]) > 0 and int(service["pids_limit"]) > 0, name
            assert service.get("privileged") is not True and "network_mode" not in service, name
            assert not any("docker.sock" in str(v.get("source", "")) for v in service.get("volumes", [])), name
            assert service.get("cap_add", []) == (["NET_BIND_SERVICE"] if name == "proxy" else []), name
        for name in ("web", "proxy"):
            assert services[name]["read_only"] is True and services[name]["tmpfs"] == ["/tmp"], name
        assert "ipc" not in services["vllm"] or services["vllm"]["ipc"] != "host"
    gpu = config(".env.example", **REQUIRED)["services"]["vllm"]
    rehearsal = config(".env.example", "rehearsal.env", **REHEARSAL, **REQUIRED)["services"]["vllm"]
    assert int(gpu["mem_limit"]) == 32 << 30 and int(rehearsal["mem_limit"]) == 4 << 30


def test_the_limits_are_settings():
    services = config(".env.example", HYMT_WEB_MEM_LIMIT="1g", HYMT_VLLM_MEM_LIMIT="64g", HYMT_VLLM_PIDS_LIMIT="8192",
                      HYMT_PROXY_PIDS_LIMIT="100", HYMT_VLLM_SHM_SIZE="16g", **REQUIRED)["services"]  # fmt: skip
    assert int(services["web"]["mem_limit"]) == 1 << 30 and int(services["vllm"]["mem_limit"]) == 64 << 30
    assert services["vllm"]["pids_limit"] == 8192 and services["proxy"]["pids_limit"] == 100
    assert int(services["vllm"]["shm_size"]) == 16 << 30


def test_every_setting_of_the_compose_files_is_documented_in_the_env_example():
    import re

    text = "\n".join(line.split(" #")[0] for f in COMPOSE.glob("compose*.yaml") for line in f.read_text().splitlines()
                     if not line.lstrip().startswith("#"))  # fmt: skip
    used = set(re.findall(r"\$\{(\w+)", text))
    documented = set(re.findall(r"^#? ?(\w+)=", (COMPOSE / ".env.example").read_text(), flags=re.M))
    assert used - documented == set()


def flags(command: list[str]) -> str:
    return " " + " ".join(command) + " "


def test_the_vllm_settings_the_stack_role_writes_reach_vllms_command_line():
    # What the stack role writes into .env for two L40S serving the FP8 model, asked to pool them and to turn prefix
    # caching off.
    chosen = vllm_profile(
        [Gpu("NVIDIA L40S", 46068, "8.9")] * 2,
        catalogue.find("tencent/Hunyuan-MT-7B-fp8"),
        overrides={"tensor_parallel_size": 2, "enable_prefix_caching": False},
    )
    command = flags(config(".env.example", **chosen.env(), **REQUIRED)["services"]["vllm"]["command"])
    for flag, value in (
        ("--max-model-len", "4096"),
        ("--max-num-seqs", "256"),
        ("--max-num-batched-tokens", "8192"),
        ("--kv-cache-dtype", "fp8"),
        ("--tensor-parallel-size", "2"),
        ("--gpu-memory-utilization", "0.90"),
    ):
        assert f" {flag} {value} " in command, command
    assert " --no-enable-prefix-caching " in command and " --enable-prefix-caching " not in command


def test_the_rehearsal_runs_vllm_with_the_values_it_always_had():
    command = flags(config(".env.example", "rehearsal.env", **REHEARSAL, **REQUIRED)["services"]["vllm"]["command"])
    for part in (
        "--max-num-seqs 16",
        "--max-num-batched-tokens 2048",
        "--enable-prefix-caching",
        "--tensor-parallel-size 1",
    ):
        assert f" {part} " in command, command


@pytest.mark.parametrize("env_files", [(".env.example",), (".env.example", "rehearsal.env")], ids=["gpu", "rehearsal"])
def test_vllm_s_cache_root_is_a_named_volume_of_its_own(env_files):
    compose = config(*env_files, **(REHEARSAL if "rehearsal.env" in env_files else {}), **REQUIRED)
    vllm = compose["services"]["vllm"]
    cache = vllm["environment"]["VLLM_CACHE_ROOT"]
    mounted = [v for v in vllm["volumes"] if v["target"] == cache]
    # A named volume (kept across a recreate, never a host directory), writable: vLLM writes its cache there.
    assert [(v["type"], v["source"], v.get("read_only", False)) for v in mounted] == [("volume", "vllm_cache", False)]
    assert "vllm_cache" in compose["volumes"]
    # Only vLLM mounts it.
    assert not [v for name in ("web", "proxy") for v in compose["services"][name].get("volumes", [])
                if v.get("source") == "vllm_cache"]  # fmt: skip
