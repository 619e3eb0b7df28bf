"""The nvidia_driver role's decision: what to do with this host's NVIDIA driver, from the preflight role's facts.

Plain Python, so that each case (no GPU, WSL, a driver to keep, an old driver, no driver on Ubuntu or Debian, GPUs too
old for open kernel modules, a reboot that is due) is decided in one place and tested on recorded outputs of real
machines (tests/gpu/test_driver_plan.py), and the role's tasks only carry the plan out.

Facts of NVIDIA's and Canonical's documentation this encodes (docs/gpu-host.md has the sources):
- Open kernel modules support Turing and newer and are required from Blackwell on; Maxwell, Pascal and Volta need the
  proprietary modules, and branch 580 is the last that supports them; Kepler and older need a legacy branch (<= 470).
- The vLLM image's plain tag (CUDA 13) needs a driver >= hymt_vllm_cuda_driver_min and compute capability 7.5 (CUDA 13
  dropped Volta); its -cu129 variant needs CUDA 12.9 (driver >= hymt_vllm_cu129_driver_min), except that the image
  also admits the datacenter branches it lists (535, 550, ... on non-GeForce GPUs, CUDA minor-version compatibility).
- Ubuntu: Canonical's nvidia-driver-<branch>-server[-open] with the precompiled, signed
  linux-modules-nvidia-<branch>-server[-open]-<flavour> (the flavour follows the kernel: generic, generic-hwe-<release>,
  aws, azure, gcp, ...) and the package for the running kernel itself, installed first so apt never falls back to DKMS.
- Debian: NVIDIA's CUDA repository (cuda-keyring), nvidia-driver-pinning-<branch>, then nvidia-open or cuda-drivers;
  these build their modules with DKMS, which needs the running kernel's headers.
"""

from __future__ import annotations

import re

OPEN_CAPABLE = ("Turing", "Ampere", "Ada Lovelace", "Hopper", "Blackwell")
OPEN_REQUIRED = ("Blackwell",)
PROPRIETARY_ONLY = ("Maxwell", "Pascal", "Volta")
# Architecture -> the last driver branch that supports it (None: still supported by every branch).
LAST_BRANCH = {"Fermi": 390, "Kepler": 470, "Maxwell": 580, "Pascal": 580, "Volta": 580}
# Lowest compute capability of each architecture: vLLM needs 7.0, its CUDA 13 images 7.5.
COMPUTE_CAPABILITY = {
    "Fermi": (2, 0),
    "Kepler": (3, 0),
    "Maxwell": (5, 0),
    "Pascal": (6, 0),
    "Volta": (7, 0),
    "Turing": (7, 5),
    "Ampere": (8, 0),
    "Ada Lovelace": (8, 9),
    "Hopper": (9, 0),
    "Blackwell": (10, 0),
}
VLLM_MIN_CAPABILITY = (7, 0)
CUDA13_MIN_CAPABILITY = (7, 5)
# GeForce and TITAN cards: the image's datacenter-branch exception does not cover them.
CONSUMER_NAME = re.compile(r"\b(GeForce|TITAN)\b", re.IGNORECASE)
# Kernel release -> flavour: "6.8.0-1021-aws" -> "aws", "6.8.0-45-generic" -> "generic".
UBUNTU_KERNEL = re.compile(r"^(?P<version>\d+\.\d+)\.\d+-\d+-(?P<flavour>[a-z][a-z0-9-]*)$")
# Debian: "6.1.0-28-cloud-amd64" (Debian 12) and "6.12.38+deb13-amd64" (Debian 13) -> "cloud-amd64", "amd64".
DEBIAN_KERNEL = re.compile(r"^\d+\.\d+\.\d+(?:-\d+|\+deb\d+)-(?P<flavour>[a-z][a-z0-9-]*)$")


def version_tuple(version: str) -> tuple[int, ...]:
    """'580.95.05' -> (580, 95, 5); '' -> ()."""
    return tuple(int(part) for part in re.findall(r"\d+", str(version or "")))


