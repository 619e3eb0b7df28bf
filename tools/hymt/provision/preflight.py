"""The preflight role's readings of a host that are not GPU facts (those are hymt.hostfacts'): Secure Boot, WSL, free
disk space per mount against the deployment's needs.

Plain Python, so that recorded outputs of real machines can be unit-tested without the hardware
(tests/ansible/test_preflight_filters.py); the role reaches it through tools/ansible/filter_plugins/preflight.py.
"""

from __future__ import annotations

import base64

from hymt.hostfacts import VLLM_MIN_CAPABILITY, gpus_vllm_cannot_run

GIB = 1024**3


def secure_boot_enabled(efivar_base64: str) -> bool:
    """Whether UEFI Secure Boot is on, from the SecureBoot EFI variable as slurp returns it (base64): four bytes of
    attributes, then one byte that is 1 when Secure Boot is enforced."""
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
    also lists an overlay root file system, as containers have); preflight's and `hymt verify`'s free-disk check."""
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


def unsupported_gpus_message(pci_gpus: list[dict], host: str = "this host") -> str:
    """Why vLLM cannot run on these GPUs (preflight's from the PCI bus, or `hymt verify`'s from nvidia-smi) and what
    would work; "" when every GPU is new enough (or unknown)."""
    below = gpus_vllm_cannot_run(pci_gpus)
    if not below:
        return ""
    found: dict[str, int] = {}
    for gpu in below:
        capability = gpu["compute_capability"]
        architecture = f"{gpu['architecture']}, " if gpu.get("architecture") else ""  # nvidia-smi does not say
        name = f"{gpu.get('name', '?')} ({architecture}compute capability {capability})"
        found[name] = found.get(name, 0) + 1
    listed = ", ".join(f"{count}x {name}" if count > 1 else name for name, count in found.items())
    return (
        f"{host} has GPUs vLLM cannot run on: {listed}. vLLM's GPU images (its CUDA 12.8 and 13 builds, every image "
        f"variant) have kernels for compute capability {VLLM_MIN_CAPABILITY} (Turing) and newer only; no image "
        "variant or driver changes that. Use a server with a Turing or newer GPU (T4, A10/A10G, L4, L40S, A100, H100 "
        "...), or remove this host from gpu_hosts."
    )
