"""The nvidia_container_toolkit role's decision and its advice on the errors containers give.

Plain Python (the role reaches it through tools/ansible/filter_plugins/nvidia_container_toolkit.py), unit-tested in
tests/gpu/ on recorded outputs: what the role installs and contributes to daemon.json
(through the docker role, the only writer of that file), and what a failed `docker run --gpus all ... nvidia-smi`
means, in words a user can act on.

NVIDIA's Container Toolkit install guide: a repository signed by NVIDIA's key, the four packages pinned to one version
("<version>-1"), stale list files of older guides removed (they make apt refuse the repository with a Signed-By
conflict), the "nvidia" runtime in daemon.json. CDI (a spec in /var/run/cdi/nvidia.yaml, "features": {"cdi": true})
injects the GPUs as devices that survive `systemctl daemon-reload`; without it, the documented alternative to that
pitfall is Docker's cgroupfs driver ("exec-opts": ["native.cgroupdriver=cgroupfs"]).
"""

from __future__ import annotations

import base64
import json
import re

from hymt.hostfacts import apt_architecture, nvidia_driver_complaint

PACKAGES = (
    "nvidia-container-toolkit",
    "nvidia-container-toolkit-base",
    "libnvidia-container-tools",
    "libnvidia-container1",
)
# List files older install guides told users to create; any of them next to the role's source makes apt fail with
# "Conflicting values set for option Signed-By".
STALE_LISTS = (
    "nvidia-docker.list",
    "libnvidia-container.list",
    "nvidia-container-runtime.list",
    "nvidia-container-toolkit.list",
)
# Docker learned CDI ("features": {"cdi": true}) in 25.0.
CDI_MIN_DOCKER = 25
CGROUPFS_OPTION = "native.cgroupdriver=cgroupfs"
GENERIC_ADVICE = "Look at the output above; docs/gpu-host.md lists the common failures and their fixes."


def read_daemon_json(content_base64: str) -> dict:
    """An existing daemon.json as slurp returns it: its settings, or {"invalid": True} when it is not a JSON object."""
    try:
        settings = json.loads(base64.b64decode(content_base64 or "").decode() or "{}")
    except ValueError:
        return {"invalid": True}
    return settings if isinstance(settings, dict) else {"invalid": True}


