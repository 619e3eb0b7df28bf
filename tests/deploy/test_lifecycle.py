"""The deployment's lifecycle on the rehearsal host, the way k3s-ansible and community.docker test theirs: converge
from nothing with `make rehearse` (site.yml: provision, deploy, verify), converge again with changed=0, change one
setting and roll it out, roll out a broken release and see the previous one come back, tear down.

The tests run in this order on one rehearsal host (tests/deploy/conftest.py); each stage says how long it took.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.support.playbook import PlaybookRun, run_playbook
from tests.support.repo import PINS, ROOT

pytestmark = [pytest.mark.docker, pytest.mark.rehearsal_host]

SITE = ROOT / "playbooks/site.yml"
DEPLOY = ROOT / "playbooks/deploy.yml"
TEARDOWN = ROOT / "playbooks/teardown.yml"
STACK = "/opt/hymt/stack"
SERVICES = {"vllm", "web", "proxy"}


def timed(playbook, rehearsal, **options) -> PlaybookRun:
    started = time.monotonic()
    run = run_playbook(playbook, rehearsal.inventory, timeout=1800, **options)
    print(f"\n{playbook.name} {options.get('extra_vars') or ''}: {time.monotonic() - started:.0f} s")
    return run


def containers(host) -> dict[str, str]:
    """service -> container id, of the stack's project on the host."""
    listing = host.check_output(
        "docker ps --filter label=com.docker.compose.project=hymt "
        "--format '{{.Label \"com.docker.compose.service\"}} {{.ID}}'"
    )
    return dict(line.split() for line in listing.splitlines() if line.strip())


def key_digest(host) -> str:
    """A digest of the API key on the host (the key itself is never read into the test's output)."""
    return host.check_output(f"sha256sum {STACK}/secrets/api_key").split()[0]


def release(host) -> str:
    return host.check_output(f"readlink {STACK}/current").rsplit("/", 1)[-1]


def vllm_args(host) -> str:
    return host.check_output("docker inspect hymt-vllm-1 --format '{{join .Args \" \"}}'")


