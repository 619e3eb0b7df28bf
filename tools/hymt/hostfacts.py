"""What the project knows about GPU hosts and their Docker engines, in one place: the roles' filter plugins
(tools/ansible/filter_plugins/) and `hymt verify` read the same tables and parsers.

- NVIDIA GPU architectures: PCI device id ranges, each architecture's lowest compute capability, which kernel modules
  it can use and the last driver branch that supports it (NVIDIA's driver documentation; docs/gpu-host.md).
- Parsers of what hosts print: `lspci -D -nn`, sysfs PCI attributes, `nvidia-smi` (its query output, its header's CUDA
  version, its failures), `dockerd --version`.
- Comparisons: driver versions against a floor (hymt_vllm_cuda_driver_min ...), compute capabilities.
- Debian's names for the processor architectures.
- Which apt package requests the installed packages already satisfy (package_facts' view), so that a re-run skips
  the apt module, which reads apt's whole cache every time, when there is nothing to install.

Plain Python, tested on recorded outputs of real machines (tests/ansible/data, tests/gpu/data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

NVIDIA_VENDOR_ID = "10de"
# PCI display controllers: 0300 VGA compatible, 0302 3D controller (datacenter GPUs). NVIDIA's audio functions,
# USB controllers and NVSwitches carry the vendor id too, but are not GPUs.
DISPLAY_CLASS_PREFIX = "03"
# PCI class of NVSwitch (0680, "Bridge"): HGX boards connect their GPUs through these, and then need NVIDIA Fabric
# Manager running before CUDA works.
NVSWITCH_CLASS = "0680"

# `lspci -D -nn`: "0000:01:00.0 3D controller [0302]: NVIDIA Corporation GA102GL [A10] [10de:2236] (rev a1)"
LSPCI_LINE = re.compile(
    r"^(?P<slot>\S+)\s+(?P<class_name>.+?)\s+\[(?P<class_id>[0-9a-fA-F]{4})\]:\s+(?P<description>.*?)"
    r"\s+\[(?P<vendor>[0-9a-fA-F]{4}):(?P<device>[0-9a-fA-F]{4})\](?:\s+\(rev\s+(?P<revision>[0-9a-fA-F]+)\))?\s*$"
)
CUDA_VERSION = re.compile(r"CUDA Version:\s*(?P<version>\d+\.\d+)")
# What preflight and `hymt verify` ask nvidia-smi (one line per GPU, read by nvidia_gpus_from_nvidia_smi), and the
# field verify adds when the driver knows it (compute_cap: drivers from 2021 on; older ones refuse the whole query).
NVIDIA_SMI_QUERY_FIELDS = "index,name,memory.total,driver_version,pci.bus_id"
NVIDIA_SMI_CAPABILITY_FIELD = "compute_cap"


@dataclass(frozen=True)
class Architecture:
    name: str
    compute_capability: str  # the lowest of the generation's chips
    # Kernel modules: "open" (open only: Blackwell), "either" (Turing to Hopper), "proprietary" (Maxwell to Volta).
    kernel_modules: str
    last_branch: int | None = None  # the last driver branch that supports it (None: every current branch)


# Oldest first.
ARCHITECTURES = {
    a.name: a
    for a in (
        Architecture("Fermi", "2.0", "proprietary", 390),
        Architecture("Kepler", "3.0", "proprietary", 470),
        Architecture("Maxwell", "5.0", "proprietary", 580),
        Architecture("Pascal", "6.0", "proprietary", 580),
        Architecture("Volta", "7.0", "proprietary", 580),
        Architecture("Turing", "7.5", "either"),
        Architecture("Ampere", "8.0", "either"),
        Architecture("Ada Lovelace", "8.9", "either"),
        Architecture("Hopper", "9.0", "either"),
        Architecture("Blackwell", "10.0", "open"),
    )
}
# NVIDIA GPU architectures by PCI device id (ranges of the ids NVIDIA assigned to each generation's chips, from the
# PCI id database). Ids outside every range are "unknown".
ARCHITECTURE_RANGES = (
    (0x06C0, 0x06FF, "Fermi"),
    (0x0DC0, 0x0DFF, "Fermi"),
    (0x0E00, 0x0E3F, "Fermi"),
    (0x0FC0, 0x0FFF, "Kepler"),
    (0x1000, 0x103F, "Kepler"),
    (0x1040, 0x10FF, "Fermi"),
    (0x1140, 0x117F, "Fermi"),
    (0x1180, 0x12FF, "Kepler"),
    (0x1340, 0x13FF, "Maxwell"),
    (0x1400, 0x143F, "Maxwell"),
    (0x1600, 0x167F, "Maxwell"),
    (0x1780, 0x17FF, "Maxwell"),
    (0x15F0, 0x15FF, "Pascal"),
    (0x1B00, 0x1D7F, "Pascal"),
    (0x1D80, 0x1DFF, "Volta"),
    (0x1E00, 0x1FFF, "Turing"),
    (0x2180, 0x21FF, "Turing"),
    (0x2080, 0x20FF, "Ampere"),
    (0x2200, 0x22FF, "Ampere"),
    (0x2300, 0x23FF, "Hopper"),
    (0x2400, 0x25FF, "Ampere"),
    (0x2600, 0x28FF, "Ada Lovelace"),
    (0x2900, 0x3FFF, "Blackwell"),
)
# The lowest compute capability vLLM's GPU images have kernels for: its CUDA 12.8+ and 13 builds start at Turing
# (7.5); Volta (7.0), Pascal and older have none, whichever image variant.
VLLM_MIN_CAPABILITY = "7.5"

# Debian's (and Docker's, NVIDIA's) repository names of the processor architectures Ansible reports.
APT_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}


def apt_architecture(machine: str) -> str:
    """Debian's name of a processor architecture ("x86_64" -> "amd64"); amd64 when unknown."""
    return APT_ARCHITECTURES.get(machine or "x86_64", "amd64")


