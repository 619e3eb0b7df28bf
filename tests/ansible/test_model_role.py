"""The model role on this machine's Docker engine (connection: local), against the stand-in hub: it runs
`hymt model fetch` and `hymt model check` in the web image, skips a complete model, stops on a damaged one with the
tool's message, repairs on request, copies a model the control machine holds, and keeps a token out of the log.

The stand-in hub listens on the Docker bridge's own address, where the role's containers reach it and nothing
outside this machine does. The same role on the VM-like rehearsal host, over SSH: tests/infra/test_model_role.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hymt.model.manifest import read_manifest
from hymt.rehearsal import generate
from tests.conftest import require
from tests.support.fake_hub import FakeHub, tiny_repository
from tests.support.playbook import ROOT, PlaybookRun, run_playbook, write_inventory

pytestmark = pytest.mark.docker

PLAYBOOK = ROOT / "tests/ansible/playbooks/model.yml"
WEB_IMAGE = yaml.safe_load((ROOT / "inventory/group_vars/all/versions.yml").read_text())["hymt_web_image"]
REPO = "hymt-test/tiny-mt"
GATED = "hymt-test/gated-mt"
TOKEN = "hf_role-test-token-7f3a"
FILES = tiny_repository(REPO)


def bridge_address() -> str | None:
    """The address of Docker's default bridge on this machine (docker0), where containers reach the host."""
    shown = subprocess.run(["ip", "-4", "-o", "addr", "show", "docker0"], capture_output=True, text=True)
    fields = shown.stdout.split()
    return fields[fields.index("inet") + 1].split("/")[0] if "inet" in fields else None


@pytest.fixture(scope="module")
def image(docker_engine) -> str:
    found = subprocess.run(
        ["docker", "run", "--rm", WEB_IMAGE, "python", "-c", "import huggingface_hub, hymt.cli.model"],
        capture_output=True,
    )
    require(found.returncode == 0, f"{WEB_IMAGE} without hymt model fetch: run 'make web-image'")
    return WEB_IMAGE