def version_at_least(version: str, minimum: str) -> bool:
    return bool(version_tuple(version)) and version_tuple(version) >= version_tuple(minimum)


def _names(gpus: list[dict]) -> str:
    names = [gpu.get("name", "?") for gpu in gpus or []]
    counted = {name: names.count(name) for name in names}
    return ", ".join(f"{count}x {name}" if count > 1 else name for name, count in counted.items())


def _architectures(pci_gpus: list[dict]) -> list[str]:
    seen = []
    for gpu in pci_gpus or []:
        architecture = gpu.get("architecture") or "unknown"
        if architecture not in seen:
            seen.append(architecture)
    return seen


def cu129_works(driver_version: str, cuda_version: str, gpu_names: list[str], settings: dict) -> bool:
    """Whether the -cu129 image starts with this driver: CUDA 12.9 or newer, or a datacenter branch the image admits
    on non-GeForce GPUs."""
    if version_at_least(driver_version, settings["cu129_driver_min"]) or version_at_least(cuda_version, "12.9"):
        return True
    branch = str(version_tuple(driver_version)[0]) if version_tuple(driver_version) else ""
    consumer = any(CONSUMER_NAME.search(name or "") for name in gpu_names)
    return branch in [str(b) for b in settings["cu129_datacenter_branches"]] and not consumer


def ubuntu_module_packages(kernel_release: str, release: str, prefix: str, ga_kernels: dict) -> tuple[list[str], str]:
    """The precompiled module packages for the running Ubuntu kernel: the flavour's metapackage (follows kernel
    updates) and the running kernel's own package. Returns (packages, flavour)."""
    match = UBUNTU_KERNEL.match(kernel_release or "")
    if not match:
        return [], ""
    flavour = match["flavour"]
    # A generic kernel newer than the release's own (GA) series is the hardware enablement (HWE) kernel, whose
    # metapackage carries the release: generic-hwe-22.04.
    if flavour == "generic" and str(ga_kernels.get(release, match["version"])) != match["version"]:
        flavour = f"generic-hwe-{release}"
    return [f"{prefix}-{flavour}", f"{prefix}-{kernel_release}"], flavour


def debian_header_packages(kernel_release: str) -> list[str]:
    """The running Debian kernel's headers (DKMS builds the driver's modules against them) and the flavour's
    metapackage, so that the next kernel gets its headers too."""
    match = DEBIAN_KERNEL.match(kernel_release or "")
    if not match:
        return [f"linux-headers-{kernel_release}"] if kernel_release else []
    return [f"linux-headers-{kernel_release}", f"linux-headers-{match['flavour']}"]


def _image_advice(facts: dict, settings: dict, gpu_names: list[str]) -> dict:
    """How the working driver fits the pinned vLLM image and its -cu129 variant."""
    driver, cuda = facts["driver_version"], facts.get("cuda_version", "")
    variant = settings.get("image_variant", "")
    plain_ok = version_at_least(driver, settings["cuda13_driver_min"])
    cu129_ok = cu129_works(driver, cuda, gpu_names, settings)
    return {"plain": plain_ok, "cu129": cu129_ok, "chosen": plain_ok if variant == "" else cu129_ok}


