"""GPU knowledge `hymt verify` needs: nvidia-smi's outputs parsed, and whether the host's driver runs the pinned vLLM
image. Plain Python without I/O, kept in this one module so that it can join the roles' shared GPU module (the
preflight and nvidia_driver filter plugins hold the same facts today).

Facts (../docs/gpu-host.md has the sources): the vLLM image's plain tag is built on CUDA 13 and needs a driver of at
least the pinned `hymt_vllm_cuda_driver_min`; its `-cu129` build needs CUDA 12.9 (`hymt_vllm_cu129_driver_min`) or one
of the datacenter branches it admits on non-GeForce GPUs, and is unverified for this vLLM release (earlier `-cu129`
builds were reported to crash at start). vLLM's CUDA 12.8+ and 13 builds start at compute capability 7.5 (Turing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# What the GPU check asks nvidia-smi (compute_cap needs a driver from 2021 on; older ones get the short query).
QUERY_FIELDS = "index,name,memory.total,driver_version,pci.bus_id,compute_cap"
QUERY_FIELDS_SHORT = "index,name,memory.total,driver_version,pci.bus_id"
CUDA_VERSION = re.compile(r"CUDA Version:\s*(?P<version>\d+\.\d+)")
MIN_COMPUTE_CAPABILITY = (7, 5)
CONSUMER_NAME = re.compile(r"\b(GeForce|TITAN)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_mib: int | None
    driver: str
    bus_id: str
    compute_capability: str = ""


def version_tuple(version: str) -> tuple[int, ...]:
    """'580.95.05' -> (580, 95, 5); '' -> ()."""
    return tuple(int(part) for part in re.findall(r"\d+", str(version or "")))


def at_least(version: str, minimum: str) -> bool:
    return bool(version_tuple(version)) and version_tuple(version) >= version_tuple(minimum)


def parse_query(output: str) -> list[Gpu]:
    """GPUs in `nvidia-smi --query-gpu=QUERY_FIELDS[_SHORT] --format=csv,noheader,nounits` (one line per GPU)."""
    gpus = []
    for line in (output or "").splitlines():
        fields = [part.strip() for part in line.split(",")]
        if len(fields) not in (5, 6) or not fields[0].isdigit():
            continue
        memory = fields[2]
        gpus.append(
            Gpu(
                index=int(fields[0]),
                name=fields[1],
                memory_mib=int(float(memory)) if re.fullmatch(r"\d+(\.\d+)?", memory) else None,
                driver=fields[3],
                bus_id=fields[4].lower(),
                compute_capability=fields[5] if len(fields) == 6 and re.fullmatch(r"\d+\.\d+", fields[5]) else "",
            )
        )
    return gpus


def cuda_version(output: str) -> str:
    """The highest CUDA version the driver supports, from the header of plain `nvidia-smi` ("" when absent)."""
    match = CUDA_VERSION.search(output or "")
    return match["version"] if match else ""


def smi_failure(rc: int, output: str) -> str:
    """What a failed nvidia-smi means and what to do."""
    text = output or ""
    if rc == 127 or ("not found" in text.lower() and "nvidia-smi" in text.lower()):
        return (
            "nvidia-smi is not installed: this host has no NVIDIA driver. Run 'make provision' (the nvidia_driver "
            "role installs branch 580), or check that the server really has an NVIDIA GPU (lspci | grep -i nvidia)."
        )
    if "version mismatch" in text.lower():
        return "the driver's libraries and its loaded kernel module differ (upgraded, not rebooted): reboot the host."
    if "couldn't communicate with the NVIDIA driver" in text or "driver not loaded" in text.lower():
        return (
            "the NVIDIA kernel module is not loaded (not rebooted since the install, blocked by Secure Boot, or built "
            "for another kernel): reboot; then check 'sudo modprobe nvidia' and 'sudo dmesg | grep -i nvidia'."
        )
    return f"nvidia-smi failed (exit {rc}): {' '.join(text.split())[:300]}"


@dataclass(frozen=True)
class ImagePins:
    """The pinned images and the driver floors of the vLLM image (inventory/group_vars/all/versions.yml)."""

    vllm_image: str
    variant: str = ""
    cuda13_driver_min: str = ""
    cu129_driver_min: str = ""
    cu129_datacenter_branches: tuple[str, ...] = ()
    vllm_cpu_image: str = ""
    web_image: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def gpu_image(self) -> str:
        return self.vllm_image + self.variant

    @classmethod
    def from_vars(cls, variables: Mapping[str, object]) -> ImagePins:
        def text(key: str) -> str:
            value = variables.get(key)
            return "" if value is None or "{{" in str(value) else str(value)

        return cls(
            vllm_image=text("hymt_vllm_image"),
            variant=text("hymt_vllm_image_variant"),
            cuda13_driver_min=text("hymt_vllm_cuda_driver_min"),
            cu129_driver_min=text("hymt_vllm_cu129_driver_min"),
            cu129_datacenter_branches=tuple(str(b) for b in variables.get("hymt_vllm_cu129_datacenter_branches") or ()),
            vllm_cpu_image=text("hymt_vllm_cpu_image"),
            web_image=text("hymt_web_image"),
        )


def cu129_runs(driver: str, cuda: str, gpu_names: Sequence[str], pins: ImagePins) -> bool:
    """Whether the -cu129 image starts with this driver: CUDA 12.9 or newer, or an admitted datacenter branch on
    non-GeForce GPUs."""
    if at_least(driver, pins.cu129_driver_min) or at_least(cuda, "12.9"):
        return True
    branch = str(version_tuple(driver)[0]) if version_tuple(driver) else ""
    consumer = any(CONSUMER_NAME.search(name or "") for name in gpu_names)
    return branch in pins.cu129_datacenter_branches and not consumer


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str


def driver_verdict(gpus: Sequence[Gpu], cuda: str, image: str, pins: ImagePins) -> Verdict:
    """Does the host's driver (and GPU generation) run `image`? With the way out when it does not.

    `image` is the vLLM image the host runs or will run: the pinned tag, with `-cu129` or without."""
    if not gpus:
        return Verdict(False, "no GPU to judge")
    driver = gpus[0].driver
    names = [gpu.name for gpu in gpus]
    old = [
        f"{gpu.name} ({gpu.compute_capability})"
        for gpu in gpus
        if gpu.compute_capability and version_tuple(gpu.compute_capability) < MIN_COMPUTE_CAPABILITY
    ]
    if old:
        return Verdict(
            False,
            f"{', '.join(old)}: compute capability below 7.5, which vLLM's CUDA 12.8+ and 13 images have no kernels "
            "for; no image variant runs here. Use a Turing (T4, RTX 20xx) or newer GPU.",
        )
    described = f"driver {driver} (CUDA {cuda or '?'})"
    upgrade = (
        "Upgrade the driver to branch 580: set nvidia_driver_upgrade: true in the inventory and run 'make provision' "
        "(the nvidia_driver role installs it, and reboots when nvidia_driver_reboot allows)."
    )
    if image.endswith("-cu129"):
        if cu129_runs(driver, cuda, names, pins):
            return Verdict(
                True,
                f"{described} runs {image}; note that the -cu129 build is unverified for this vLLM release (earlier "
                "-cu129 builds crashed at start): the gpu_test below and the stack's health show whether it works.",
            )
        return Verdict(
            False,
            f"{described} is too old for {image} (CUDA 12.9: driver >= {pins.cu129_driver_min}, or on datacenter "
            f"GPUs one of the branches {', '.join(pins.cu129_datacenter_branches) or '-'}); it would refuse to start "
            f"('unsatisfied condition: cuda>=...'). {upgrade} Then use the plain image "
            '(hymt_vllm_image_variant: "").',
        )
    if at_least(driver, pins.cuda13_driver_min):
        return Verdict(True, f"{described} runs {image} (needs driver >= {pins.cuda13_driver_min})")
    also = ""
    if cu129_runs(driver, cuda, names, pins):
        also = (
            ' The CUDA 12.9 build (hymt_vllm_image_variant: "-cu129") would accept this driver, but it is unverified '
            "for this vLLM release (its v0.30 and v0.31 builds were reported to crash at start): prefer the upgrade."
        )
    return Verdict(
        False,
        f"{described} is too old for {image}, which is built on CUDA 13 and needs driver >= "
        f"{pins.cuda13_driver_min}; it would refuse to start ('unsatisfied condition: cuda>=13.0'). {upgrade}{also}",
    )
