"""`hymt_mirror_preset: cn` moves every download the roles make, by the host's distribution; the inventory still wins.

Each case is a host with faked preflight facts (Debian 12 or Ubuntu 24.04) that runs
tests/ansible/playbooks/mirrors.yml: the roles' defaults are loaded as in the real playbooks (the lowest precedence,
below the inventory) and reported; none of their tasks runs. The URLs expected here are transcribed from USTC's
mirror help pages (mirrors.ustc.edu.cn/help/: debian, debian-security, ubuntu, docker-ce, libnvidia-container), not
read from the preset's table, so that a wrong table fails. That the roles really use these values is proven in
tests/gpu/, where the ubuntu host is provisioned with the cn preset through stand-ins served under the mirrors' paths.
"""

from __future__ import annotations

import pytest

from tests.ansible.conftest import A10, GPU_SERVER_GROUPS, Case

DEBIAN_12 = {"preflight_distribution": "Debian", "preflight_release": "12", "preflight_codename": "bookworm"}
UBUNTU_2404 = {"preflight_distribution": "Ubuntu", "preflight_release": "24.04", "preflight_codename": "noble"}

USTC = "https://mirrors.ustc.edu.cn"
NVIDIA_TOOLKIT_KEY = "https://nvidia.github.io/libnvidia-container/gpgkey"
NVIDIA_CUDA = "https://developer.download.nvidia.com/compute/cuda/repos"


def sources_case(facts: dict, **host_vars) -> Case:
    return Case(groups=GPU_SERVER_GROUPS, host_vars=host_vars, facts=facts, playbook="mirrors.yml")


# Values a user writes in the inventory, next to the preset.
OVERRIDES = {
    "docker_ce_mirror": "https://mirrors.tuna.tsinghua.edu.cn/docker-ce",
    "base_apt_security_mirror": "",
    "nvidia_driver_cuda_repository_mirror": "https://cuda-mirror.example.net/compute/cuda/repos",
    "model_hub": "huggingface",
    "model_endpoint": "https://hf-mirror.com",
    "docker_daemon_registry_mirrors": ["https://registry.example.net"],
}

CASES = {
    "sources-without-preset-debian-12": sources_case(DEBIAN_12),
    "sources-cn-debian-12": sources_case(DEBIAN_12, hymt_mirror_preset="cn"),
    "sources-cn-ubuntu-2404": sources_case(UBUNTU_2404, hymt_mirror_preset="cn"),
    "sources-cn-overridden-ubuntu-2404": sources_case(UBUNTU_2404, hymt_mirror_preset="cn", **OVERRIDES),
    "sources-own-apt-mirror-debian-12": sources_case(DEBIAN_12, base_apt_mirror="https://debian.example.net/debian"),
    # preflight, on a host it otherwise accepts
    "preflight-unknown-mirror-preset": Case(host_vars={"hymt_mirror_preset": "china"}),
    "preflight-cn-preset": Case(
        groups=GPU_SERVER_GROUPS, facts={"preflight_nvidia_gpus": [A10]}, host_vars={"hymt_mirror_preset": "cn"}
    ),
    "preflight-cn-preset-with-registry-mirror": Case(
        groups=GPU_SERVER_GROUPS,
        facts={"preflight_nvidia_gpus": [A10]},
        host_vars={"hymt_mirror_preset": "cn", "docker_daemon_registry_mirrors": ["https://registry.example.net"]},
    ),
    "preflight-cn-preset-rehearsal": Case(host_vars={"hymt_mirror_preset": "cn"}),
}

WITHOUT_PRESET_DEBIAN_12 = {
    "base_apt_mirror": "",
    "base_apt_security_mirror": "",
    "docker_ce_mirror": "https://download.docker.com",
    "docker_ce_repository_url": "https://download.docker.com/linux/debian",
    "docker_ce_gpg_key_url": "https://download.docker.com/linux/debian/gpg",
    "docker_debian_archive_url": "http://deb.debian.org/debian",
    "docker_daemon_registry_mirrors": [],
    "nvidia_driver_cuda_repository_mirror": NVIDIA_CUDA,
    "nvidia_driver_debian_mirror": "http://deb.debian.org/debian",
    "nvidia_container_toolkit_repository_url": "https://nvidia.github.io/libnvidia-container/stable/deb",
    "nvidia_container_toolkit_gpg_key_url": NVIDIA_TOOLKIT_KEY,
    "model_hub": "huggingface",
    "model_endpoint": "",
}

