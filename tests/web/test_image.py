"""The web image (make web-image): runs as a non-root user, answers /healthz, reports healthy, and translates
through a model server on its network (the fake server, in a container of the pinned Python image)."""

from __future__ import annotations

import functools
import json
import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import require
from tests.support.net import wait_until
from tests.support.repo import PINS, ROOT

pytestmark = pytest.mark.docker

WEB_IMAGE = PINS["hymt_web_image"]
PYTHON_IMAGE = PINS["hymt_python_image"]
PREFIX = "hymt-test-web-"

# The container takes a moment to listen: a refused connection means "not yet".
wait_for = functools.partial(wait_until, timeout=60, interval=0.25, not_yet=(httpx.TransportError,))


def docker(*args: str, check: bool = True, timeout: float = 120) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def image_exists(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def web_image(docker_engine) -> str:
    """The pinned web image: the one `make test` built, or built now (the same recipe)."""
    if not image_exists(WEB_IMAGE):
        require(image_exists(PYTHON_IMAGE), f"{PYTHON_IMAGE} is missing: run 'make standins' (or pull it)")
        subprocess.run(["make", "web-image"], cwd=ROOT, check=True, timeout=900)
    return WEB_IMAGE


@pytest.fixture(scope="module")
def stack(web_image) -> Iterator[dict[str, str]]:
    """A network with the fake model server and the web image on it; everything removed afterwards."""
    suffix = uuid.uuid4().hex[:8]
    network, fake, web = f"{PREFIX}net-{suffix}", f"{PREFIX}fake-{suffix}", f"{PREFIX}app-{suffix}"
    try:
        docker("network", "create", network)
        docker(
            "run", "--detach", "--name", fake, "--network", network,
            "--volume", f"{ROOT / 'tests/support/fake_openai.py'}:/fake_openai.py:ro",
            PYTHON_IMAGE, "python", "/fake_openai.py", "--host", "0.0.0.0", "--port", "8099",
        )  # fmt: skip
        docker(
            "run", "--detach", "--name", web, "--network", network,
            "--publish", "127.0.0.1::8000",
            "--health-interval", "1s",  # the image's own check, asked more often than its 15 s
            "--env", f"HYMT_UPSTREAM_URL=http://{fake}:8099/v1",
            "--env", "HYMT_SERVED_MODEL=Hunyuan-MT-7B",
            "--env", "HYMT_PROFILE=rehearsal",
            web_image,
        )  # fmt: skip
        port = docker("port", web, "8000/tcp").splitlines()[0].rsplit(":", 1)[1]
        yield {"web": web, "url": f"http://127.0.0.1:{port}"}
    finally:
        docker("rm", "--force", "--volumes", web, fake, check=False)
        docker("network", "rm", network, check=False)


def test_the_image_answers_healthz_and_its_health_check_turns_healthy(stack):
    wait_for(lambda: httpx.get(f"{stack['url']}/healthz", timeout=2).status_code == 200, "/healthz")
    status = lambda: docker("inspect", "--format", "{{.State.Health.Status}}", stack["web"])  # noqa: E731
    wait_for(lambda: status() == "healthy", "the image's HEALTHCHECK to report healthy")


def test_the_image_runs_as_a_user_without_privileges(stack):
    assert docker("exec", stack["web"], "id", "-u") != "0"
    config = json.loads(docker("image", "inspect", WEB_IMAGE))[0]["Config"]
    assert config["User"] and config["User"].split(":")[0] not in ("0", "root")


def test_the_image_translates_through_the_model_server_on_its_network(stack):
    url = stack["url"]
    wait_for(lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 200, "/readyz")
    assert httpx.get(f"{url}/api/info").json()["profile"] == "rehearsal"
    answer = httpx.post(f"{url}/api/translate", json={"text": "Guten Morgen", "target": "zh"}, timeout=30)
    assert answer.status_code == 200
    assert answer.json()["translation"] == "中文 translation of: Guten Morgen"
    assert "<title>" in httpx.get(url).text


def test_the_image_is_labelled_and_pinned(web_image):
    labels = json.loads(docker("image", "inspect", web_image))[0]["Config"]["Labels"]
    assert labels["org.opencontainers.image.version"] == PINS["hymt_version"]
    assert labels["org.opencontainers.image.title"]
