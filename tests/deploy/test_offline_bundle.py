"""The offline bundle (`make bundle`), for hosts that cannot pull: one tar with the stack's images, the model and
SHA256SUMS, checked on the control machine before anything is copied, and then the only source of a host that has
lost its images and its model. Runs on the package's rehearsal host, in whatever state test_lifecycle.py left it."""

from __future__ import annotations

import contextlib
import os
import tarfile
import time
from pathlib import Path

import pytest
import requests

from tests.deploy.conftest import run_make
from tests.support.playbook import run_playbook
from tests.support.repo import PINS, ROOT

pytestmark = [pytest.mark.docker, pytest.mark.rehearsal_host]

DEPLOY = ROOT / "playbooks/deploy.yml"
TEARDOWN = ROOT / "playbooks/teardown.yml"
IMAGES = [PINS["hymt_vllm_cpu_image"], PINS["hymt_web_image"], PINS["hymt_caddy_image"]]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    path = tmp_path_factory.mktemp("bundle") / "hymt-rehearsal.tar"
    started = time.monotonic()
    made = run_make("bundle", "PROFILE=rehearsal", "MODEL=1", f"BUNDLE={path}", timeout=1200)
    assert made.returncode == 0, made.stdout[-4000:] + made.stderr[-2000:]
    print(
        f"\nmake bundle PROFILE=rehearsal MODEL=1: {time.monotonic() - started:.0f} s, {path.stat().st_size >> 20} MiB"
    )
    yield path
    path.unlink()  # gigabytes the rest of the test run may need


def test_the_bundle_holds_the_images_the_model_and_their_checksums(bundle):
    with tarfile.open(bundle) as archive:
        names = set(archive.getnames())
    assert {"./bundle.json", "./SHA256SUMS", "./model/hymt-model.json", "./model/config.json"} <= names
    assert len([n for n in names if n.startswith("./images/") and n.endswith(".tar")]) == len(IMAGES)


def test_a_damaged_bundle_is_refused_before_anything_reaches_the_host(bundle, rehearsal, host):
    before = host_state(host)
    with flipped_byte(bundle):  # inside one of the image archives
        run = run_playbook(DEPLOY, rehearsal.inventory, extra_vars={"images_bundle": str(bundle)}, timeout=1200)
    message = run.failure_messages(rehearsal.name)[-1]
    assert f"The bundle {bundle} is damaged" in message and "FAILED" in message, message
    assert "Copy it again" in message
    assert host_state(host) == before


@contextlib.contextmanager
def flipped_byte(path: Path):
    """The file with its middle byte flipped (a new modification time, as a copy damaged in transit has), then
    restored with its times: damaged in place, since a copy would take gigabytes of the test run's disk."""
    times = path.stat()
    with path.open("r+b") as file:
        file.seek(times.st_size // 2)
        good = file.read(1)
        file.seek(-1, 1)
        file.write(bytes([good[0] ^ 0xFF]))
    try:
        yield
    finally:
        with path.open("r+b") as file:
            file.seek(times.st_size // 2)
            file.write(good)
        os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))


def host_state(host) -> str:
    """What a deploy could have touched on the host: its stack and model files (with their times) and its images."""
    files = host.check_output("find /opt/hymt /srv/hymt -printf '%p %T@\\n' 2>/dev/null | sort || true")
    return files + "\n" + host.check_output("docker image ls --quiet --no-trunc | sort")


def test_a_host_without_images_or_model_is_deployed_from_the_bundle(bundle, rehearsal, host):
    gone = run_playbook(TEARDOWN, rehearsal.inventory, extra_vars={"teardown_model": True}, timeout=600)
    assert gone.succeeded(rehearsal.name), gone.explain()
    host.check_output("docker image rm " + " ".join(IMAGES))
    assert not host.file("/srv/hymt/models/hymt-rehearsal").exists
    started = time.monotonic()
    run = run_playbook(DEPLOY, rehearsal.inventory, extra_vars={"images_bundle": str(bundle)}, timeout=1800)
    print(f"\ndeploy.yml from the bundle: {time.monotonic() - started:.0f} s")
    assert run.succeeded(rehearsal.name), run.explain()
    loaded = [r for r in run.results if r.task.endswith("Load the images into the host's engine")][-1]
    assert sorted(item["item"]["reference"] for item in loaded.result["results"]) == sorted(IMAGES)
    said = [r.message for r in run.results if r.task.endswith("model : Say what the host holds")][-1]
    assert said.startswith("Fetched the model"), said
    response = requests.post(f"{rehearsal.url}/api/translate", json={"text": "Hello", "target": "fr"}, timeout=60)
    assert response.status_code == 200, response.text
    again = run_playbook(DEPLOY, rehearsal.inventory, extra_vars={"images_bundle": str(bundle)}, timeout=900)
    assert again.succeeded(rehearsal.name) and again.changed_count(rehearsal.name) == 0, again.explain(rehearsal.name)