CN_DEBIAN_12 = {
    "base_apt_mirror": f"{USTC}/debian",
    "base_apt_security_mirror": f"{USTC}/debian-security",
    "docker_ce_mirror": f"{USTC}/docker-ce",
    "docker_ce_repository_url": f"{USTC}/docker-ce/linux/debian",
    "docker_ce_gpg_key_url": f"{USTC}/docker-ce/linux/debian/gpg",
    "docker_debian_archive_url": f"{USTC}/debian",
    # The preset names no registry mirror: the public ones have mostly closed.
    "docker_daemon_registry_mirrors": [],
    # No documented mirror of NVIDIA's CUDA repository: NVIDIA's own.
    "nvidia_driver_cuda_repository_mirror": NVIDIA_CUDA,
    "nvidia_driver_debian_mirror": f"{USTC}/debian",
    "nvidia_container_toolkit_repository_url": f"{USTC}/libnvidia-container/stable/deb",
    # USTC's instructions take the key from NVIDIA's site.
    "nvidia_container_toolkit_gpg_key_url": NVIDIA_TOOLKIT_KEY,
    "model_hub": "modelscope",
    "model_endpoint": "",
}

# Ubuntu: its own archive, security updates in the same tree, Docker's Ubuntu repository. The Debian archive is used
# on Debian hosts only (trixie's Compose v2, contrib for NVIDIA's driver).
CN_UBUNTU_2404 = CN_DEBIAN_12 | {
    "base_apt_mirror": f"{USTC}/ubuntu",
    "base_apt_security_mirror": f"{USTC}/ubuntu",
    "docker_ce_repository_url": f"{USTC}/docker-ce/linux/ubuntu",
    "docker_ce_gpg_key_url": f"{USTC}/docker-ce/linux/ubuntu/gpg",
}
DEBIAN_ONLY = {"docker_debian_archive_url", "nvidia_driver_debian_mirror"}

EXPECTED_SOURCES = {
    "sources-without-preset-debian-12": WITHOUT_PRESET_DEBIAN_12,
    "sources-cn-debian-12": CN_DEBIAN_12,
    "sources-cn-ubuntu-2404": CN_UBUNTU_2404,
    # Every value the inventory sets wins; the others stay the preset's.
    "sources-cn-overridden-ubuntu-2404": CN_UBUNTU_2404
    | OVERRIDES
    | {
        "docker_ce_repository_url": "https://mirrors.tuna.tsinghua.edu.cn/docker-ce/linux/ubuntu",
        "docker_ce_gpg_key_url": "https://mirrors.tuna.tsinghua.edu.cn/docker-ce/linux/ubuntu/gpg",
    },
    # A Debian mirror of the user's own also serves Debian's contrib component to the NVIDIA driver.
    "sources-own-apt-mirror-debian-12": WITHOUT_PRESET_DEBIAN_12
    | {
        "base_apt_mirror": "https://debian.example.net/debian",
        "nvidia_driver_debian_mirror": "https://debian.example.net/debian",
    },
}


def reported_sources(local_runs, name: str) -> dict:
    run = local_runs.result(name)
    assert run.succeeded(name), run.explain(name)
    reports = [r.result["msg"] for r in run.results if r.host == name and r.task == "Report the download sources"]
    assert len(reports) == 1, run.explain(name)
    return reports[0]


@pytest.mark.parametrize("name", sorted(EXPECTED_SOURCES))
def test_each_role_downloads_from_the_sources_of_the_preset_and_the_inventory(local_runs, name):
    reported = reported_sources(local_runs, name)
    expected = EXPECTED_SOURCES[name]
    if CASES[name].facts["preflight_distribution"] != "Debian":
        reported = {key: value for key, value in reported.items() if key not in DEBIAN_ONLY}
        expected = {key: value for key, value in expected.items() if key not in DEBIAN_ONLY}
    assert reported == expected


def test_an_unknown_preset_is_refused_with_the_known_ones(local_runs):
    message = local_runs.result("preflight-unknown-mirror-preset").refusal("preflight-unknown-mirror-preset")
    for words in ["hymt_mirror_preset is 'china'", "must be '' (every download from its own site) or one of cn"]:
        assert words in message
    assert "inventory/group_vars/all/mirrors.yml" in message


def test_preflight_says_where_the_preset_sends_the_downloads_and_that_images_still_come_from_docker_hub(local_runs):
    name = "preflight-cn-preset"
    run = local_runs.result(name)
    assert run.succeeded(name), run.explain(name)
    [note] = [message for message in run.messages(name) if message.startswith("Mirror preset")]
    assert note.startswith(f"Mirror preset cn for Debian: apt {USTC}/debian, apt_security {USTC}/debian-security,")
    assert f"docker_ce {USTC}/docker-ce" in note
    assert "model_hub modelscope" in note
    assert "Docker images: the official ones (vLLM, Caddy) from Docker Hub: the preset names no registry mirror" in note
    assert "docker_daemon_registry_mirrors" in note


@pytest.mark.parametrize(
    ("name", "images"),
    [
        (
            "preflight-cn-preset-with-registry-mirror",
            "the official ones (vLLM, Caddy) through your registry mirrors https://registry.example.net.",
        ),
        ("preflight-cn-preset-rehearsal", "shipped from the control machine (the rehearsal profile)."),
    ],
)
def test_preflight_says_where_the_images_come_from_instead(local_runs, name, images):
    run = local_runs.result(name)
    assert run.succeeded(name), run.explain(name)
    assert any(f"Docker images: {images}" in message for message in run.messages(name)), run.explain(name)