def version_tuple(version: str) -> tuple[int, ...]:
    """'580.95.05' -> (580, 95, 5); '7.5' -> (7, 5); '' -> ()."""
    return tuple(int(part) for part in re.findall(r"\d+", str(version or "")))


def version_at_least(version: str, minimum: str) -> bool:
    """Whether a driver version (or a compute capability, a CUDA version) is known and at least `minimum`."""
    return bool(version_tuple(version)) and version_tuple(version) >= version_tuple(minimum)


def nvidia_architecture(device_id: str) -> str:
    """The architecture of an NVIDIA GPU from its PCI device id ("2237" -> "Ampere"); "unknown" when not known."""
    try:
        number = int(str(device_id), 16)
    except ValueError:
        return "unknown"
    for first, last, architecture in ARCHITECTURE_RANGES:
        if first <= number <= last:
            return architecture
    return "unknown"


def gpus_vllm_cannot_run(pci_gpus: list[dict]) -> list[dict]:
    """The GPUs (preflight's, with their compute capability) below VLLM_MIN_CAPABILITY; unknown ones are not judged."""
    return [
        gpu
        for gpu in pci_gpus or []
        if gpu.get("compute_capability") and not version_at_least(gpu["compute_capability"], VLLM_MIN_CAPABILITY)
    ]


def compute_capability(architecture: str) -> str:
    """The lowest compute capability of an architecture ("Volta" -> "7.0"); "" when unknown."""
    known = ARCHITECTURES.get(architecture)
    return known.compute_capability if known else ""


def _with_architecture(gpu: dict) -> dict:
    architecture = nvidia_architecture(gpu["device_id"])
    return gpu | {"architecture": architecture, "compute_capability": compute_capability(architecture)}


def _pci_gpu(slot: str, name: str, device_id: str, source: str) -> dict:
    gpu = {"slot": slot, "name": name, "device_id": device_id, "memory_mb": None, "source": source}
    return _with_architecture(gpu)


def nvidia_gpus_from_lspci(output: str) -> list[dict]:
    """NVIDIA GPUs in `lspci -D -nn` output: slot, name and PCI device id (memory is unknown without a driver)."""
    gpus = []
    for line in (output or "").splitlines():
        match = LSPCI_LINE.match(line.strip())
        if not match or match["vendor"].lower() != NVIDIA_VENDOR_ID:
            continue
        if not match["class_id"].startswith(DISPLAY_CLASS_PREFIX):
            continue
        name = re.sub(r"^NVIDIA Corporation\s+", "", match["description"])
        gpus.append(_pci_gpu(match["slot"], name, match["device"].lower(), "lspci"))
    return gpus


def nvidia_nvswitch_count(output: str) -> int:
    """How many NVSwitches `lspci -D -nn` lists (HGX boards: they need NVIDIA Fabric Manager)."""
    count = 0
    for line in (output or "").splitlines():
        match = LSPCI_LINE.match(line.strip())
        if match and match["vendor"].lower() == NVIDIA_VENDOR_ID and match["class_id"] == NVSWITCH_CLASS:
            count += 1
    return count


def nvidia_gpus_from_sysfs(output: str) -> list[dict]:
    """NVIDIA GPUs in `grep -H '' /sys/bus/pci/devices/*/{vendor,class,device}` output (hosts without lspci)."""
    devices: dict[str, dict[str, str]] = {}
    for line in (output or "").splitlines():
        path, _, value = line.partition(":0x")
        slot_dir, _, attribute = path.rpartition("/")
        if attribute in {"vendor", "class", "device"} and value:
            devices.setdefault(slot_dir.rsplit("/", 1)[-1], {})[attribute] = value.strip().lower()
    gpus = []
    for slot, attributes in sorted(devices.items()):
        if attributes.get("vendor") != NVIDIA_VENDOR_ID:
            continue
        if not attributes.get("class", "").startswith(DISPLAY_CLASS_PREFIX):
            continue
        device_id = attributes.get("device", "")
        gpus.append(_pci_gpu(slot, f"NVIDIA device {device_id}", device_id, "sysfs"))
    return gpus


