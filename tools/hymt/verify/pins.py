"""The pins `hymt verify` judges a deployment by: its images, and the settings the nvidia_driver role decides a host's
driver with (the inventory's variables, which include inventory/group_vars/all/versions.yml, or that file alone).
The rules themselves are the role's: hymt.provision.nvidia_driver."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hymt.provision.nvidia_driver import CU129


@dataclass(frozen=True)
class ImagePins:
    """The pinned images and the driver settings of the vLLM image (inventory/group_vars/all/versions.yml)."""

    vllm_image: str
    variant: str = ""
    cuda13_driver_min: str = ""
    cu129_driver_min: str = ""
    cu129_datacenter_branches: tuple[str, ...] = ()
    # What the nvidia_driver role installs (nvidia_driver_branch, else its default hymt_nvidia_driver_branch), and
    # whether it may reboot afterwards (nvidia_driver_reboot).
    driver_branch: str = ""
    driver_reboot: bool = False
    vllm_cpu_image: str = ""
    web_image: str = ""

    @property
    def gpu_image(self) -> str:
        return self.vllm_image + self.variant

    @classmethod
    def from_vars(cls, variables: Mapping[str, object]) -> ImagePins:
        def text(key: str) -> str:
            return literal(variables.get(key)) or ""

        return cls(
            vllm_image=text("hymt_vllm_image"),
            variant=text("hymt_vllm_image_variant"),
            cuda13_driver_min=text("hymt_vllm_cuda_driver_min"),
            cu129_driver_min=text("hymt_vllm_cu129_driver_min"),
            cu129_datacenter_branches=tuple(str(b) for b in variables.get("hymt_vllm_cu129_datacenter_branches") or ()),
            driver_branch=text("nvidia_driver_branch") or text("hymt_nvidia_driver_branch"),
            driver_reboot=text("nvidia_driver_reboot").lower() in {"true", "yes", "1", "on"},
            vllm_cpu_image=text("hymt_vllm_cpu_image"),
            web_image=text("hymt_web_image"),
        )

    def driver_settings(self, image: str) -> dict:
        """The nvidia_driver role's settings (as its tasks pass them to hymt.provision.nvidia_driver) for a host that
        runs `image`: the pinned tag, with -cu129 or without."""
        variant = CU129 if image.endswith(CU129) else ""
        return {
            "branch": self.driver_branch,
            "reboot": self.driver_reboot,
            "image": image.removesuffix(variant),
            "image_variant": variant,
            "cuda13_driver_min": self.cuda13_driver_min,
            "cu129_driver_min": self.cu129_driver_min,
            "cu129_datacenter_branches": list(self.cu129_datacenter_branches),
        }


def literal(value: object) -> str | None:
    """An inventory value as written, or None when unset or a Jinja template (`ansible-inventory --list` does not
    template group_vars, so "{{ ... }}" is not the value Ansible would use)."""
    text = "" if value is None else str(value)
    return text if text and "{{" not in text and "{%" not in text else None