@pytest.fixture(scope="module")
def hub(image):
    address = bridge_address()
    require(address is not None, "no docker0 bridge on this machine")
    hub = FakeHub(host=address).start()
    hub.add_repo(REPO, FILES)
    gated = hub.add_repo(GATED, tiny_repository(GATED))
    gated.token, gated.gated = TOKEN, True
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def inventory(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("model-role")
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    return write_inventory(directory, {"all": {"hosts": {"control": host}}})


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """The models' directory of the "host", shared by the tests of this module (each leaves its model intact)."""
    return tmp_path_factory.mktemp("host") / "models"


@pytest.fixture(scope="module")
def first_run(inventory, hub, models) -> PlaybookRun:
    return role(inventory, hub, models / "tiny-mt")


def role(inventory: Path, hub: FakeHub, model_dir: Path, check: bool = False, **variables) -> PlaybookRun:
    """A run of the role (`check`: with --check --diff)."""
    extra = {"model_id": REPO, "model_dir": str(model_dir), "model_source": "hub", "model_endpoint": hub.url}
    return run_playbook(PLAYBOOK, inventory, extra_vars=extra | variables, check=check, diff=check, timeout=900)


def downloads(hub: FakeHub) -> list[str]:
    return [
        entry.path
        for entry in hub.log
        if entry.method == "GET" and ("/resolve/" in entry.path or "/cdn/" in entry.path)
    ]


def test_fetches_then_skips_a_complete_model(inventory, hub, models, first_run):
    first = first_run
    assert first.succeeded("control"), first.explain()
    assert "Fetch the model on the host with hymt model fetch" in " ".join(first.changed_tasks())
    assert any(m.startswith(f"Fetched the model: fetched {REPO} from huggingface") for m in first.messages())
    assert read_manifest(models / "tiny-mt").repo_id == REPO
    for path, data in FILES.items():
        assert (models / "tiny-mt" / path).read_bytes() == data
    assert (models.stat().st_uid, oct(models.stat().st_mode & 0o777)) == (10001, "0o755")

    hub.log.clear()
    second = role(inventory, hub, models / "tiny-mt")
    assert second.succeeded("control") and second.changed_count("control") == 0, second.explain()
    assert any(m.startswith(f"The model is complete: /models/tiny-mt holds {REPO}") for m in second.messages())
    assert hub.log == []  # the check needs no hub

    checked = role(inventory, hub, models / "tiny-mt", check=True)
    assert checked.succeeded("control") and checked.changed_count("control") == 0, checked.explain()


def test_a_check_run_on_a_fresh_host_says_it_would_fetch_and_changes_nothing(inventory, hub, tmp_path):
    fresh = tmp_path / "fresh" / "models"
    hub.log.clear()
    checked = role(inventory, hub, fresh / "tiny-mt", check=True)
    assert checked.succeeded("control"), checked.explain()
    assert f"Would fetch the model (there is none at {fresh / 'tiny-mt'})." in checked.messages()
    assert not fresh.exists() and hub.log == []


def test_a_damaged_model_stops_the_play_with_the_tools_message_and_is_repaired_on_request(
    inventory, hub, models, first_run
):
    assert first_run.succeeded("control")
    weights = models / "tiny-mt/model.safetensors"
    data = bytearray(weights.read_bytes())
    data[4242] ^= 0xFF
    weights.write_bytes(bytes(data))

    stopped = role(inventory, hub, models / "tiny-mt")
    message = stopped.refusal("control")
    assert message.startswith("The model on control is damaged: hymt: error:"), message
    assert (
        f"{models}/tiny-mt is not complete: 1 of 6 files are missing, short or corrupt: model.safetensors: corrupt"
        in message
    )
    assert "set model_repair=true" in message
    assert "/models/" not in message.replace(str(models), "")  # the host's paths, not the container's

    hub.log.clear()
    repaired = role(inventory, hub, models / "tiny-mt", model_repair=True)
    assert repaired.succeeded("control"), repaired.explain()
    assert [path.split("/")[1] for path in downloads(hub)] == ["cdn"]  # only the damaged file
    assert weights.read_bytes() == FILES["model.safetensors"]


def test_a_revision_other_than_the_one_held_is_fetched(inventory, hub, models, first_run):
    assert first_run.succeeded("control")
    repo = hub.repos[REPO.casefold()]
    old = repo.refs["main"]
    new = repo.add_commit({**FILES, "config.json": b"{}\n"}, "main")
    try:
        unchanged = role(inventory, hub, models / "tiny-mt")  # no revision: the recorded commit stays
        assert unchanged.changed_count("control") == 0, unchanged.explain()
        hub.log.clear()
        moved = role(inventory, hub, models / "tiny-mt", model_revision=new)
        assert moved.succeeded("control") and moved.changed_count("control") > 0, moved.explain()
        assert read_manifest(models / "tiny-mt").commit == new
        assert [path.rsplit("/", 1)[-1] for path in downloads(hub)] == ["config.json"]
    finally:
        repo.refs["main"] = old
        assert role(inventory, hub, models / "tiny-mt", model_revision=old).succeeded("control")


def test_a_gated_model_needs_the_token_and_the_token_stays_out_of_the_log(inventory, hub, models):
    without = role(inventory, hub, models / "gated", model_id=GATED)
    message = without.refusal("control")
    assert f"hymt model fetch {GATED} failed on control: hymt: error: {GATED} is gated: it needs a token" in message

    with_token = role(inventory, hub, models / "gated", model_id=GATED, model_token=TOKEN)
    assert with_token.succeeded("control"), with_token.explain()
    assert TOKEN not in with_token.stdout and TOKEN not in with_token.stderr
    assert read_manifest(models / "gated").repo_id == GATED


def test_the_rehearsal_model_is_copied_from_the_control_machine(inventory, hub, models, tmp_path):
    source = tmp_path / "control" / "hymt-rehearsal"
    generate(source)
    variables = {"model_id": "hymt-rehearsal", "model_source": "control", "model_control_dir": str(source)}
    first = role(inventory, hub, models / "hymt-rehearsal", **variables)
    assert first.succeeded("control"), first.explain()
    copied = read_manifest(models / "hymt-rehearsal")
    assert copied.hub == "local" and copied.source.startswith("copied from /models/.hymt-rehearsal.hymt-upload")
    assert (
        not (models / ".hymt-rehearsal.hymt-upload").exists() and not (models / ".hymt-rehearsal.hymt-fetch").exists()
    )
    second = role(inventory, hub, models / "hymt-rehearsal", **variables)
    assert second.changed_count("control") == 0, second.explain()


def test_a_control_directory_without_a_model_is_refused_saying_how_to_make_one(inventory, hub, models, tmp_path):
    variables = {"model_id": "hymt-rehearsal", "model_source": "control", "model_control_dir": str(tmp_path / "none")}
    message = role(inventory, hub, models / "not-copied", **variables).refusal("control")
    assert f"{tmp_path / 'none'} on the control machine does not hold a complete model" in message
    assert "does not exist" in message and "make rehearsal-model" in message
    assert not (models / "not-copied").exists()


def test_a_missing_image_is_named(inventory, hub, models):
    message = role(inventory, hub, models / "tiny-mt", model_image="hymt/not-there:0.0.0").refusal("control")
    assert "The image hymt/not-there:0.0.0 is not on control" in message