def nvidia_smi_query(compute_capability: bool = False) -> list[str]:
    """The nvidia-smi command whose output nvidia_gpus_from_nvidia_smi reads, with or without the compute capability."""
    fields = NVIDIA_SMI_QUERY_FIELDS + (f",{NVIDIA_SMI_CAPABILITY_FIELD}" if compute_capability else "")
    return ["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader,nounits"]


def nvidia_gpus_from_nvidia_smi(output: str) -> list[dict]:
    """GPUs in the output of nvidia_smi_query(), with the compute capability or without (one line per GPU; anything
    else, such as an error, is no GPU). compute_capability is "" when not asked for or not known."""
    gpus = []
    for line in (output or "").splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) not in (5, 6) or not fields[0].isdigit():
            continue
        index, name, memory, driver, bus_id = fields[:5]
        capability = fields[5] if len(fields) == 6 and re.fullmatch(r"\d+\.\d+", fields[5]) else ""
        gpus.append(
            {
                "index": int(index),
                "slot": bus_id.lower(),
                "name": name,
                "memory_mb": int(float(memory)) if re.fullmatch(r"\d+(\.\d+)?", memory) else None,
                "driver_version": driver,
                "compute_capability": capability,
                "source": "nvidia-smi",
            }
        )
    return gpus


def nvidia_cuda_version(output: str) -> str:
    """The highest CUDA version the driver supports, from the header of plain `nvidia-smi` ("" when absent)."""
    match = CUDA_VERSION.search(output or "")
    return match["version"] if match else ""


def nvidia_smi_state(result: dict) -> dict:
    """What a failed or successful nvidia-smi call (a registered command result) says about the driver.

    state: "working" (it answered), "absent" (no nvidia-smi: no driver installed), "not-loaded" (installed, but the
    kernel module is not loaded: not rebooted yet, blocked by Secure Boot, or built for another kernel), "mismatch"
    (the libraries were upgraded while the old module stays loaded: a reboot is due), or "failing" (anything else);
    error: what it printed.
    """
    result = result or {}
    output = "\n".join(part for part in (result.get("stdout", ""), result.get("stderr", "")) if part).strip()
    if result.get("rc") == 0:
        return {"state": "working", "error": ""}
    # Ansible's command module says "No such file" (rc 2); a shell (hymt verify over SSH) exits 127.
    said = result.get("msg") or output
    if result.get("rc") == 127 or (result.get("rc") in (None, 2) and ("No such file" in said or not output)):
        return {"state": "absent", "error": ""}
    return {"state": nvidia_driver_complaint(output) or "failing", "error": output}


def nvidia_driver_complaint(output: str) -> str:
    """What nvidia-smi (on the host or in a container) says is wrong with the driver: "mismatch" (libraries newer than
    the loaded kernel module), "not-loaded" (no kernel module), or "" (neither)."""
    text = output or ""
    if "version mismatch" in text.lower():
        return "mismatch"
    if "couldn't communicate with the NVIDIA driver" in text or "driver not loaded" in text.lower():
        return "not-loaded"
    return ""


def engine_major_version(output: str) -> int:
    """The major version in `dockerd --version` (or `docker --version`) output ("Docker version 20.10.24+dfsg1,
    build ..." -> 20); 0 if none."""
    for word in (output or "").replace(",", " ").split():
        head = word.removeprefix("v").split(".", 1)[0]
        if "." in word and head.isdigit():
            return int(head)
    return 0


def packages_from_dpkg_query(output: str) -> dict[str, list[dict[str, str]]]:
    """The installed packages in package_facts' shape for apt (name -> [{name, version, arch, source}], one entry per
    installed architecture) from `dpkg-query --show` with the format
    `${Package} ${Version} ${Architecture} ${db:Status-Status}\\n` (none of the four holds a space). Packages that
    are only known (removed with their configuration kept, half-installed) are left out, as package_facts leaves them
    out."""
    packages: dict[str, list[dict[str, str]]] = {}
    for line in (output or "").splitlines():
        fields = line.split()
        if len(fields) != 4 or fields[3] != "installed" or not fields[0]:
            continue
        name, version, arch, _status = fields
        packages.setdefault(name, []).append({"name": name, "version": version, "arch": arch, "source": "apt"})
    return packages


def apt_missing(requests: Iterable[str], installed: Mapping | None) -> list[str]:
    """The apt package requests (NAME, NAME=VERSION or NAME=VERSION* as the apt module takes them) that the installed
    packages do not satisfy. `installed` is package_facts' `packages` (name -> [{version, ...}], or the same from
    packages_from_dpkg_query); when it is empty or unknown every request is missing, so the apt task runs as it would
    without it. A request this cannot judge (an architecture qualifier, a version relation) counts as missing too: the
    apt module decides those."""
    requests = [str(request) for request in requests]
    if not isinstance(installed, Mapping) or not installed:
        return requests
    missing = []
    for request in requests:
        name, has_version, version = request.partition("=")
        versions = [str(entry.get("version", "")) for entry in installed.get(name) or [] if isinstance(entry, Mapping)]
        judgeable = name and ":" not in name and not re.search(r"[<>]", request)
        if not judgeable or not versions or (has_version and not any(fnmatchcase(v, version) for v in versions)):
            missing.append(request)
    return missing
