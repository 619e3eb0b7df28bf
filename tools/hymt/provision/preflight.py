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


def _short_reference(reference: str) -> str:
    """An image reference as `docker image ls` names it: Docker Hub's registry and its library/ namespace left out."""
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if reference.startswith(prefix):
            reference = reference[len(prefix) :]
            break
    return reference.removeprefix("library/")


def images_missing(required: list[str], listed: str | None) -> list[str]:
    """The required image references the host's Docker does not hold, from `docker image ls --format
    '{{.Repository}}:{{.Tag}}'`; every one of them when Docker could not be asked (listed is None)."""
    if listed is None:
        return list(required or [])
    held = {_short_reference(line.strip()) for line in listed.splitlines() if line.strip()}
    return [reference for reference in required or [] if _short_reference(reference) not in held]


def held_bytes(du_output: str | None) -> int:
    """The bytes `du -s -B1 PATH` counts under PATH; 0 when it printed nothing (PATH does not exist yet)."""
    first = (du_output or "").split()
    return int(first[0]) if first and first[0].isdigit() else 0


def disk_needs(
    docker: dict, images_missing: list[str], model: dict | None = None, model_held_bytes: int = 0
) -> list[dict]:
    """What still needs room on the host, for disk_report: what is already there takes none again.

    docker: {"path": data root, "gb": free space a pull needs}: needed only while an image is missing (a re-run on a
    host holding every image pulls nothing). model: {"path", "gb", "name"} (None off the GPU hosts): the model's
    size less what its directory already holds.
    """
    needs = []
    if images_missing:
        needs.append(
            {"path": docker["path"], "gb": float(docker["gb"]), "purpose": "the images " + ", ".join(images_missing)}
        )
    if model:
        held_gb = model_held_bytes / GIB
        rest = round(max(float(model["gb"]) - held_gb, 0.0), 1)
        if rest > 0:
            what = f"the rest of the model {model['name']}" if held_gb >= 0.05 else f"the model {model['name']}"
            needs.append({"path": model["path"], "gb": rest, "purpose": what})
    return needs


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

    needs: [{"path": "/var/lib/docker", "gb": 30, "purpose": "the images ..."}, ...] (disk_needs)
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
        entry["need_gb"] = round(entry["need_gb"] + float(need["gb"]), 1)
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