def toolkit_plan(facts: dict, settings: dict) -> dict:
    """What the role does on this host, from the preflight facts and the role's settings. "action" is one of
    skip, install or stop (then "message" says why and what to do)."""
    host = facts.get("inventory_hostname", "this host")
    plan: dict = {"action": "", "reason": "", "message": "", "notes": [], "docker_runtimes": {}, "docker_options": {}}
    if not settings.get("enabled", True):
        return plan | {
            "action": "skip",
            "reason": (
                "nvidia_container_toolkit_enabled is false in the inventory (as in the rehearsal profile, which has "
                "no GPU)"
            ),
        }
    if not facts.get("gpus") and not facts.get("pci_gpus"):
        return plan | {"action": "skip", "reason": "no NVIDIA GPU on this host (nvidia-smi, lspci and /sys show none)"}

    version = settings["version"]
    architecture = apt_architecture(facts.get("architecture", "x86_64"))
    repository = settings["repository_url"].rstrip("/")
    plan |= {
        "action": "install",
        "reason": f"Installing the NVIDIA Container Toolkit {version} from {repository}.",
        "repository": {"uris": [f"{repository}/{architecture}/"], "suites": ["/"], "signed_by": settings["key_url"]},
        "packages": [f"{name}={version}-1" for name in PACKAGES],
        "stale_lists": [f"/etc/apt/sources.list.d/{name}" for name in STALE_LISTS],
        "version": version,
        "cdi": bool(settings.get("cdi")),
        "docker_runtimes": {"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}},
    }

    # The major version of the engine the docker role will run (0: unknown).
    engine = int(settings.get("docker_major") or 0)
    options: dict = {}
    if settings.get("cdi"):
        if engine and engine < CDI_MIN_DOCKER:
            return plan | {
                "action": "stop",
                "message": (
                    f"nvidia_container_toolkit_cdi is true, but the Docker engine of {host} is {engine}.x, and Docker "
                    f"learned CDI in {CDI_MIN_DOCKER}.0. Use Docker CE (docker_engine_source: ce, the default on GPU "
                    "servers), or set nvidia_container_toolkit_cdi: false and nvidia_container_toolkit_cgroupfs: true "
                    "(the documented way to keep containers' GPUs after 'systemctl daemon-reload' without CDI)."
                ),
            }
        options["features"] = {"cdi": True}
    if settings.get("cgroupfs"):
        options["exec-opts"] = [CGROUPFS_OPTION]
    if not settings.get("cdi") and not settings.get("cgroupfs"):
        plan["notes"].append(
            "Neither CDI nor the cgroupfs driver is on: containers lose their GPUs ('Failed to initialize NVML: "
            "Unknown Error') whenever systemd reloads its units (systemctl daemon-reload, package upgrades) and must "
            "then be recreated. Set nvidia_container_toolkit_cdi: true (or nvidia_container_toolkit_cgroupfs: true)."
        )
    if settings.get("default_runtime"):
        options["default-runtime"] = "nvidia"
    plan["docker_options"] = options

    # What the host's daemon.json has now (a cloud image's, or `nvidia-ctk runtime configure`'s) and the docker role,
    # writing the file from its parts, would drop.
    current = facts.get("daemon_json") or {}
    if current.get("invalid") is True:
        plan["notes"].append(
            f"/etc/docker/daemon.json on {host} is not a JSON object (Docker would not start with it); the docker role "
            "replaces it."
        )
    elif isinstance(current, dict):
        if current.get("default-runtime") == "nvidia" and not settings.get("default_runtime"):
            plan["notes"].append(
                f"/etc/docker/daemon.json on {host} makes nvidia the default runtime; the docker role rewrites the "
                "file without it (containers then need --gpus or a device reservation, as the stack's compose file "
                "has). Set nvidia_container_toolkit_default_runtime: true to keep it."
            )
        for key in sorted(set(current) - {"runtimes", "default-runtime", "features", "exec-opts"}):
            plan["notes"].append(
                f'/etc/docker/daemon.json on {host} sets "{key}", which the docker role keeps only if the inventory '
                "sets it (docker_daemon_options or docker_daemon_extra_options)."
            )
    plan["verify_image"] = settings.get("verify_image", "")
    return plan


def smoke_test_advice(output: str, context: dict | None = None) -> str:
    """What to do when the opted-in vLLM image (the unverified -cu129 build) does not start on the host: the known
    container errors get their own advice; anything else is the image itself failing, as -cu129 builds have."""
    context = context or {}
    advice = container_advice(output, context)
    if advice != GENERIC_ADVICE:
        return advice
    image = context.get("image", "the -cu129 image")
    return (
        f"{image} does not start on this host (the last lines above say why; -cu129 builds of vLLM 0.30 and 0.31 "
        "were reported to crash at start like this). It is an unverified opt-in: go back to the plain image with a "
        'driver of branch nvidia_driver_branch (hymt_vllm_image_variant: "" and nvidia_driver_upgrade: true), and run '
        "the playbook again."
    )


def container_advice(output: str, context: dict | None = None) -> str:
    """What a failed `docker run --gpus all IMAGE ...` printed, turned into what to do (the role's proof, the opted-in
    image's smoke test, `hymt verify`'s GPU test); GENERIC_ADVICE when it is none of the known errors."""
    context = context or {}
    text = output or ""
    image = context.get("image", "the image")
    driver = context.get("driver_version") or "the installed driver"
    required = re.search(r"unsatisfied condition: cuda\s*>=\s*([\d.]+)", text)
    if required:
        return (
            f"The driver is too old for {image}: it needs CUDA {required.group(1)}, and {driver} supports less. "
            "Upgrade the driver: nvidia_driver_upgrade: true installs branch nvidia_driver_branch (the CUDA 12.9 "
            'image, hymt_vllm_image_variant: "-cu129", is an unverified opt-in, not the fix: docs/gpu-host.md).'
        )
    if 'could not select device driver ""' in text or "could not select device driver" in text:
        return (
            "Docker does not know the NVIDIA device driver: the NVIDIA Container Toolkit is missing, or Docker was "
            "not restarted after it was installed, or Docker is the snap package (which the toolkit does not support). "
            "Run the playbook again (the docker role restarts the engine when daemon.json changes); check "
            "'nvidia-ctk --version' and 'docker info | grep -i runtimes'."
        )
    if "unknown or invalid runtime name: nvidia" in text:
        return (
            "Docker has no 'nvidia' runtime: /etc/docker/daemon.json lacks it or the engine was not restarted. The "
            "docker role writes it from nvidia_container_toolkit_docker_runtimes (playbooks/provision.yml passes it); "
            "run the whole playbook, then 'sudo systemctl restart docker' if it still lacks it."
        )
    if "unresolvable CDI devices" in text or "CDI device injection failed" in text:
        return (
            "Docker found no CDI spec for the GPUs: generate it with 'sudo nvidia-ctk cdi generate "
            "--output=/var/run/cdi/nvidia.yaml' (the toolkit's nvidia-cdi-refresh unit does it at boot and on driver "
            "changes) and check 'nvidia-ctk cdi list'."
        )
    if "Failed to initialize NVML: Unknown Error" in text:
        return (
            "The container lost its GPUs (systemd reloaded its units and reset the container's device rules). "
            "Recreate the container; to prevent it, use CDI (nvidia_container_toolkit_cdi: true) or Docker's cgroupfs "
            "driver (nvidia_container_toolkit_cgroupfs: true)."
        )
    complaint = nvidia_driver_complaint(text)
    if complaint == "mismatch":
        return "The driver's libraries were upgraded while the old kernel module is still loaded: reboot the host."
    if complaint == "not-loaded":
        return (
            "The NVIDIA kernel module is not loaded on the host: check 'nvidia-smi' on the host itself (a reboot after "
            "installing the driver, Secure Boot refusing an unsigned module, or modules missing for the running "
            "kernel)."
        )
    if "Unable to find image" in text or "pull access denied" in text or ("registry" in text and "dial tcp" in text):
        return (
            f"Docker could not pull {image}: the registry is unreachable from the host. Pull it through a registry "
            "mirror (docker_daemon_registry_mirrors), or load it from a file (docker save / docker load), or set "
            "nvidia_container_toolkit_verify_image to a CUDA base image the host can reach."
        )
    return GENERIC_ADVICE
