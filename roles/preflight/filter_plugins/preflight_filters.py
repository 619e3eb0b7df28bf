"""Filters that turn what the preflight role observed on a host into facts.

Parsing lives here, in plain Python, so that recorded outputs of real machines (lspci, nvidia-smi, /proc/version,
mount tables) can be unit-tested without the hardware (tests/ansible/test_preflight_filters.py).
"""

from __future__ import annotations

import re

NVIDIA_VENDOR_ID = "10de"
# PCI display controllers: 0300 VGA compatible, 0302 3D controller (datacenter GPUs). NVIDIA's audio functions,
# USB controllers and NVSwitches carry the vendor id too, but are not GPUs.
DISPLAY_CLASS_PREFIX = "03"

# `lspci -D -nn`: "0000:01:00.0 3D controller [0302]: NVIDIA Corporation GA102GL [A10] [10de:2236] (rev a1)"
LSPCI_LINE = re.compile(
    r"^(?P<slot>\S+)\s+(?P<class_name>.+?)\s+\[(?P<class_id>[0-9a-fA-F]{4})\]:\s+(?P<description>.*?)"
    r"\s+\[(?P<vendor>[0-9a-fA-F]{4}):(?P<device>[0-9a-fA-F]{4})\](?:\s+\(rev\s+(?P<revision>[0-9a-fA-F]+)\))?\s*$"
)
CUDA_VERSION = re.compile(r"CUDA Version:\s*(?P<version>\d+\.\d+)")
GIB = 1024**3
# PCI class of NVSwitch (0680, "Bridge"): HGX boards connect their GPUs through these, and then need NVIDIA Fabric
# Manager running before CUDA works.
NVSWITCH_CLASS = "0680"

# NVIDIA GPU architectures by PCI device id (ranges of the ids NVIDIA assigned to each generation's chips, from the
# PCI id database), oldest first, with the lowest compute capability of each. The driver role decides from these:
# open kernel modules need Turing or newer (Blackwell requires them), the proprietary ones end at Volta, and the
# vLLM images need compute capability 7.0 (CUDA 13 builds: 7.5). Ids outside every range are "unknown".
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
COMPUTE_CAPABILITY = {
    "Fermi": "2.0",
    "Kepler": "3.0",
    "Maxwell": "5.0",
    "Pascal": "6.0",
    "Volta": "7.0",
    "Turing": "7.5",
    "Ampere": "8.0",
    "Ada Lovelace": "8.9",
    "Hopper": "9.0",
    "Blackwell": "10.0",
}


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


def _with_architecture(gpu: dict) -> dict:
    architecture = nvidia_architecture(gpu["device_id"])
    return gpu | {"architecture": architecture, "compute_capability": COMPUTE_CAPABILITY.get(architecture, "")}


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
        gpus.append(
            _with_architecture(
                {
                    "slot": match["slot"],
                    "name": name,
                    "device_id": match["device"].lower(),
                    "memory_mb": None,
                    "source": "lspci",
                }
            )
        )
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
        gpus.append(
            _with_architecture(
                {
                    "slot": slot,
                    "name": f"NVIDIA device {device_id}",
                    "device_id": device_id,
                    "memory_mb": None,
                    "source": "sysfs",
                }
            )
        )
    return gpus


