"""Prometheus for real (the pinned image; a stand-in from Debian's package where it cannot be pulled) beside a running
rehearsal stack: it scrapes vLLM, the web app and the node exporter, sees a translation in the web app's counter, has
loaded the rules, finds every metric the rules and dashboards read from those targets, and answers on 127.0.0.1
only. Grafana and the DCGM exporter cannot run here (no registry serves their images, no GPU): their files are
config-checked in test_dashboards.py and tests/stack."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
import urllib.request

import httpx
import pytest
import yaml

from tests.monitoring.conftest import MONITORING, RULES
from tests.monitoring.promql import metric_names
from tests.support.net import connects, wait_until

pytestmark = pytest.mark.docker
SCRAPED_JOBS = {"prometheus", "vllm", "web", "node"}
# Metrics the rules and dashboards read that no target here can export: the GPUs' (NVIDIA's DCGM exporter, GPU hosts
# only; names transcribed from NVIDIA's list of the exporter's default counters) and the certificates' expiry (written
# for the textfile collector on hosts with a domain).
NOT_HERE = {"DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_GPU_UTIL"}
# What hymt-cert-expiry writes on a host with a domain (roles/stack/files/hymt_cert_expiry.py), for a certificate that
# ends in 60 days: the rehearsal stack serves plain HTTP, so the test writes it in the node exporter's directory.
EXPIRES = int(time.time()) + 60 * 86400
CERTIFICATE_METRIC = (
    "# HELP hymt_tls_certificate_expiry_seconds When the certificate Caddy serves for a domain ends.\n"
    "# TYPE hymt_tls_certificate_expiry_seconds gauge\n"
    f'hymt_tls_certificate_expiry_seconds{{domain="rehearsal.example"}} {EXPIRES}\n'
)


def api(port: int, path: str, **params: str) -> dict:
    url = f"http://127.0.0.1:{port}/api/v1/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    with urllib.request.urlopen(url, timeout=10) as answer:
        body = json.load(answer)
    assert body["status"] == "success", body
    return body["data"]


def targets(port: int) -> dict[str, list[str]]:
    """Health of each active target, by job."""
    found: dict[str, list[str]] = {}
    for target in api(port, "targets", state="active")["activeTargets"]:
        found.setdefault(target["labels"]["job"], []).append(target["health"])
    return found


def value(port: int, query: str) -> float:
    result = api(port, "query", query=query)["result"]
    return float(result[0]["value"][1]) if result else 0.0


@pytest.fixture(scope="module")
def prometheus(monitored_stack) -> int:
    """Prometheus's port, once every target has been scraped successfully (the first scrape comes within 15 s)."""
    stack, port = monitored_stack
    (stack.textfile_dir / "hymt_tls.prom").write_text(CERTIFICATE_METRIC, encoding="utf-8")
    (stack.textfile_dir / "hymt_tls.prom").chmod(0o644)
    wait_until(
        lambda: all(targets(port).get(job) == ["up"] for job in SCRAPED_JOBS),
        f"every target up: {SCRAPED_JOBS}",
        timeout=120,
        interval=2,
        not_yet=(OSError, KeyError),
    )
    # The node exporter may have been scraped "up" before the file above was written: wait for a scrape that read it.
    wait_until(
        lambda: value(port, "hymt_tls_certificate_expiry_seconds") == EXPIRES,
        "the node exporter's scrape of the certificate's expiry file",
        timeout=60,
        interval=2,
    )
    return port


def test_prometheus_scrapes_vllm_the_web_app_and_the_host(prometheus):
    found = targets(prometheus)
    assert {job: found.get(job) for job in SCRAPED_JOBS} == {job: ["up"] for job in SCRAPED_JOBS}
    # The DCGM exporter is found by name, and there is none without a GPU: no target rather than one always down.
    assert "dcgm" not in found
    assert value(prometheus, 'up{job="vllm"}') == 1.0


def test_a_translation_moves_the_web_apps_request_counter(prometheus, monitored_stack):
    stack, _ = monitored_stack
    query = 'sum(hymt_web_requests_total{route="/api/translate",status="200"})'
    before = value(prometheus, query)
    answer = httpx.post(f"{stack.url}/api/translate", json={"text": "Good morning", "target": "de"}, timeout=60)
    assert answer.status_code == 200, answer.text
    wait_until(lambda: value(prometheus, query) >= before + 1, f"{query} above {before}", timeout=60, interval=2)
    # vLLM counted the request too (the gateway sends one request upstream for a short text).
    wait_until(lambda: value(prometheus, "sum(vllm:request_success_total)") >= 1, "vLLM's success counter", 60, 2)


