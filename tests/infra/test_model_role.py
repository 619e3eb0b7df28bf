"""The model role on the VM-like rehearsal host, over SSH: `hymt model fetch` runs on the host itself, in the web
image moved in with docker save | docker load, against a stand-in hub in a container of this machine's engine
(reached from the host's own engine through Docker's bridge, published nowhere). A second run is skipped with
changed=0; a corrupted file stops the play with the tool's message; the rehearsal profile copies the generated model
from the control machine through the same manifest and check."""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import time

import pytest
import yaml

from hymt.rehearsal import generate
from tests.support.fake_hub import tiny_repository
from tests.support.net import wait_until
from tests.support.playbook import ROOT, PlaybookRun, run_playbook
from tests.support.rehearsal_hosts import container_address

pytestmark = [pytest.mark.docker, pytest.mark.rehearsal_host]

PINS = yaml.safe_load((ROOT / "inventory/group_vars/all/versions.yml").read_text())
PLAYBOOK = ROOT / "tests/infra/playbooks/model.yml"
REPO = "hymt-test/tiny-mt"
FILES = tiny_repository(REPO)
MODELS = "/srv/hymt/models"


@pytest.fixture(scope="module")
def web_image_inside(first_converge, rehearsal_host) -> str:
    """The web image (which carries hymt model fetch) moved into the host's engine, as the images role will."""
    image = PINS["hymt_web_image"]
    started = time.monotonic()
    saved = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    loaded = subprocess.run(
        rehearsal_host.ssh_command("sudo", "docker", "load"), stdin=saved.stdout, capture_output=True, text=True
    )
    saved.stdout.close()
    assert saved.wait() == 0 and loaded.returncode == 0, loaded.stderr
    print(f"docker save | docker load of {image}: {time.monotonic() - started:.0f} s")
    return image


@pytest.fixture(scope="module")
def hub_url(docker_engine):
    """The stand-in hub in a container on this machine's default bridge: the rehearsal host reaches it by address."""
    name = f"hymt-test-hub-{secrets.token_hex(4)}"
    script = ROOT / "tests/support/fake_hub.py"
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "-v", f"{script}:/srv/fake_hub.py:ro", PINS["hymt_python_image"],
         "python", "/srv/fake_hub.py", "--host", "0.0.0.0", "--port", "8000", "--cdn-port", "8001", "--repo", REPO],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        url = f"http://{container_address(name)}:8000"
        wait_until(lambda: "fake hub on" in hub_log(name), "the stand-in hub to start", timeout=30)
        yield url, name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def hub_log(name: str) -> str:
    return subprocess.run(["docker", "logs", name], capture_output=True, text=True).stdout


def run_role(rehearsal_host, **variables) -> tuple[PlaybookRun, float]:
    started = time.monotonic()
    run = run_playbook(PLAYBOOK, rehearsal_host.inventory, extra_vars=variables, timeout=600)
    return run, time.monotonic() - started


@pytest.fixture(scope="module")
def hub_role(rehearsal_host, web_image_inside, hub_url):
    url, _ = hub_url
    variables = {"model_id": REPO, "model_dir": f"{MODELS}/tiny-mt", "model_source": "hub", "model_endpoint": url}
    yield lambda: run_role(rehearsal_host, **variables)
    subprocess.run(rehearsal_host.ssh_command("sudo", "rm", "-rf", MODELS), capture_output=True)


@pytest.fixture(scope="module")
def first_fetch(hub_role):
    return hub_role()


def test_the_role_fetches_the_model_on_the_host(first_fetch, host, rehearsal_host, hub_url):
    run, seconds = first_fetch
    name = rehearsal_host.name
    assert run.succeeded(name), run.explain()
    assert any(task.endswith("Fetch the model on the host with hymt model fetch") for task in run.changed_tasks())
    for path, data in FILES.items():
        assert host.file(f"{MODELS}/tiny-mt/{path}").sha256sum == hashlib.sha256(data).hexdigest(), path
    assert host.file(f"{MODELS}/tiny-mt/hymt-model.json").exists
    # The weights came straight to the host: every download the hub saw came from the host's address.
    downloads = [
        line
        for line in hub_log(hub_url[1]).splitlines()
        if " GET " in line and ("/cdn/" in line or "/resolve/" in line)
    ]
    assert downloads and {line.split()[0] for line in downloads} == {container_address(name)}
    print(f"model role, first run (fetch): {seconds:.0f} s")


def test_a_second_run_is_skipped_with_changed_0(first_fetch, hub_role, rehearsal_host, hub_url):
    assert first_fetch[0].succeeded(rehearsal_host.name)
    before = hub_log(hub_url[1])
    second, seconds = hub_role()
    assert second.succeeded(rehearsal_host.name), second.explain()
    assert second.changed_count(rehearsal_host.name) == 0, second.explain()
    assert any(m.startswith(f"The model is complete: /models/tiny-mt holds {REPO}") for m in second.messages())
    assert hub_log(hub_url[1]) == before  # the check asked the hub nothing
    print(f"model role, second run (check, skipped): {seconds:.0f} s")


def test_a_corrupted_file_stops_the_play_with_the_tools_message(first_fetch, hub_role, host, rehearsal_host):
    assert first_fetch[0].succeeded(rehearsal_host.name)
    host.check_output(
        "python3 -c \"import sys; f = open(sys.argv[1], 'r+b'); f.seek(777); b = f.read(1); f.seek(777); "
        f'f.write(bytes([b[0] ^ 1]))" {MODELS}/tiny-mt/model.safetensors'
    )
    stopped, _ = hub_role()
    message = stopped.refusal(rehearsal_host.name)
    assert message.startswith(
        f"The model on {rehearsal_host.name} is damaged: hymt: error: {MODELS}/tiny-mt is not "
        "complete: 1 of 6 files are missing, short or corrupt: model.safetensors: corrupt"
    ), message
    assert "set model_repair=true" in message


def test_the_rehearsal_profile_copies_the_generated_model(rehearsal_host, web_image_inside, host, tmp_path_factory):
    source = tmp_path_factory.mktemp("control") / "hymt-rehearsal"
    generate(source)
    # The rehearsal group's profile makes control the source: only the model and its directories are given.
    variables = {
        "model_id": "hymt-rehearsal",
        "model_dir": f"{MODELS}/hymt-rehearsal",
        "model_control_dir": str(source),
    }
    first, seconds = run_role(rehearsal_host, **variables)
    assert first.succeeded(rehearsal_host.name), first.explain()
    assert any(task.endswith("Upload the model from the control machine") for task in first.changed_tasks())
    for path in source.iterdir():
        if path.name == "hymt-model.json":  # the copy's own manifest says it is a copy
            continue
        assert (
            host.file(f"{MODELS}/hymt-rehearsal/{path.name}").sha256sum == hashlib.sha256(path.read_bytes()).hexdigest()
        )
    assert not host.file(f"{MODELS}/.hymt-rehearsal.hymt-upload").exists
    assert "copied from" in host.file(f"{MODELS}/hymt-rehearsal/hymt-model.json").content_string
    second, again = run_role(rehearsal_host, **variables)
    assert second.changed_count(rehearsal_host.name) == 0, second.explain()
    print(f"model role, rehearsal copy: {seconds:.0f} s, then skipped: {again:.0f} s")