def nvidia_gpus_from_nvidia_smi(output: str) -> list[dict]:
    """GPUs in `nvidia-smi --query-gpu=index,name,memory.total,driver_version,pci.bus_id --format=csv,noheader,nounits`
    (one line per GPU; anything else, such as an error, is no GPU)."""
    gpus = []
    for line in (output or "").splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 5 or not fields[0].isdigit():
            continue
        index, name, memory, driver, bus_id = fields
        gpus.append(
            {
                "index": int(index),
                "slot": bus_id.lower(),
                "name": name,
                "memory_mb": int(float(memory)) if re.fullmatch(r"\d+(\.\d+)?", memory) else None,
                "driver_version": driver,
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
    if result.get("rc") in (None, 2, 127) and ("No such file" in (result.get("msg") or output) or not output):
        return {"state": "absent", "error": ""}
    if "version mismatch" in output.lower():
        return {"state": "mismatch", "error": output}
    if "couldn't communicate with the NVIDIA driver" in output or "driver not loaded" in output.lower():
        return {"state": "not-loaded", "error": output}
    return {"state": "failing", "error": output}


def secure_boot_enabled(efivar_base64: str) -> bool:
    """Whether UEFI Secure Boot is on, from the SecureBoot EFI variable as slurp returns it (base64): four bytes of
    attributes, then one byte that is 1 when Secure Boot is enforced."""
    import base64

    try:
        data = base64.b64decode(efivar_base64 or "")
    except ValueError:
        return False
    return len(data) >= 5 and data[4] == 1


def is_wsl(proc_version: str) -> bool:
    """True on WSL (1 or 2): its kernels carry Microsoft's name in /proc/version."""
    return "microsoft" in (proc_version or "").lower()


def mounts_from_df(output: str) -> list[dict]:
    """Mount points and their free bytes from `df -B1 --output=target,avail` (which, unlike Ansible's mount facts,
    also lists an overlay root file system, as containers have)."""
    mounts = []
    for line in (output or "").splitlines()[1:]:
        target, _, available = line.rstrip().rpartition(" ")
        if target.strip() and available.isdigit():
            mounts.append({"mount": target.strip(), "size_available": int(available)})
    return mounts


def mount_of(path: str, mounts: list[dict]) -> dict | None:
    """The mount holding `path` (which need not exist yet): the mount point that is its longest prefix."""
    best = None
    for mount in mounts or []:
        point = mount.get("mount", "")
        prefix = point.rstrip("/") + "/"
        if (path == point or path.startswith(prefix)) and (best is None or len(point) > len(best["mount"])):
            best = mount
    return best


def disk_report(needs: list[dict], mounts: list[dict]) -> list[dict]:
    """Free space against need, per mount: needs that land on the same file system add up.

    needs: [{"path": "/var/lib/docker", "gb": 30, "purpose": "Docker images"}, ...]
    mounts: [{"mount": "/", "size_available": bytes}, ...] (preflight_mounts_from_df).
    """
    report: dict[str, dict] = {}
    for need in needs or []:
        mount = mount_of(need["path"], mounts)
        if mount is None:
            key = need["path"]
            entry = report.setdefault(key, {"mount": None, "free_gb": None, "need_gb": 0, "purposes": []})
        else:
            key = mount["mount"]
            free = round(float(mount.get("size_available", 0)) / GIB, 1)
            entry = report.setdefault(key, {"mount": key, "free_gb": free, "need_gb": 0, "purposes": []})
        entry["need_gb"] += float(need["gb"])
        entry["purposes"].append(f"{need['purpose']} ({need['path']})")
    for entry in report.values():
        entry["ok"] = entry["free_gb"] is not None and entry["free_gb"] >= entry["need_gb"]
    return list(report.values())


class FilterModule:
    def filters(self):
        return {
            "preflight_nvidia_gpus_from_lspci": nvidia_gpus_from_lspci,
            "preflight_nvidia_gpus_from_sysfs": nvidia_gpus_from_sysfs,
            "preflight_nvidia_gpus_from_nvidia_smi": nvidia_gpus_from_nvidia_smi,
            "preflight_nvidia_cuda_version": nvidia_cuda_version,
            "preflight_nvidia_architecture": nvidia_architecture,
            "preflight_nvidia_nvswitch_count": nvidia_nvswitch_count,
            "preflight_nvidia_smi_state": nvidia_smi_state,
            "preflight_secure_boot_enabled": secure_boot_enabled,
            "preflight_is_wsl": is_wsl,
            "preflight_mounts_from_df": mounts_from_df,
            "preflight_disk_report": disk_report,
        }
