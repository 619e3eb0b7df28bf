"""GPU machines as the preflight role would see them, built from transcribed outputs (tests/gpu/data/) with the
preflight role's own parsers, so that the NVIDIA roles' decisions are tested on what real machines print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hymt import hostfacts
from hymt.provision import preflight

DATA = Path(__file__).resolve().parent / "data"
ANSIBLE_DATA = Path(__file__).resolve().parents[1] / "ansible" / "data"

# nvidia-smi's result when it is not installed, as Ansible's command module registers it.
NO_NVIDIA_SMI = {"rc": 2, "stdout": "", "stderr": "", "msg": "[Errno 2] No such file or directory: b'nvidia-smi'"}
# Exit statuses nvidia-smi(1) documents for the failures transcribed here.
FAILURE_STATUS = {"nvidia-smi-not-loaded.txt": 9, "nvidia-smi-version-mismatch.txt": 18}


def transcribed(name: str) -> str:
    """A transcribed output, from tests/gpu/data or (for those transcribed first) tests/ansible/data."""
    for directory in (DATA, ANSIBLE_DATA):
        if (directory / name).exists():
            return (directory / name).read_text()
    raise FileNotFoundError(f"no transcription {name} in {DATA} or {ANSIBLE_DATA}")


@dataclass(frozen=True)
class Machine:
    """A host: its distribution, and the transcriptions of what its lspci, nvidia-smi and /proc/version print."""

    distribution: str
    release: str
    codename: str
    proc_version: str
    lspci: str | None = None
    # A working driver: the plain nvidia-smi output and the --query-gpu one. A failing one: what it printed.
    nvidia_smi: str | None = None
    nvidia_smi_query: str | None = None
    nvidia_smi_failure: str | None = None
    secure_boot: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def kernel_release(self) -> str:
        # "Linux version 6.8.0-1021-aws (buildd@...) ..." -> what `uname -r` (Ansible's kernel fact) says.
        return transcribed(self.proc_version).split()[2]

    def nvidia_smi_result(self) -> dict:
        if self.nvidia_smi_query:
            return {"rc": 0, "stdout": transcribed(self.nvidia_smi_query).strip(), "stderr": ""}
        if self.nvidia_smi_failure:
            status = FAILURE_STATUS[self.nvidia_smi_failure]
            return {"rc": status, "stdout": transcribed(self.nvidia_smi_failure).strip(), "stderr": ""}
        return dict(NO_NVIDIA_SMI)

    def facts(self) -> dict:
        """The preflight_* facts the NVIDIA roles read, as facts.yml computes them."""
        lspci = transcribed(self.lspci) if self.lspci else ""
        result = self.nvidia_smi_result()
        answering = result["rc"] == 0
        smi_gpus = hostfacts.nvidia_gpus_from_nvidia_smi(result["stdout"]) if answering else []
        state = hostfacts.nvidia_smi_state(result)
        return {
            "preflight_distribution": self.distribution,
            "preflight_os_family": "Debian",
            "preflight_release": self.release,
            "preflight_codename": self.codename,
            "preflight_architecture": "x86_64",
            "preflight_kernel_release": self.kernel_release,
            "preflight_is_wsl": preflight.is_wsl(transcribed(self.proc_version)),
            "preflight_nvidia_gpus": smi_gpus if answering else hostfacts.nvidia_gpus_from_lspci(lspci),
            "preflight_nvidia_pci_gpus": hostfacts.nvidia_gpus_from_lspci(lspci),
            "preflight_nvidia_nvswitches": hostfacts.nvidia_nvswitch_count(lspci),
            "preflight_nvidia_driver_version": smi_gpus[0]["driver_version"] if smi_gpus else "",
            "preflight_nvidia_cuda_version": hostfacts.nvidia_cuda_version(
                transcribed(self.nvidia_smi) if answering and self.nvidia_smi else ""
            ),
            "preflight_nvidia_smi_state": state["state"],
            "preflight_nvidia_smi_error": state["error"],
            "preflight_secure_boot": self.secure_boot,
            "preflight_docker_engine_major": 0,  # no engine installed yet
        } | self.extra


UBUNTU_2404 = {"distribution": "Ubuntu", "release": "24.04", "codename": "noble"}
UBUNTU_2204 = {"distribution": "Ubuntu", "release": "22.04", "codename": "jammy"}
DEBIAN_12 = {"distribution": "Debian", "release": "12", "codename": "bookworm"}
DEBIAN_13 = {"distribution": "Debian", "release": "13", "codename": "trixie"}

MACHINES = {
    "cpu-only-vm": Machine(**DEBIAN_12, proc_version="proc-version-debian-12-cloud.txt", lspci="lspci-cpu-only-vm.txt"),
    "wsl2-rtx4070": Machine(
        **UBUNTU_2404,
        proc_version="proc-version-wsl2.txt",
        lspci="lspci-wsl2.txt",
        nvidia_smi="nvidia-smi-wsl2-rtx4070-laptop.txt",
        nvidia_smi_query="nvidia-smi-query-wsl2-rtx4070-laptop.csv",
    ),
    "a10g-580": Machine(
        **UBUNTU_2404,
        proc_version="proc-version-ubuntu-2404-aws.txt",
        lspci="lspci-a10g-cloud-vm.txt",
        nvidia_smi="nvidia-smi-a10g.txt",
        nvidia_smi_query="nvidia-smi-query-a10g.csv",
    ),
    "l40s-590": Machine(
        **UBUNTU_2404,
        proc_version="proc-version-ubuntu-2404-aws.txt",
        nvidia_smi="nvidia-smi-l40s-590.txt",
        nvidia_smi_query="nvidia-smi-query-l40s-590.csv",
    ),
    "hgx-8xh100-570": Machine(
        **UBUNTU_2204,
        proc_version="proc-version-ubuntu-2204-ga.txt",
        lspci="lspci-8xh100-hgx.txt",
        nvidia_smi="nvidia-smi-8xh100-570.txt",
        nvidia_smi_query="nvidia-smi-query-8xh100-570.csv",
    ),
    "t4-535": Machine(
        **UBUNTU_2204,
        proc_version="proc-version-ubuntu-2204-ga.txt",
        lspci="lspci-t4-gcp.txt",
        nvidia_smi="nvidia-smi-t4-535.txt",
        nvidia_smi_query="nvidia-smi-query-t4-535.csv",
    ),
    "rtx4090-550": Machine(
        **UBUNTU_2404,
        proc_version="proc-version-ubuntu-2404-aws.txt",
        lspci="lspci-rtx4090-workstation.txt",
        nvidia_smi="nvidia-smi-rtx4090-550.txt",
        nvidia_smi_query="nvidia-smi-query-rtx4090-550.csv",
    ),
    "rtx4090-575": Machine(
        **UBUNTU_2404,
        proc_version="proc-version-ubuntu-2404-aws.txt",
        lspci="lspci-rtx4090-workstation.txt",
        nvidia_smi="nvidia-smi-rtx4090-575.txt",
        nvidia_smi_query="nvidia-smi-query-rtx4090-575.csv",
    ),
    "v100-580": Machine(
        **UBUNTU_2404,
        proc_version="proc-version-ubuntu-2404-aws.txt",
        lspci="lspci-v100-aws-p3.txt",
        nvidia_smi="nvidia-smi-v100-580.txt",
        nvidia_smi_query="nvidia-smi-query-v100-580.csv",
    ),
    # Fresh machines without a driver.
    "ubuntu-2404-aws-l4": Machine(
        **UBUNTU_2404, proc_version="proc-version-ubuntu-2404-aws.txt", lspci="lspci-l4-aws-g6.txt"
    ),
    "ubuntu-2204-hwe-rtx5090": Machine(
        **UBUNTU_2204, proc_version="proc-version-ubuntu-2204-hwe.txt", lspci="lspci-rtx5090-workstation.txt"
    ),
    "ubuntu-2204-ga-t4": Machine(
        **UBUNTU_2204, proc_version="proc-version-ubuntu-2204-ga.txt", lspci="lspci-t4-gcp.txt"
    ),
    "ubuntu-2404-gcp-p100": Machine(
        **UBUNTU_2404, proc_version="proc-version-ubuntu-2404-gcp.txt", lspci="lspci-p100-gcp.txt"
    ),
    "ubuntu-2204-gtx1080": Machine(
        **UBUNTU_2204, proc_version="proc-version-ubuntu-2204-ga.txt", lspci="lspci-gtx1080-workstation.txt"
    ),
    "ubuntu-2404-turing-and-pascal": Machine(
        **UBUNTU_2404, proc_version="proc-version-ubuntu-2404-aws.txt", lspci="lspci-rtx2080ti-gtx1080-workstation.txt"
    ),
    "ubuntu-2204-hgx-8xh100": Machine(
        **UBUNTU_2204, proc_version="proc-version-ubuntu-2204-ga.txt", lspci="lspci-8xh100-hgx.txt"
    ),
    "ubuntu-2404-k80": Machine(
        **UBUNTU_2404, proc_version="proc-version-ubuntu-2404-aws.txt", lspci="lspci-k80-azure-nc6.txt"
    ),
    "ubuntu-2404-gt220": Machine(
        **UBUNTU_2404, proc_version="proc-version-ubuntu-2404-aws.txt", lspci="lspci-gt220-desktop.txt"
    ),
    "debian-12-a100": Machine(
        **DEBIAN_12, proc_version="proc-version-debian-12-cloud.txt", lspci="lspci-a100-debian-server.txt"
    ),
    "debian-12-a100-secure-boot": Machine(
        **DEBIAN_12,
        proc_version="proc-version-debian-12-cloud.txt",
        lspci="lspci-a100-debian-server.txt",
        secure_boot=True,
    ),
    "debian-13-v100": Machine(**DEBIAN_13, proc_version="proc-version-debian-13.txt", lspci="lspci-v100-aws-p3.txt"),
    # A driver installed, but not working.
    "ubuntu-2404-l4-not-loaded": Machine(
        **UBUNTU_2404,
        proc_version="proc-version-ubuntu-2404-aws.txt",
        lspci="lspci-l4-aws-g6.txt",
        nvidia_smi_failure="nvidia-smi-not-loaded.txt",
    ),
    "ubuntu-2404-l4-mismatch": Machine(
        **UBUNTU_2404,
        proc_version="proc-version-ubuntu-2404-aws.txt",
        lspci="lspci-l4-aws-g6.txt",
        nvidia_smi_failure="nvidia-smi-version-mismatch.txt",
    ),
}


def driver_facts(facts: dict, hostname: str = "gpu-1") -> dict:
    """The facts argument of the nvidia_driver_plan filter, from preflight facts (as the role's main.yml maps them)."""
    return {
        "inventory_hostname": hostname,
        "distribution": facts["preflight_distribution"],
        "release": facts["preflight_release"],
        "kernel_release": facts["preflight_kernel_release"],
        "is_wsl": facts["preflight_is_wsl"],
        "gpus": facts["preflight_nvidia_gpus"],
        "pci_gpus": facts["preflight_nvidia_pci_gpus"],
        "nvswitches": facts["preflight_nvidia_nvswitches"],
        "driver_version": facts["preflight_nvidia_driver_version"],
        "cuda_version": facts["preflight_nvidia_cuda_version"],
        "nvidia_smi_state": facts["preflight_nvidia_smi_state"],
        "nvidia_smi_error": facts["preflight_nvidia_smi_error"],
        "secure_boot": facts["preflight_secure_boot"],
    }
