"""The GPU paths' pins (inventory/group_vars/all/versions.yml) are the only versions, and they agree with each other."""

from __future__ import annotations

import re

import yaml

from tests.support.repo import PINS, ROOT, text_files

CUDA_IMAGES = PINS["hymt_cuda_base_images"]
MENTION = re.compile(r"(?<![\w/.-])nvidia/cuda:(?P<tag>\d[\w.+-]*)")


def test_every_cuda_base_image_mentioned_is_a_pinned_one():
    pinned = {image.split(":", 1)[1] for image in CUDA_IMAGES.values()}
    wrong = [
        f"{name}: {match.group()}"
        for name, text in text_files().items()
        for match in MENTION.finditer(text)
        if match.group("tag") not in pinned
    ]
    assert not wrong, f"versions.yml pins {sorted(CUDA_IMAGES.values())}, but:\n" + "\n".join(wrong)


def test_the_proof_images_match_the_vllm_image_variants():
    assert set(CUDA_IMAGES) == {"", "-cu129"}
    assert CUDA_IMAGES["-cu129"].split(":")[1].startswith("12.9.")
    assert int(CUDA_IMAGES[""].split(":")[1].split(".")[0]) >= 13
    # The branches the -cu129 image admits by name are those below its own CUDA 12.9 floor.
    floor = int(PINS["hymt_vllm_cu129_driver_min"].split(".")[0])
    assert all(int(branch) < floor for branch in PINS["hymt_vllm_cu129_datacenter_branches"])


def test_the_roles_read_the_gpu_pins():
    driver = yaml.safe_load((ROOT / "roles/nvidia_driver/defaults/main.yml").read_text())
    toolkit = yaml.safe_load((ROOT / "roles/nvidia_container_toolkit/defaults/main.yml").read_text())
    assert driver["nvidia_driver_cuda_keyring_version"] == "{{ hymt_cuda_keyring_version }}"
    assert "hymt_cuda_base_images[" in toolkit["nvidia_container_toolkit_verify_image"]
    tasks = (ROOT / "roles/nvidia_driver/tasks/main.yml").read_text()
    for pin in ("hymt_vllm_cuda_driver_min", "hymt_vllm_cu129_driver_min", "hymt_vllm_cu129_datacenter_branches"):
        assert pin in tasks


def test_the_stand_in_toolkit_reports_the_pinned_version_by_default():
    script = (ROOT / "tests/gpu/standin_bin/nvidia-ctk").read_text()
    assert f'"toolkit_version": "{PINS["hymt_nvidia_container_toolkit_version"]}"' in script
