"""The nvidia_driver role's decision: what to do with this host's NVIDIA driver, from the preflight role's facts.

Plain Python, so that each case (no GPU, WSL, a driver to keep, an old driver, no driver on Ubuntu or Debian, GPUs too
old for open kernel modules, a reboot that is due) is decided in one small function and tested on recorded outputs of
real machines (tests/gpu/test_gpu_filters.py, tests/gpu/test_decisions.py); the role's tasks only carry the plan out.
`hymt verify` judges a host's driver against its vLLM image with the same rule (image_verdict) and explains a failing
nvidia-smi with nvidia_smi_advice. Every sentence the user reads is in MESSAGES below. The GPU facts (architectures,
compute capabilities, kernel modules, last branches, version comparisons, nvidia-smi's states) are hymt.hostfacts'.

Facts of NVIDIA's and Canonical's documentation this encodes (docs/gpu-host.md has the sources):
- The vLLM image's plain tag (CUDA 13) needs a driver >= hymt_vllm_cuda_driver_min; every vLLM GPU image needs compute
  capability 7.5 (hymt.hostfacts.VLLM_MIN_CAPABILITY; preflight refuses older GPUs). Its -cu129 variant needs CUDA 12.9
  (driver >= hymt_vllm_cu129_driver_min), except that the image also admits the datacenter branches it lists (535,
  550, ... on non-GeForce GPUs, CUDA minor-version compatibility). It is an unverified opt-in, never the advice: a
  driver too old for the plain image is to be upgraded.
- Ubuntu: Canonical's nvidia-driver-<branch>-server[-open] with the precompiled, signed
  linux-modules-nvidia-<branch>-server[-open]-<flavour> (the flavour follows the kernel: generic, generic-hwe-<release>,
  aws, azure, gcp, ...) and the package for the running kernel itself, installed first so apt never falls back to DKMS.
- Debian: NVIDIA's CUDA repository (cuda-keyring), nvidia-driver-pinning-<branch>, then nvidia-open or cuda-drivers;
  these build their modules with DKMS, which needs the running kernel's headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hymt.hostfacts import (
    ARCHITECTURES,
    VLLM_MIN_CAPABILITY,
    gpus_vllm_cannot_run,
    nvidia_driver_complaint,
    nvidia_smi_state,
    version_at_least,
    version_tuple,
)

# The vLLM image's CUDA 12.9 variant (hymt_vllm_image_variant), an unverified opt-in; "" is the plain CUDA 13 tag.
CU129 = "-cu129"

# GeForce and TITAN cards: the image's datacenter-branch exception does not cover them.
CONSUMER_NAME = re.compile(r"\b(GeForce|TITAN)\b", re.IGNORECASE)
# Kernel release -> flavour: "6.8.0-1021-aws" -> "aws", "6.8.0-45-generic" -> "generic".
UBUNTU_KERNEL = re.compile(r"^(?P<version>\d+\.\d+)\.\d+-\d+-(?P<flavour>[a-z][a-z0-9-]*)$")
# Debian: "6.1.0-28-cloud-amd64" (Debian 12) and "6.12.38+deb13-amd64" (Debian 13) -> "cloud-amd64", "amd64".
DEBIAN_KERNEL = re.compile(r"^\d+\.\d+\.\d+(?:-\d+|\+deb\d+)-(?P<flavour>[a-z][a-z0-9-]*)$")

_DKMS_MOK = "sudo mokutil --import /var/lib/dkms/mok.pub, reboot, confirm"
_MODULE_CHECKS = "'sudo modprobe nvidia' and 'sudo dmesg | grep -i nvidia'"

# What the role tells the user, by decision. Fields in braces are filled in by the decision that uses the message.
MESSAGES = {
    # skip (the plan's "reason")
    "disabled": "nvidia_driver_enabled is false in the inventory (as in the rehearsal profile, which has no GPU)",
    "wsl": "this is WSL: the NVIDIA driver comes from Windows and must never be installed inside WSL",
    "no_gpu": "no NVIDIA GPU on this host (nvidia-smi, lspci and /sys show none)",
    # notes
    "nvswitches": (
        "{host} has {count} NVSwitches (an HGX board): CUDA works only once NVIDIA Fabric Manager of the same driver "
        "version runs (package nvidia-fabricmanager-{branch} on Ubuntu, nvidia-fabricmanager from NVIDIA's CUDA "
        "repository; then systemctl enable --now nvidia-fabricmanager). This role does not install it."
    ),
    "below_vllm": (
        "{on}: {architectures} GPUs have a compute capability below {minimum}, which vLLM's GPU images do not "
        "support: vLLM will not run on them (preflight refuses such hosts)."
    ),
    "plain_also_runs": 'This driver also runs the plain CUDA 13 image; hymt_vllm_image_variant: "" would use it.',
    "cu129_opted_in": (
        'hymt_vllm_image_variant is "-cu129": the CUDA 12.9 build, which this project has not verified for this vLLM '
        "release; the provisioning run smoke-tests it on the host before the stack uses it (docs/gpu-host.md)."
    ),
    "upgrading": "Upgrading {described} to branch {branch} (nvidia_driver_upgrade is true).",
    "proprietary_chosen": "Proprietary kernel modules: {architectures} GPUs cannot use the open ones.",
    "debian_secure_boot": (
        "Secure Boot is on: the CUDA repository's driver builds its modules with DKMS, which signs them with a local "
        "key (/var/lib/dkms/mok.pub) the firmware does not trust yet. Enrol it (sudo mokutil --import "
        "/var/lib/dkms/mok.pub, reboot, confirm on the console), or turn Secure Boot off, or the module will not load."
    ),
    # keep, install, reboot (the plan's "reason")
    "keep": "Keeping {described} on {names}: it runs {image}.",
    "runs": "{described} on {names} runs {image}.",
    "install": (
        "Installing NVIDIA driver branch {branch} ({kernel_modules} kernel modules) on {on} from {source}{said}."
    ),
    "reboot": "The NVIDIA driver on {host} needs a reboot: {why}.",
    "reboot_mismatch": "its libraries are newer than the kernel module still loaded",
    "reboot_pending": "it was installed by an earlier run that could not reboot",
    "reboot_advice": (
        "The NVIDIA driver on {host} is installed but works only after a reboot, which nvidia_driver_reboot does not "
        "allow. Reboot it (sudo reboot), then run the playbook again; or set nvidia_driver_reboot: true and the role "
        "reboots it and waits until nvidia-smi answers."
    ),
    # stop (the plan's "message")
    "driver_too_old": (
        "{host} has {described} on {names}, but the vLLM image {image} needs {need}; it would refuse to start "
        "('unsatisfied condition: cuda>=...'). In the inventory: {upgrade}. Then run the playbook again (make "
        "provision).{cu129}"
    ),
    "need_cuda13": "driver >= {floor} (CUDA 13)",
    "need_cu129": "CUDA 12.9 (driver >= {floor}), or on datacenter GPUs one of the branches {branches}",
    "cu129_unverified": (
        ' (The CUDA 12.9 build of the image, hymt_vllm_image_variant: "-cu129", would start with driver {driver}, '
        "but this project has not verified it for this vLLM release, and earlier -cu129 builds were reported to crash "
        "at start: an unverified opt-in for those who accept that, smoke-tested on the host before use; "
        "docs/gpu-host.md.)"
    ),
    "choice_upgrade": "install driver branch {branch} over it: set nvidia_driver_upgrade: true {reboot}",
    "choice_upgrade_reboots": "(the role reboots the host, as nvidia_driver_reboot allows)",
    "choice_upgrade_you_reboot": "and reboot when the role says so (or set nvidia_driver_reboot: true)",
    "branch_drops_gpus": (
        "{on} has {architectures} GPUs, which driver branch {branch} does not support (the last branch for them is "
        "{last}). Use a newer GPU (vLLM needs compute capability {minimum} or higher), or set nvidia_driver_branch to "
        "{last} if that branch suits you and install the driver yourself."
    ),
    "unknown_architecture": (
        "{on}: the architecture of {devices} is unknown to this role (PCI device ids decide between open and "
        "proprietary kernel modules). Set nvidia_driver_kernel_modules to open (Turing and newer) or proprietary "
        "(Maxwell, Pascal, Volta) in the inventory."
    ),
    "open_unsupported": (
        "nvidia_driver_kernel_modules is open, but {on} has {architectures} GPUs, which the open kernel modules do not "
        "support. Set nvidia_driver_kernel_modules to proprietary (or auto)."
    ),
    "blackwell_needs_open": (
        "nvidia_driver_kernel_modules is proprietary, but {on} has Blackwell GPUs, which need the open kernel modules. "
        "Set nvidia_driver_kernel_modules to open (or auto)."
    ),
    "ubuntu_unknown_flavour": (
        "{host} runs kernel {kernel}, whose flavour this role cannot tell (Canonical's precompiled driver modules are "
        "per flavour: generic, aws, azure, gcp ...). Boot an Ubuntu kernel, or install nvidia-driver-{suffix} with its "
        "linux-modules-nvidia-{suffix}-<flavour> package yourself."
    ),
    "unsupported_distribution": "The nvidia_driver role installs drivers on Debian and Ubuntu, not on {distribution}.",
    # after installing: nvidia-smi still does not answer
    "failure_mismatch": "The driver's libraries and its loaded kernel module differ: reboot the host.",
    "failure_not_loaded": f"The kernel module did not load. Check {_MODULE_CHECKS}.",
    "failure_secure_boot": (
        "Secure Boot is on: a module signed by a key the firmware does not know is refused ('Key was rejected by "
        f"service'); enrol the DKMS key ({_DKMS_MOK}) or turn Secure Boot off."
    ),
    "failure_ubuntu": (
        "On Ubuntu the precompiled modules must match the running kernel: 'apt policy "
        "linux-modules-nvidia-*-$(uname -r)' shows whether they are installed for {kernel}."
    ),
    "failure_debian": "'sudo dkms status' shows whether DKMS built the module for the running kernel.",
    # nvidia-smi fails on a host that should have a working driver (hymt verify)
    "smi_absent": (
        "nvidia-smi is not installed: this host has no NVIDIA driver. Run 'make provision' (the nvidia_driver role "
        "installs branch {branch}), or check that the server really has an NVIDIA GPU (lspci | grep -i nvidia)."
    ),
    "smi_not_loaded": (
        "The NVIDIA kernel module is not loaded (not rebooted since the install, blocked by Secure Boot, or built for "
        f"another kernel): reboot; then check {_MODULE_CHECKS}."
    ),
    "smi_failing": "nvidia-smi failed (exit {rc}): {said}",
}


def say(key: str, **fields: object) -> str:
    return MESSAGES[key].format(**fields)


class Stop(Exception):
    """A decision that ends the plan with action "stop"; its message says why and what to do."""


@dataclass
class Host:
    """The preflight facts the decisions read, named once."""

    facts: dict
    settings: dict

    @property
    def name(self) -> str:
        return self.facts.get("inventory_hostname", "this host")

    @property
    def gpus(self) -> list[dict]:
        return self.facts.get("gpus") or []

    @property
    def pci_gpus(self) -> list[dict]:
        return self.facts.get("pci_gpus") or []

    @property
    def named(self) -> str:
        """'gpu-1 (2x NVIDIA A10)'."""
        return f"{self.name} ({_names(self.gpus or self.pci_gpus)})"

    @property
    def architectures(self) -> list[str]:
        seen: list[str] = []
        for gpu in self.pci_gpus:
            architecture = gpu.get("architecture") or "unknown"
            if architecture not in seen:
                seen.append(architecture)
        return seen

    @property
    def capabilities(self) -> list[str]:
        """The compute capabilities preflight found (from the GPUs' PCI ids); unknown ones left out."""
        return [gpu["compute_capability"] for gpu in self.pci_gpus if gpu.get("compute_capability")]

    @property
    def branch(self) -> str:
        return str(self.settings["branch"])

    @property
    def variant(self) -> str:
        return self.settings.get("image_variant", "")

    @property
    def image(self) -> str:
        return self.settings.get("image", "") + self.variant


def _names(gpus: list[dict]) -> str:
    names = [gpu.get("name", "?") for gpu in gpus or []]
    counted = {name: names.count(name) for name in names}
    return ", ".join(f"{count}x {name}" if count > 1 else name for name, count in counted.items())


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


# ---- the decisions, in the order driver_plan takes them ------------------------------------------------------------


def skip_reason(host: Host) -> str:
    """Why the role leaves the driver alone here; "" when it has work to do."""
    if not host.settings.get("enabled", True):
        return say("disabled")
    if host.facts.get("is_wsl"):
        return say("wsl")
    if not host.gpus and not host.pci_gpus:
        return say("no_gpu")
    return ""


def fabric_manager_notes(host: Host) -> list[str]:
    count = host.facts.get("nvswitches")
    return [say("nvswitches", host=host.name, count=count, branch=host.branch)] if count else []


def capability_notes(host: Host) -> list[str]:
    """The GPUs' compute capability (preflight's fact) against vLLM's images: a note where vLLM cannot run (preflight
    refuses such hosts before this role runs; the driver itself can still be installed), and what opting in to the
    -cu129 image means."""
    notes = []
    below = [gpu.get("architecture", "unknown") for gpu in gpus_vllm_cannot_run(host.pci_gpus)]
    if below:
        architectures = ", ".join(dict.fromkeys(below))
        notes.append(say("below_vllm", on=host.named, architectures=architectures, minimum=VLLM_MIN_CAPABILITY))
    return notes + variant_notes(host)


def variant_notes(host: Host) -> list[str]:
    """What opting in to the -cu129 image means."""
    return [say("cu129_opted_in")] if host.variant == CU129 else []


@dataclass(frozen=True)
class ImageVerdict:
    """Whether a working driver runs the chosen vLLM image (host.image)."""

    runs: bool
    described: str  # "NVIDIA driver 570.133.20 (CUDA 12.8)"
    names: str  # "8x NVIDIA H100 80GB HBM3"
    notes: list[str]  # where it runs: what else the user should know
    too_old: str  # where it does not: why, and the way out


def image_verdict(host: Host) -> ImageVerdict:
    """The rule for a working driver and the chosen image: the plain tag needs cuda13_driver_min, -cu129 CUDA 12.9 or
    an admitted datacenter branch. Where it does not run, the way out is the upgrade; the -cu129 image is mentioned
    after it, only where it would start, as the unverified opt-in it is."""
    settings = host.settings
    driver = host.facts.get("driver_version", "")
    described = f"NVIDIA driver {driver} (CUDA {host.facts.get('cuda_version') or '?'})"
    gpu_names = [gpu.get("name", "") for gpu in (host.gpus or host.pci_gpus)]
    names = _names(host.gpus)
    plain = version_at_least(driver, settings["cuda13_driver_min"])
    cu129 = cu129_works(driver, host.facts.get("cuda_version", ""), gpu_names, settings)
    if plain if host.variant == "" else cu129:
        notes = [say("plain_also_runs")] if host.variant == CU129 and plain else []
        return ImageVerdict(True, described, names, notes, "")
    reboot = say("choice_upgrade_reboots" if settings.get("reboot") else "choice_upgrade_you_reboot")
    upgrade = say("choice_upgrade", branch=host.branch, reboot=reboot)
    cu129_note = say("cu129_unverified", driver=driver) if host.variant == "" and cu129 else ""
    if host.variant == "":
        need = say("need_cuda13", floor=settings["cuda13_driver_min"])
    else:
        branches = ", ".join(str(b) for b in settings["cu129_datacenter_branches"])
        need = say("need_cu129", floor=settings["cu129_driver_min"], branches=branches)
    too_old = say(
        "driver_too_old",
        host=host.name,
        described=described,
        names=names,
        image=host.image,
        need=need,
        upgrade=upgrade,
        cu129=cu129_note,
    )
    return ImageVerdict(False, described, names, [], too_old)


def working_driver(host: Host) -> tuple[str, str, list[str]]:
    """For a driver that answers: ("keep", reason, notes) when it runs the chosen image, ("install", "", notes) when
    the inventory allows an upgrade; Stop otherwise. ("install", "", []) when no driver answers."""
    if _smi_state(host) != "working" or not host.facts.get("driver_version"):
        return "install", "", []
    verdict = image_verdict(host)
    if verdict.runs:
        kept = say("keep", described=verdict.described, names=verdict.names, image=host.image)
        return "keep", kept, verdict.notes
    if host.settings.get("upgrade"):
        return "install", "", [say("upgrading", described=verdict.described, branch=host.branch)]
    raise Stop(verdict.too_old)


def kernel_modules(host: Host) -> tuple[str, list[str]]:
    """Open or proprietary kernel modules for these GPUs (and the inventory's choice); Stop where none fits."""
    architectures = host.architectures
    known = [ARCHITECTURES[a] for a in architectures if a in ARCHITECTURES]
    branch = int(version_tuple(host.branch)[0])
    dropped = [a for a in known if a.last_branch is not None and a.last_branch < branch]
    if dropped:
        raise Stop(
            say(
                "branch_drops_gpus",
                on=host.named,
                architectures=", ".join(a.name for a in dropped),
                branch=host.branch,
                last=min(a.last_branch or 0 for a in dropped),
                minimum=VLLM_MIN_CAPABILITY,
            )
        )
    proprietary_only = [a.name for a in known if a.kernel_modules == "proprietary"]
    chosen = host.settings.get("kernel_modules", "auto")
    notes = []
    if chosen == "auto":
        if len(known) < len(architectures) or not architectures:
            devices = ", ".join(g.get("device_id", "?") for g in host.pci_gpus) or "the GPUs"
            raise Stop(say("unknown_architecture", on=host.named, devices=devices))
        chosen = "proprietary" if proprietary_only else "open"
        if proprietary_only:
            notes.append(say("proprietary_chosen", architectures=", ".join(proprietary_only)))
    if chosen == "open" and proprietary_only:
        raise Stop(say("open_unsupported", on=host.named, architectures=", ".join(proprietary_only)))
    if chosen == "proprietary" and any(a.kernel_modules == "open" for a in known):
        raise Stop(say("blackwell_needs_open", on=host.named))
    return chosen, notes


def ubuntu_packages(host: Host, is_open: bool) -> dict:
    """Canonical's driver and the precompiled, signed modules for the running kernel's flavour."""
    suffix = f"{host.branch}-server{'-open' if is_open else ''}"
    kernel = host.facts.get("kernel_release", "")
    release = str(host.facts.get("release", ""))
    ga_kernels = host.settings.get("ubuntu_ga_kernels", {})
    modules, flavour = ubuntu_module_packages(kernel, release, f"linux-modules-nvidia-{suffix}", ga_kernels)
    if not modules:
        raise Stop(say("ubuntu_unknown_flavour", host=host.name, kernel=kernel or "(unknown)", suffix=suffix))
    return {
        "source": "Ubuntu",
        "kernel_flavour": flavour,
        "module_packages": modules,
        "driver_packages": [f"nvidia-driver-{suffix}"],
    }


def debian_packages(host: Host, is_open: bool) -> dict:
    """NVIDIA's CUDA repository: its keyring, the branch's pinning package, the driver; the kernel's headers."""
    release = str(host.facts.get("release", ""))
    codename = host.facts.get("codename", "")
    repository = f"{host.settings['cuda_repository_mirror'].rstrip('/')}/debian{release}/x86_64"
    return {
        "source": "Debian",
        "header_packages": debian_header_packages(host.facts.get("kernel_release", "")),
        "repository_url": repository,
        "keyring_url": f"{repository}/cuda-keyring_{host.settings['cuda_keyring_version']}_all.deb",
        "pinning_packages": [f"nvidia-driver-pinning-{host.branch}"],
        "driver_packages": ["nvidia-open" if is_open else "cuda-drivers"],
        # NVIDIA's Debian instructions enable contrib: the driver's packages follow Debian's packaging, whose
        # dependencies include packages of contrib (glx-alternative-nvidia ...). docs/gpu-host.md has the sources.
        "contrib_source": {
            "uris": [host.settings["debian_mirror"].rstrip("/")],
            "suites": [codename, f"{codename}-updates"],
            "components": ["contrib"],
            "signed_by": host.settings["debian_keyring"],
        },
    }


def packages(host: Host, is_open: bool) -> tuple[dict, list[str]]:
    distribution = host.facts.get("distribution", "")
    if distribution == "Ubuntu":
        return ubuntu_packages(host, is_open), []
    if distribution == "Debian":
        notes = [say("debian_secure_boot")] if host.facts.get("secure_boot") else []
        return debian_packages(host, is_open), notes
    raise Stop(say("unsupported_distribution", distribution=distribution))


def install_or_reboot(host: Host, kernel_modules_kind: str) -> dict:
    """Install the branch, or reboot first where an installed driver waits for one."""
    state = _smi_state(host)
    if state == "mismatch" or (state == "not-loaded" and host.settings.get("reboot_pending")):
        why = say("reboot_mismatch" if state == "mismatch" else "reboot_pending")
        return {"action": "reboot", "reason": say("reboot", host=host.name, why=why)}
    error = host.facts.get("nvidia_smi_error")
    source = "Canonical's archive" if host.facts.get("distribution") == "Ubuntu" else "NVIDIA's CUDA repository"
    reason = say(
        "install",
        branch=host.branch,
        kernel_modules=kernel_modules_kind,
        on=host.named,
        source=source,
        said=f" (nvidia-smi said: {error})" if error else "",
    )
    return {"action": "install", "reason": reason}


def _smi_state(host: Host) -> str:
    return host.facts.get("nvidia_smi_state", "working" if host.facts.get("driver_version") else "absent")


def driver_plan(facts: dict, settings: dict) -> dict:
    """What the role does on this host. `facts` are the preflight role's (without the "preflight_" prefix),
    `settings` the role's variables. The result's "action" is one of:
      skip     nothing to do here (the reason says why)
      keep     a working driver that suits the image
      install  install (or upgrade to) branch settings["branch"]; "packages" and friends say what
      reboot   the driver is installed but a reboot is due before it works
      stop     the run must stop: "message" says why and what to do
    """
    host = Host(facts, settings)
    plan: dict = {"action": "", "reason": "", "message": "", "notes": [], "branch": host.branch, "image": host.image}
    reason = skip_reason(host)
    if reason:
        return plan | {"action": "skip", "reason": reason}
    plan["architectures"] = host.architectures
    try:
        plan["notes"] += fabric_manager_notes(host) + capability_notes(host)
        action, reason, notes = working_driver(host)
        plan["notes"] += notes
        if action == "keep":
            return plan | {"action": "keep", "reason": reason}
        plan["kernel_modules"], notes = kernel_modules(host)
        plan["notes"] += notes
        chosen, notes = packages(host, plan["kernel_modules"] == "open")
        plan |= chosen
        plan["notes"] += notes
    except Stop as stop:
        return plan | {"action": "stop", "message": str(stop)}
    plan["packages"] = [
        *plan.get("header_packages", []),
        *plan.get("module_packages", []),
        *plan.get("pinning_packages", []),
        *plan["driver_packages"],
    ]
    plan |= install_or_reboot(host, plan["kernel_modules"])
    plan["reboot_allowed"] = bool(settings.get("reboot"))
    plan["reboot_advice"] = say("reboot_advice", host=host.name)
    return plan


def driver_failure_advice(output: str, facts: dict) -> str:
    """What to do when nvidia-smi still does not answer after the driver was installed (and the host rebooted)."""
    if nvidia_driver_complaint(output) == "mismatch":
        return say("failure_mismatch")
    advice = [say("failure_not_loaded")]
    if facts.get("secure_boot"):
        advice.append(say("failure_secure_boot"))
    if facts.get("distribution") == "Ubuntu":
        advice.append(say("failure_ubuntu", kernel=facts.get("kernel_release")))
    else:
        advice.append(say("failure_debian"))
    return " ".join(advice)


def nvidia_smi_advice(result: dict, branch: str) -> str:
    """What a failed nvidia-smi (a command result: rc, stdout, stderr) on a host that should have a working driver
    means, and what to do; `branch` is the one the role installs."""
    state = nvidia_smi_state(result)
    if state["state"] == "absent":
        return say("smi_absent", branch=branch)
    if state["state"] == "mismatch":
        return say("failure_mismatch")
    if state["state"] == "not-loaded":
        return say("smi_not_loaded")
    return say("smi_failing", rc=result.get("rc"), said=" ".join(state["error"].split())[:300])
