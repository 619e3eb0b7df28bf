"""The parts that cannot run here, config-checked only: Grafana's provisioning and dashboards (its image cannot be
pulled), and the overlays as Compose reads them for a GPU host (the DCGM exporter needs a GPU). Nothing here proves
Grafana or the DCGM exporter work; test_prometheus.py checks the dashboards' metrics against a real scrape."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from tests.conftest import require
from tests.monitoring.conftest import MONITORING
from tests.monitoring.promql import metric_names
from tests.support.repo import PINS, ROOT

DASHBOARDS = sorted((MONITORING / "grafana/dashboards").glob("*.json"))
PROVISIONING = MONITORING / "grafana/provisioning"
MONITORED = ("prometheus", "node-exporter", "grafana", "dcgm-exporter")


def test_the_dashboards_are_grafana_json_with_unique_ids_on_the_provisioned_source():
    source = yaml.safe_load((PROVISIONING / "datasources/prometheus.yml").read_text())["datasources"]
    assert [s["uid"] for s in source] == ["hymt-prometheus"] and source[0]["url"] == "http://prometheus:9090"
    assert [d.stem for d in DASHBOARDS] == ["service", "vllm"]
    uids = set()
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        uids.add(dashboard["uid"])
        panel_ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(panel_ids) == len(set(panel_ids)), f"{path.name}: panel ids repeat"
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == "hymt-prometheus", f"{path.name}: {panel['title']}"
            assert panel["targets"] and all(metric_names(t["expr"]) for t in panel["targets"]), panel["title"]
    assert len(uids) == len(DASHBOARDS)


def test_grafana_is_provisioned_from_the_directory_compose_mounts():
    provider = yaml.safe_load((PROVISIONING / "dashboards/hymt.yml").read_text())["providers"][0]
    grafana = yaml.safe_load((ROOT / "compose/compose.grafana.yaml").read_text())["services"]["grafana"]
    assert (
        f"${{HYMT_STACK_DIR:-.}}/monitoring/grafana/dashboards:{provider['options']['path']}:ro" in grafana["volumes"]
    )
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def compose_config() -> dict:
    """The GPU variant with every monitoring overlay, as Compose reads it."""
    files = "compose.yaml:compose.gpu.yaml:compose.monitoring.yaml:compose.monitoring.gpu.yaml:compose.grafana.yaml"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HYMT_", "COMPOSE_"))}
    env = {**clean, "COMPOSE_FILE": files, "HYMT_API_KEY": "k" * 32, "HYMT_MODEL_DIR": "/srv/m"}
    env["HYMT_GRAFANA_ADMIN_PASSWORD"] = "p" * 32
    run = subprocess.run(
        ["docker", "compose", "--env-file", ".env.example", "config", "--format", "json"],
        cwd=ROOT / "compose",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.docker
def test_the_gpu_variant_with_monitoring_is_hardened_and_publishes_on_loopback_only(docker_engine):
    ok = subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    require(ok, "docker compose (v2) is missing: run 'make docker'")
    config = compose_config()
    services = config["services"]
    for name in MONITORED:
        service = services[name]
        assert service["image"] == PINS[f"hymt_{name.replace('-', '_')}_image"]
        assert service["cap_drop"] == ["ALL"] and "cap_add" not in service, name
        assert service["security_opt"] == ["no-new-privileges:true"], name
        assert service["mem_limit"] and service["pids_limit"], name
        assert "default" not in service["networks"], name
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes {port}"
    assert {p["published"] for n in ("prometheus", "grafana") for p in services[n]["ports"]} == {"9090", "3000"}
    assert "ports" not in services["node-exporter"] and "ports" not in services["dcgm-exporter"]
    assert all(services[n]["read_only"] for n in ("prometheus", "node-exporter", "grafana"))
    devices = services["dcgm-exporter"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": -1, "capabilities": ["gpu"]}]
    # The exporters have no way out; only the network of the published ports has one.
    assert config["networks"]["monitoring"]["internal"] is True
    assert set(services["node-exporter"]["networks"]) == {"monitoring"}


@pytest.mark.docker
def test_grafana_without_a_password_is_refused_saying_what_to_set(docker_engine):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HYMT_", "COMPOSE_"))}
    env = {**clean, "COMPOSE_FILE": "compose.yaml:compose.rehearsal.yaml:compose.grafana.yaml"}
    env |= {"HYMT_API_KEY": "k" * 32, "HYMT_MODEL_DIR": "/srv/m"}
    run = subprocess.run(
        ["docker", "compose", "--env-file", ".env.example", "config"],
        cwd=ROOT / "compose",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and "set HYMT_GRAFANA_ADMIN_PASSWORD in .env" in run.stderr
