"""The base images the project pins are here under their official names and behave like the official images.

On a machine without a registry (CI) they are stand-ins built by tests/standins/build from Debian's packages: these
tests check that they are labelled as such and that they do what the product's Dockerfiles and compose file rely on.
The behaviour checks hold for the official images as well.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import require
from tests.support.repo import PINS, ROOT

pytestmark = pytest.mark.docker

IMAGES = {name: PINS[f"hymt_{name}_image"] for name in ("debian", "python", "caddy")}
BUILDER = ROOT / "tests/standins/build"
STAGE_CA = ROOT / "tools/scripts/stage-ca"


def docker(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def image_config(image: str) -> dict:
    return json.loads(docker("image", "inspect", "--format", "{{json .Config}}", image).stdout)


def constraint(package: str) -> str:
    """The exact version constraints.txt (the one place for Python pins) gives a package."""
    text = (ROOT / "constraints.txt").read_text()
    match = re.search(rf"^{re.escape(package)}==(\S+)$", text, re.MULTILINE | re.IGNORECASE)
    assert match, f"constraints.txt pins no {package}"
    return match.group(1)


@pytest.fixture(scope="session")
def images(docker_engine) -> dict[str, str]:
    missing = [image for image in IMAGES.values() if docker("image", "inspect", image, check=False).returncode]
    require(not missing, f"missing {', '.join(missing)}; run 'make standins'")
    return IMAGES


@pytest.fixture
def container() -> Iterator[str]:
    """A unique container name; the container is removed afterwards whatever happened."""
    name = f"hymt-test-a-{uuid.uuid4().hex[:10]}"
    yield name
    docker("rm", "--force", "--volumes", name, check=False)


@pytest.fixture
def scratch_image() -> Iterator[str]:
    """A unique tag for an image a test builds; removed afterwards."""
    tag = f"hymt-test-a-build:{uuid.uuid4().hex[:10]}"
    yield tag
    docker("rmi", "--force", tag, check=False)


def test_rerunning_the_builder_keeps_every_image(images):
    result = subprocess.run(
        [str(BUILDER), "--no-pull"], capture_output=True, text=True, timeout=600, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    for image in images.values():
        assert f"{image}: stand-in up to date" in result.stderr or f"{image}: the official image is here" in (
            result.stderr
        )
    assert "building" not in result.stderr


def test_the_builder_rejects_an_unknown_argument():
    result = subprocess.run([str(BUILDER), "--fast"], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert "unknown argument '--fast'" in result.stderr


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_a_standin_says_it_is_one_and_an_official_image_is_left_as_it_is(images, name):
    """On a machine that cannot pull (CI here) the tag holds a stand-in, which must say so; on one that can (a laptop,
    a hosted CI) it holds the official image, which the builder must neither replace nor label."""
    image = images[name]
    labels = image_config(image).get("Labels") or {}
    if labels.get("org.hymt.standin") == "true":
        assert labels["org.hymt.standin.for"] == image
        description = labels["org.opencontainers.image.description"]
        assert description.startswith(f"Stand-in for {image}") and "Not the official image" in description
    else:
        assert not any(key.startswith("org.hymt.standin") for key in labels), labels
        result = subprocess.run(
            [str(BUILDER), "--no-pull", name], capture_output=True, text=True, timeout=600, check=False, cwd=ROOT
        )
        assert result.returncode == 0, result.stderr
        assert f"{image}: the official image is here" in result.stderr


def test_debian_installs_packages_without_their_documentation(images, container):
    script = (
        "apt-get update -qq && apt-get install -y -qq --no-install-recommends hello >/dev/null"
        " && hello && ls /usr/share/doc/hello && . /etc/os-release && echo $VERSION_CODENAME"
    )
    output = docker("run", "--name", container, images["debian"], "sh", "-c", script).stdout.split()
    # Like the official slim image: only the copyright file of a package's documentation is installed.
    assert output == ["Hello,", "world!", "copyright", "bookworm"]


def test_python_looks_like_the_official_image(images, container):
    image = images["python"]
    tag_version = image.split(":")[1].split("-")[0]
    script = (
        "for tool in python python3 pip pip3; do command -v $tool; done"
        ' && python -c \'import os, sys; print("%d.%d" % sys.version_info[:2], os.environ["LANG"],'
        ' os.environ["PYTHON_VERSION"])\''
    )
    output = docker("run", "--name", container, image, "sh", "-c", script).stdout.split()
    assert output[:4] == [
        "/usr/local/bin/python",
        "/usr/local/bin/python3",
        "/usr/local/bin/pip",
        "/usr/local/bin/pip3",
    ]
    series, lang, python_version = output[4:]
    assert tag_version.startswith(series + ".")
    assert lang == "C.UTF-8"
    assert python_version == tag_version
    assert image_config(image)["Cmd"] == ["python3"]


def test_python_makes_virtual_environments_with_pip(images, container):
    script = "python -m venv /tmp/venv && /tmp/venv/bin/python -m pip --version"
    output = docker("run", "--name", container, "--network", "none", images["python"], "sh", "-c", script).stdout
    assert re.match(r"pip \d+\.\d+", output) and "/tmp/venv/" in output


def test_a_build_on_python_installs_from_pypi_through_the_staged_ca(images, tmp_path, scratch_image, container):
    # The image build convention of every Dockerfile here: the staged extra CA, update-ca-certificates, PIP_CERT.
    bundle = os.environ.get("HYMT_EXTRA_CA", os.environ.get("PIP_CERT", ""))
    staged = subprocess.run(
        [str(STAGE_CA), bundle],
        env={**os.environ, "HYMT_CA_DIR": str(tmp_path / "build/ca")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert staged.returncode == 0, staged.stderr
    package, version = "iniconfig", constraint("iniconfig")
    (tmp_path / "Dockerfile").write_text(
        "ARG BASE_IMAGE\n"
        "FROM ${BASE_IMAGE}\n"
        "COPY build/ca/ /usr/local/share/ca-certificates/hymt/\n"
        "RUN if ls /usr/local/share/ca-certificates/hymt/*.crt >/dev/null 2>&1; then update-ca-certificates; fi\n"
        "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n"
        f"RUN pip install --no-cache-dir --no-input {package}=={version}\n"
    )
    build_args = ["--quiet", "--pull=false", "--no-cache", "--build-arg", f"BASE_IMAGE={images['python']}"]
    docker("build", *build_args, "--tag", scratch_image, str(tmp_path), timeout=600)
    probe = f"import {package}, importlib.metadata as m; print({package}.__file__, m.version('{package}'))"
    where, installed = docker("run", "--name", container, scratch_image, "python", "-c", probe).stdout.split()
    # pip installs for the whole image, where the official image puts packages.
    assert where.startswith("/usr/local/lib/python3.") and "/site-packages/" in where
    assert installed == version


def test_caddy_is_laid_out_like_the_official_image(images):
    config = image_config(images["caddy"])
    assert config["Cmd"] == ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
    assert config["WorkingDir"] == "/srv"
    assert {"XDG_CONFIG_HOME=/config", "XDG_DATA_HOME=/data"} <= set(config["Env"])
    assert {"80/tcp", "443/tcp", "443/udp", "2019/tcp"} <= set(config["ExposedPorts"])


def get(url: str, deadline: float) -> tuple[int, str]:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_caddy_serves_a_caddyfile(images, tmp_path, container):
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(':80 {\n\trespond "served by {system.hostname}" 200\n}\n')
    docker("create", "--name", container, "--hostname", container, "--publish", "127.0.0.1::80", images["caddy"])
    docker("cp", str(caddyfile), f"{container}:/etc/caddy/Caddyfile")
    docker("start", container)
    host_port = docker("port", container, "80/tcp").stdout.split()[0]
    assert host_port.startswith("127.0.0.1:")
    status, body = get(f"http://{host_port}/", deadline=time.monotonic() + 60)
    assert (status, body) == (200, f"served by {container}")
    # The stack's health check: the admin endpoint, asked with the image's own wget.
    health = docker("exec", container, "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:2019/config/", check=False)
    assert health.returncode == 0, health.stderr
    # Its state goes where the official image keeps it (XDG_CONFIG_HOME=/config).
    assert docker("exec", container, "test", "-s", "/config/caddy/autosave.json", check=False).returncode == 0