def driver_plan(facts: dict, settings: dict) -> dict:
    """What the role does on this host. `facts` are the preflight role's (without the "preflight_" prefix),
    `settings` the role's variables. The result's "action" is one of:
      skip     nothing to do here (the reason says why)
      keep     a working driver that suits the image
      install  install (or upgrade to) branch settings["branch"]; "packages" and friends say what
      reboot   the driver is installed but a reboot is due before it works
      stop     the run must stop: "message" says why and what to do
    """
    host = facts.get("inventory_hostname", "this host")
    branch = str(settings["branch"])
    plan: dict = {
        "action": "",
        "reason": "",
        "message": "",
        "notes": [],
        "branch": branch,
        "image": settings.get("image", "") + settings.get("image_variant", ""),
    }

    if not settings.get("enabled", True):
        return plan | {
            "action": "skip",
            "reason": "nvidia_driver_enabled is false in the inventory (as in the rehearsal profile, which has no GPU)",
        }
    if facts.get("is_wsl"):
        return plan | {
            "action": "skip",
            "reason": "this is WSL: the NVIDIA driver comes from Windows and must never be installed inside WSL",
        }
    gpus = facts.get("gpus") or []
    pci_gpus = facts.get("pci_gpus") or []
    if not gpus and not pci_gpus:
        return plan | {"action": "skip", "reason": "no NVIDIA GPU on this host (nvidia-smi, lspci and /sys show none)"}

    gpu_names = [gpu.get("name", "") for gpu in (gpus or pci_gpus)]
    on = f"{host} ({_names(gpus or pci_gpus)})"
    architectures = _architectures(pci_gpus)
    plan["architectures"] = architectures
    variant = settings.get("image_variant", "")
    image = plan["image"]

    if facts.get("nvswitches"):
        plan["notes"].append(
            f"{host} has {facts['nvswitches']} NVSwitches (an HGX board): CUDA works only once NVIDIA Fabric Manager "
            f"of the same driver version runs (package nvidia-fabricmanager-{branch} on Ubuntu, nvidia-fabricmanager "
            "from NVIDIA's CUDA repository; then systemctl enable --now nvidia-fabricmanager). This role does not "
            "install it."
        )

    # vLLM's images and the chosen variant against the GPUs' compute capability (known from the PCI ids).
    capabilities = [COMPUTE_CAPABILITY[a] for a in architectures if a in COMPUTE_CAPABILITY]
    unsupported_by_vllm = [a for a in architectures if COMPUTE_CAPABILITY.get(a, (99, 0)) < VLLM_MIN_CAPABILITY]
    if unsupported_by_vllm:
        plan["notes"].append(
            f"{on}: {', '.join(unsupported_by_vllm)} GPUs have a compute capability below 7.0, which vLLM's GPU images "
            "do not support: vLLM will not run on them."
        )
    elif capabilities and min(capabilities) < CUDA13_MIN_CAPABILITY and variant == "":
        return plan | {
            "action": "stop",
            "message": (
                f"{on} has Volta GPUs (compute capability 7.0), which CUDA 13 no longer supports, so the vLLM image "
                f'{image} cannot use them. Set hymt_vllm_image_variant: "-cu129" in the inventory (the CUDA 12.9 '
                "build of the same vLLM release) and run the playbook again."
            ),
        }

    state = facts.get("nvidia_smi_state", "working" if facts.get("driver_version") else "absent")
    driver = facts.get("driver_version", "")

    # A driver that answers: keep it if it suits the image, otherwise follow the inventory's choice.
    if state == "working" and driver:
        fit = _image_advice(facts, settings, gpu_names)
        described = f"NVIDIA driver {driver} (CUDA {facts.get('cuda_version') or '?'})"
        if fit["chosen"]:
            plan |= {"action": "keep", "reason": f"Keeping {described} on {_names(gpus)}: it runs {image}."}
            if variant == "-cu129" and fit["plain"]:
                plan["notes"].append(
                    'This driver also runs the plain CUDA 13 image; hymt_vllm_image_variant: "" would use it.'
                )
            return plan
        choices = []
        if variant == "" and fit["cu129"]:
            choices.append(
                f'keep this driver and use the CUDA 12.9 build of the image: set hymt_vllm_image_variant: "-cu129" '
                f"({settings.get('image', '')}-cu129 runs with driver {driver})"
            )
        choices.append(
            f"install driver branch {branch} over it: set nvidia_driver_upgrade: true "
            + (
                "(the role reboots the host, as nvidia_driver_reboot allows)"
                if settings.get("reboot")
                else "and reboot when the role says so (or set nvidia_driver_reboot: true)"
            )
        )
        need = (
            f"driver >= {settings['cuda13_driver_min']} (CUDA 13)"
            if variant == ""
            else f"CUDA 12.9 (driver >= {settings['cu129_driver_min']}), or on datacenter GPUs one of the branches "
            f"{', '.join(str(b) for b in settings['cu129_datacenter_branches'])}"
        )
        if not settings.get("upgrade"):
            return plan | {
                "action": "stop",
                "message": (
                    f"{host} has {described} on {_names(gpus)}, but the vLLM image {image} needs {need}; it would "
                    f"refuse to start ('unsatisfied condition: cuda>=...'). Choose one in the inventory: "
                    + "; or ".join(choices)
                    + ". Then run the playbook again."
                ),
            }
        plan["notes"].append(f"Upgrading {described} to branch {branch} (nvidia_driver_upgrade is true).")

    # From here on: install (or upgrade to) the branch.
    kernel_modules = settings.get("kernel_modules", "auto")
    unknown = [a for a in architectures if a not in COMPUTE_CAPABILITY]
    too_old = [a for a in architectures if LAST_BRANCH.get(a, 10_000) < int(version_tuple(branch)[0])]
    if too_old:
        last = min(LAST_BRANCH[a] for a in too_old)
        return plan | {
            "action": "stop",
            "message": (
                f"{on} has {', '.join(too_old)} GPUs, which driver branch {branch} does not support (the last branch "
                f"for them is {last}). Use a newer GPU (vLLM needs compute capability 7.0 or higher), or set "
                f"nvidia_driver_branch to {last} if that branch suits you and install the driver yourself."
            ),
        }
    if kernel_modules == "auto":
        if unknown or not architectures:
            return plan | {
                "action": "stop",
                "message": (
                    f"{on}: the architecture of {', '.join(g.get('device_id', '?') for g in pci_gpus) or 'the GPUs'} "
                    "is unknown to this role (PCI device ids decide between open and proprietary kernel modules). "
                    "Set nvidia_driver_kernel_modules to open (Turing and newer) or proprietary (Maxwell, Pascal, "
                    "Volta) in the inventory."
                ),
            }
        kernel_modules = "proprietary" if any(a in PROPRIETARY_ONLY for a in architectures) else "open"
        if kernel_modules == "proprietary":
            plan["notes"].append(
                f"Proprietary kernel modules: {', '.join(a for a in architectures if a in PROPRIETARY_ONLY)} GPUs "
                "cannot use the open ones."
            )
    if kernel_modules == "open" and any(a in PROPRIETARY_ONLY for a in architectures):
        return plan | {
            "action": "stop",
            "message": (
                f"nvidia_driver_kernel_modules is open, but {on} has "
                f"{', '.join(a for a in architectures if a in PROPRIETARY_ONLY)} GPUs, which the open kernel modules "
                "do not support. Set nvidia_driver_kernel_modules to proprietary (or auto)."
            ),
        }
    if kernel_modules == "proprietary" and any(a in OPEN_REQUIRED for a in architectures):
        return plan | {
            "action": "stop",
            "message": (
                f"nvidia_driver_kernel_modules is proprietary, but {on} has Blackwell GPUs, which need the open "
                "kernel modules. Set nvidia_driver_kernel_modules to open (or auto)."
            ),
        }
    plan["kernel_modules"] = kernel_modules
    is_open = kernel_modules == "open"

    distribution = facts.get("distribution", "")
    release = str(facts.get("release", ""))
    kernel = facts.get("kernel_release", "")
    if distribution == "Ubuntu":
        suffix = f"{branch}-server{'-open' if is_open else ''}"
        modules, flavour = ubuntu_module_packages(
            kernel, release, f"linux-modules-nvidia-{suffix}", settings.get("ubuntu_ga_kernels", {})
        )
        if not modules:
            return plan | {
                "action": "stop",
                "message": (
                    f"{host} runs kernel {kernel or '(unknown)'}, whose flavour this role cannot tell (Canonical's "
                    "precompiled driver modules are per flavour: generic, aws, azure, gcp ...). Boot an Ubuntu "
                    f"kernel, or install nvidia-driver-{suffix} with its linux-modules-nvidia-{suffix}-<flavour> "
                    "package yourself."
                ),
            }
        plan |= {
            "source": "Ubuntu",
            "kernel_flavour": flavour,
            "module_packages": modules,
            "driver_packages": [f"nvidia-driver-{suffix}"],
        }
    elif distribution == "Debian":
        repository = f"{settings['cuda_repository_mirror'].rstrip('/')}/debian{release}/x86_64"
        plan |= {
            "source": "Debian",
            "header_packages": debian_header_packages(kernel),
            "repository_url": repository,
            "keyring_url": f"{repository}/cuda-keyring_{settings['cuda_keyring_version']}_all.deb",
            "pinning_packages": [f"nvidia-driver-pinning-{branch}"],
            "driver_packages": ["nvidia-open" if is_open else "cuda-drivers"],
        }
        if facts.get("secure_boot"):
            plan["notes"].append(
                "Secure Boot is on: the CUDA repository's driver builds its modules with DKMS, which signs them with "
                "a local key (/var/lib/dkms/mok.pub) the firmware does not trust yet. Enrol it (sudo mokutil --import "
                "/var/lib/dkms/mok.pub, reboot, confirm on the console), or turn Secure Boot off, or the module will "
                "not load."
            )
    else:
        return plan | {
            "action": "stop",
            "message": f"The nvidia_driver role installs drivers on Debian and Ubuntu, not on {distribution}.",
        }
    plan["packages"] = [
        *plan.get("header_packages", []),
        *plan.get("module_packages", []),
        *plan.get("pinning_packages", []),
        *plan["driver_packages"],
    ]

    if state in ("mismatch",) or (state == "not-loaded" and settings.get("reboot_pending")):
        why = (
            "its libraries are newer than the kernel module still loaded"
            if state == "mismatch"
            else "it was installed by an earlier run that could not reboot"
        )
        plan |= {"action": "reboot", "reason": f"The NVIDIA driver on {host} needs a reboot: {why}."}
    else:
        plan |= {
            "action": "install",
            "reason": (
                f"Installing NVIDIA driver branch {branch} ({kernel_modules} kernel modules) on {on} from "
                + ("Canonical's archive" if distribution == "Ubuntu" else "NVIDIA's CUDA repository")
                + (f" (nvidia-smi said: {facts['nvidia_smi_error']})" if facts.get("nvidia_smi_error") else "")
                + "."
            ),
        }
    plan["reboot_allowed"] = bool(settings.get("reboot"))
    plan["reboot_advice"] = (
        f"The NVIDIA driver on {host} is installed but works only after a reboot, which nvidia_driver_reboot does not "
        f"allow. Reboot it (sudo reboot), then run the playbook again; or set nvidia_driver_reboot: true and the role "
        "reboots it and waits until nvidia-smi answers."
    )
    return plan


