"""The stack role's certificate expiry job on the provisioned rehearsal host (systemd): installed with the monitoring
profile, it runs hymt-cert-expiry from a timer against Caddy's certificates under the given Docker data root and writes
hymt_tls.prom; a second run changes nothing; without the profile it is removed with its file. The certificates are
made on the host with openssl req -x509 (the role installs openssl); the script's own cases are tests/ansible's."""

from __future__ import annotations

import pytest

from tests.support.playbook import ROOT, run_playbook

pytestmark = [pytest.mark.docker, pytest.mark.rehearsal_host]

PLAYBOOK = ROOT / "tests/infra/playbooks/cert_expiry.yml"
# A data root of its own: the host's Docker would take directories under its real volumes/ for volumes.
DATA_ROOT = "/srv/hymt-test-docker-root"
CERTIFICATES = f"{DATA_ROOT}/volumes/hymt_caddy_data/_data/caddy/certificates/acme-v02.api.letsencrypt.org-directory"
TEXTFILE = "/srv/hymt-test-textfile"
SETTINGS = {
    "preflight_docker_data_root": DATA_ROOT,
    "stack_node_exporter_textfile_dir": TEXTFILE,
    "stack_project": "hymt",
}


def converge(rehearsal_host, monitoring: bool):
    run = run_playbook(PLAYBOOK, rehearsal_host.inventory, extra_vars=SETTINGS | {"stack_monitoring": monitoring})
    assert run.succeeded(rehearsal_host.name), run.explain(rehearsal_host.name)
    return run


def make_certificate(host, domain: str, days: int) -> tuple[int, int]:
    folder = f"{CERTIFICATES}/{domain}"
    before = int(host.check_output("date +%s"))
    host.check_output(
        f"mkdir -p {folder} && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        f" -subj /CN={domain} -days {days} -keyout {folder}/{domain}.key -out {folder}/{domain}.crt 2>/dev/null"
    )
    after = int(host.check_output("date +%s")) + 1
    return before + days * 86400, after + days * 86400


def run_service(host) -> int:
    host.run("systemctl start hymt-cert-expiry.service")
    return int(host.check_output("systemctl show hymt-cert-expiry.service -p ExecMainStatus --value"))


def expiry(host) -> dict[str, int]:
    lines = host.file(f"{TEXTFILE}/hymt_tls.prom").content_string.splitlines()
    return {
        line.split('"')[1]: int(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith("hymt_tls_certificate_expiry_seconds{")
    }


@pytest.fixture(scope="module")
def installed(rehearsal_host, host):
    first = converge(rehearsal_host, monitoring=True)
    yield first
    converge(rehearsal_host, monitoring=False)
    host.run(f"rm -rf {DATA_ROOT} {TEXTFILE}")


def test_the_job_is_installed_with_a_running_timer_and_a_second_run_changes_nothing(rehearsal_host, host, installed):
    assert installed.changed_count(rehearsal_host.name) > 0
    assert host.package("openssl").is_installed
    assert host.service("hymt-cert-expiry.timer").is_enabled
    assert host.service("hymt-cert-expiry.timer").is_running
    again = converge(rehearsal_host, monitoring=True)
    assert again.changed_count(rehearsal_host.name) == 0, again.changed_tasks(rehearsal_host.name)


def test_the_service_writes_each_domains_end_and_skips_a_damaged_file(rehearsal_host, host, installed):
    assert run_service(host) == 0  # no certificate yet (plain HTTP): a file without samples
    assert host.file(f"{TEXTFILE}/hymt_tls.prom").exists and expiry(host) == {}
    low, high = make_certificate(host, "site.example", 10)
    damaged = f"{CERTIFICATES}/bad.example/bad.example.crt"
    host.check_output(f"mkdir -p {CERTIFICATES}/bad.example && echo damaged > {damaged}")
    assert run_service(host) == 1
    found = expiry(host)
    assert list(found) == ["site.example"] and low <= found["site.example"] <= high
    journal = host.check_output("journalctl -u hymt-cert-expiry --no-pager -o cat")
    assert f"skipped {damaged}" in journal
    assert host.file(f"{TEXTFILE}/hymt_tls.prom").mode == 0o644
    host.check_output(f"rm -r {CERTIFICATES}/bad.example")
    assert run_service(host) == 0


def test_without_the_monitoring_profile_the_job_and_its_file_are_removed(rehearsal_host, host, installed):
    removed = converge(rehearsal_host, monitoring=False)
    assert removed.changed_count(rehearsal_host.name) > 0
    for path in (
        "/etc/systemd/system/hymt-cert-expiry.timer",
        "/etc/systemd/system/hymt-cert-expiry.service",
        "/usr/local/lib/hymt/hymt_cert_expiry.py",
        f"{TEXTFILE}/hymt_tls.prom",
    ):
        assert not host.file(path).exists, path
    again = converge(rehearsal_host, monitoring=False)
    assert again.changed_count(rehearsal_host.name) == 0, again.changed_tasks(rehearsal_host.name)
    converge(rehearsal_host, monitoring=True)  # as the other tests of the module expect it