def translates(url: str) -> None:
    response = requests.post(f"{url}/api/translate", json={"text": "Good morning", "target": "zh"}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["translation"].strip()


def test_make_rehearse_goes_from_nothing_to_a_verified_service(rehearsal):
    assert "failed=0" in rehearsal.output and "unreachable=0" in rehearsal.output
    # site.yml's last play runs hymt verify against the inventory, with the rehearsal's profile.
    assert "hymt verify: profile rehearsal" in rehearsal.output
    assert f"Verified: the translation page is at {rehearsal.url}" in rehearsal.output
    assert rehearsal.made.stdout.rstrip().endswith(f"rehearse: the translation service is ready: open {rehearsal.url}")
    assert rehearsal.url.startswith("http://127.0.0.1:")
    page = requests.get(rehearsal.url, timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()
    translates(rehearsal.url)


def test_the_stack_runs_in_the_hosts_own_engine_with_a_key_made_there(rehearsal, host):
    assert set(containers(host)) == SERVICES
    health = host.check_output("docker inspect --format '{{.State.Health.Status}}' hymt-vllm-1 hymt-web-1 hymt-proxy-1")
    assert health.split() == ["healthy"] * 3
    assert host.check_output("docker inspect --format '{{.Config.Image}}' hymt-vllm-1") == PINS["hymt_vllm_cpu_image"]
    key = host.file(f"{STACK}/secrets/api_key")
    assert (key.user, key.group, key.mode) == ("root", "root", 0o600)
    assert host.run(f"grep -Eqx '[0-9a-f]{{64}}' {STACK}/secrets/api_key").rc == 0, "not 32 random bytes in hex"
    env = host.file(f"{STACK}/current/.env")
    assert (env.user, env.mode) == ("root", 0o600)
    # The key appears nowhere the project writes for others to read: not in the run's output, not in labels.
    secret = host.check_output(f"cat {STACK}/secrets/api_key")
    labels = host.check_output("docker inspect --format '{{json .Config.Labels}}' hymt-vllm-1 hymt-web-1 hymt-proxy-1")
    assert secret not in rehearsal.output and secret not in labels


def test_a_second_run_changes_nothing_and_asks_no_room_for_what_the_host_holds(rehearsal):
    # The host holds every image and the whole model: a re-run pulls nothing, so Docker's need for room to pull
    # (here more than any disk has) does not count against it.
    run = timed(SITE, rehearsal, extra_vars={"preflight_docker_min_free_gb": 1_000_000})
    assert run.succeeded(rehearsal.name), run.explain()
    assert run.changed_count(rehearsal.name) == 0, run.explain(rehearsal.name)


def test_a_run_with_mitogens_strategy_changes_nothing_and_verifies(rehearsal):
    # The faster way to re-run (ANSIBLE_STRATEGY=mitogen_linear, docs/performance.md): the same site.yml, hymt verify
    # included, converges with nothing to change. A strategy Ansible cannot load fails the run.
    run = timed(SITE, rehearsal, strategy="mitogen_linear")
    assert run.succeeded(rehearsal.name), run.explain()
    assert run.changed_count(rehearsal.name) == 0, run.explain(rehearsal.name)
    assert "strategy plugins not included in ansible.builtin" in run.stderr, "the run did not use Mitogen's strategy"


def test_one_changed_setting_recreates_only_the_service_it_touches(rehearsal, host):
    before, key, old_release = containers(host), key_digest(host), release(host)
    run = timed(DEPLOY, rehearsal, extra_vars={"stack_env": {"HYMT_VLLM_MAX_NUM_SEQS": 8}})
    assert run.succeeded(rehearsal.name), run.explain()
    after = containers(host)
    assert after["vllm"] != before["vllm"]
    assert {s: after[s] for s in ("web", "proxy")} == {s: before[s] for s in ("web", "proxy")}
    assert "--max-num-seqs 8" in vllm_args(host)
    assert release(host) != old_release
    assert key_digest(host) == key, "the API key changed"
    translates(rehearsal.url)


def test_vllm_keeps_its_cache_on_its_volume_across_a_recreate(rehearsal, host):
    # The test before recreated vLLM: the new container mounts the same named volume as its cache root, and the cache
    # vLLM wrote there (the model's inspection results, on the CPU image) is in it, written by vLLM's own user.
    mounts = host.check_output(
        "docker inspect --format '{{range .Mounts}}{{.Name}}={{.Destination}} {{end}}' hymt-vllm-1"
    )
    assert "hymt_vllm_cache=/var/cache/vllm" in mounts.split()
    env = host.check_output("docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' hymt-vllm-1")
    assert "VLLM_CACHE_ROOT=/var/cache/vllm" in env.splitlines()
    files = host.check_output("docker exec hymt-vllm-1 find /var/cache/vllm -type f -user vllm").split()
    assert any("/modelinfos/" in name for name in files), files


def test_a_release_that_does_not_become_ready_is_rolled_back(rehearsal, host):
    good = release(host)
    broken = {"stack_env": {"HYMT_VLLM_MAX_NUM_SEQS": 8, "HYMT_VLLM_DTYPE": "no-such-dtype"}}
    run = timed(DEPLOY, rehearsal, extra_vars=broken)
    assert not run.succeeded(rehearsal.name), run.explain()
    # The failed wait is rescued; the play then fails with one message that says what happened.
    message = run.failure_messages(rehearsal.name)[-1]
    assert "did not become ready" in message and "keeps restarting" in message, message
    assert f"Rolled back to release {good}, which serves again." in message, message
    failed = message.split("Release ", 1)[1].split(" ", 1)[0]
    assert f"{STACK}/releases/{failed}/failed.log" in message
    assert "invalid choice: 'no-such-dtype'" in message  # vLLM's own last words
    assert "invalid choice: 'no-such-dtype'" in host.file(f"{STACK}/releases/{failed}/failed.log").content_string
    assert release(host) == good
    assert "--dtype bfloat16" in vllm_args(host)
    assert host.check_output("docker inspect --format '{{.State.Health.Status}}' hymt-vllm-1") == "healthy"
    translates(rehearsal.url)


def test_teardown_removes_the_stack_and_keeps_the_model_and_the_host(rehearsal, host):
    run = timed(TEARDOWN, rehearsal)
    assert run.succeeded(rehearsal.name), run.explain()
    label = "label=com.docker.compose.project=hymt"
    for kind in ("ps -a", "network ls"):
        assert host.check_output(f"docker {kind} -q --filter {label}") == "", f"docker {kind} still lists some"
    # Caddy's certificates and keys stay for the next deploy unless asked.
    volumes = host.check_output(f"docker volume ls -q --filter {label}").split()
    assert sorted(volumes) == ["hymt_caddy_config", "hymt_caddy_data", "hymt_vllm_cache"]
    assert not host.file(STACK).exists
    assert host.file("/srv/hymt/models/hymt-rehearsal/hymt-model.json").exists, "the model went too"
    assert not host.file("/etc/systemd/system/hymt-watchdog.timer").exists
    assert host.service("docker").is_running
    everything = timed(TEARDOWN, rehearsal, extra_vars={"stack_teardown_volumes": True})
    assert everything.succeeded(rehearsal.name), everything.explain()
    assert host.check_output(f"docker volume ls -q --filter {label}") == ""
    again = timed(TEARDOWN, rehearsal, extra_vars={"stack_teardown_volumes": True})
    assert again.succeeded(rehearsal.name) and again.changed_count(rehearsal.name) == 0, again.explain()
