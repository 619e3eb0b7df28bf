"""The preflight role's filters: thin names over hymt.hostfacts, hymt.provision.preflight and, for the GPU memory
check, the stack role's choice of vLLM's settings (hymt.provision.stack). The controller's Python, the venv where hymt
is installed, imports them."""

from __future__ import annotations

from hymt import hostfacts
from hymt.provision import preflight, stack


class FilterModule:
    def filters(self):
        return {
            "preflight_nvidia_gpus_from_lspci": hostfacts.nvidia_gpus_from_lspci,
            "preflight_nvidia_gpus_from_sysfs": hostfacts.nvidia_gpus_from_sysfs,
            "preflight_nvidia_smi_query": hostfacts.nvidia_smi_query,
            "preflight_nvidia_gpus_from_nvidia_smi": hostfacts.nvidia_gpus_from_nvidia_smi,
            "preflight_nvidia_cuda_version": hostfacts.nvidia_cuda_version,
            "preflight_nvidia_architecture": hostfacts.nvidia_architecture,
            "preflight_nvidia_nvswitch_count": hostfacts.nvidia_nvswitch_count,
            "preflight_nvidia_smi_state": hostfacts.nvidia_smi_state,
            "preflight_secure_boot_enabled": preflight.secure_boot_enabled,
            "preflight_is_wsl": preflight.is_wsl,
            "preflight_mounts_from_df": preflight.mounts_from_df,
            "preflight_images_missing": preflight.images_missing,
            "preflight_held_bytes": preflight.held_bytes,
            "preflight_disk_needs": preflight.disk_needs,
            "preflight_disk_report": preflight.disk_report,
            "preflight_unsupported_gpus_message": preflight.unsupported_gpus_message,
            "preflight_vllm_fit_problem": stack.fit_problem_for_host,
        }