def driver_failure_advice(output: str, facts: dict) -> str:
    """What to do when nvidia-smi still does not answer after the driver was installed (and the host rebooted)."""
    output = output or ""
    if "version mismatch" in output.lower():
        return "The driver's libraries and its loaded kernel module differ: reboot the host."
    advice = ["The kernel module did not load. Check 'sudo modprobe nvidia' and 'sudo dmesg | grep -i nvidia'."]
    if facts.get("secure_boot"):
        advice.append(
            "Secure Boot is on: a module signed by a key the firmware does not know is refused ('Key was rejected by "
            "service'); enrol the DKMS key (sudo mokutil --import /var/lib/dkms/mok.pub, reboot, confirm) or turn "
            "Secure Boot off."
        )
    if facts.get("distribution") == "Ubuntu":
        advice.append(
            "On Ubuntu the precompiled modules must match the running kernel: 'apt policy "
            f"linux-modules-nvidia-*-$(uname -r)' shows whether they are installed for {facts.get('kernel_release')}."
        )
    else:
        advice.append("'sudo dkms status' shows whether DKMS built the module for the running kernel.")
    return " ".join(advice)


class FilterModule:
    def filters(self):
        return {
            "nvidia_driver_plan": driver_plan,
            "nvidia_driver_failure_advice": driver_failure_advice,
            "nvidia_driver_version_at_least": version_at_least,
        }