def test_the_alert_rules_are_loaded(prometheus):
    loaded = {rule["name"] for group in api(prometheus, "rules")["groups"] for rule in group["rules"]}
    written = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}
    assert loaded == written

    # Nothing is wrong with a healthy stack, so none of its alerts fires. The host's own (the node exporter's: disk and
    # memory) follow the machine the tests run on: one writing gigabytes of images in minutes is "filling up" by the
    # rule's extrapolation. Their firing and quiet cases are promtool's (rules.test.yml).
    def stack_alerts(state: str | None = None) -> list[dict]:
        alerts = api(prometheus, "alerts")["alerts"]
        return [a for a in alerts if a["labels"].get("job") != "node" and state in (None, a["state"])]

    assert stack_alerts("firing") == []
    # One scrape that times out on a busy CPU vLLM makes VllmDown pending until the next one answers: that is what the
    # rules' `for:` absorbs. A healthy stack has none pending within two scrape intervals and an evaluation.
    wait_until(lambda: stack_alerts() == [], "no stack alert pending or firing", timeout=60, interval=3)


def test_every_metric_the_rules_and_dashboards_read_is_scraped_here_or_known(prometheus):
    scraped = set(api(prometheus, "label/__name__/values"))
    exprs = [rule["expr"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]
    for dashboard in (MONITORING / "grafana/dashboards").glob("*.json"):
        exprs += [
            target["expr"] for panel in json.loads(dashboard.read_text())["panels"] for target in panel["targets"]
        ]
    read = set().union(*(metric_names(expr) for expr in exprs))
    # Histograms are scraped as _bucket, _sum and _count; the check is on what the expressions name.
    missing = read - scraped - NOT_HERE
    assert not missing, f"not exported by the pinned vLLM, the web app or the node exporter: {sorted(missing)}"


def test_the_node_exporter_reads_the_hosts_root_file_system(prometheus):
    assert value(prometheus, 'node_filesystem_size_bytes{mountpoint="/"}') > 0
    # and not its own container's bind mounts, which would repeat the host's file systems in the disk alerts.
    mountpoints = {
        series["mountpoint"] for series in api(prometheus, "series", **{"match[]": "node_filesystem_size_bytes"})
    }
    assert not mountpoints & {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/textfile"}, sorted(mountpoints)


def test_the_certificates_expiry_reaches_prometheus_through_the_textfile_collector(prometheus):
    query = 'hymt_tls_certificate_expiry_seconds{domain="rehearsal.example"}'
    wait_until(lambda: value(prometheus, query) == EXPIRES, f"{query} = {EXPIRES}", timeout=60, interval=2)
    assert value(prometheus, 'node_textfile_mtime_seconds{file=~".*hymt_tls.prom"}') > 0


def test_prometheus_answers_on_127_0_0_1_only(prometheus, monitored_stack):
    stack, port = monitored_stack
    assert connects("127.0.0.1", port)
    published = json.loads(stack.compose("config", "--format", "json").stdout)["services"]["prometheus"]["ports"]
    assert [(p["host_ip"], p["published"]) for p in published] == [("127.0.0.1", str(port))]
    # Every other address of this host: its interfaces' addresses, as the kernel routes to the outside and to Docker.
    others = {address for address in host_addresses() if not address.startswith("127.")}
    assert others, "no address of this host besides loopback to try"
    reachable = [address for address in others if connects(address, port)]
    assert not reachable, f"Prometheus's port {port} answers on {reachable}"
    # The node exporter publishes nothing.
    assert "ports" not in json.loads(stack.compose("config", "--format", "json").stdout)["services"]["node-exporter"]


def host_addresses() -> set[str]:
    """This host's IPv4 addresses (ip -4 addr: every interface, Docker's bridges included)."""
    import subprocess

    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    addresses = {line.split()[3].split("/")[0] for line in out.splitlines()}
    # And the one the default route leaves from, in case `ip` lists none.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))
        addresses.add(probe.getsockname()[0])
    return addresses
