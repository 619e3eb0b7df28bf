#!/usr/bin/python
"""Everything the preflight role reads on a host, in one module call.

Each read used to be a task of its own, and each task costs the host a fresh Python that loads Ansible's module code
(about 0.2 s): fourteen reads took about 3 s of every run. This module does them all in one call, read-only, and
returns each command's output as the command module would have registered it (rc, stdout without its trailing newline,
stderr, and msg when the program is missing), so the role's filters (hymt.hostfacts, hymt.provision.preflight) read
them unchanged.
"""

from __future__ import annotations

import base64
import glob
import os

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: preflight_probe
short_description: Read what the preflight role needs from a host, in one call
description:
  - Reads dpkg's status file and the kernel's boot id (the host's state, which a later preflight pass compares).
  - With I(scope=all), also /proc/version, the NVIDIA GPUs (nvidia-smi, else lspci, else /sys), free space (df),
    the images Docker holds, what the model's directory holds (du), Secure Boot, a snap-installed Docker, the
    engine's version, the installed packages (dpkg-query) and whether apt has package indexes.
  - Changes nothing; runs in check mode.
options:
  scope:
    description: C(state) reads only the host's state; C(all) everything.
    type: str
    choices: [state, all]
    default: all
  nvidia_smi_query:
    description: The nvidia-smi command that lists the GPUs (hymt.hostfacts.nvidia_smi_query).
    type: list
    elements: str
    default: []
  path:
    description: PATH to find nvidia-smi in (WSL keeps the Windows driver's copy outside the usual PATH).
    type: str
    default: /usr/sbin:/usr/bin:/sbin:/bin
  model_dir:
    description: The model's directory, measured with du; empty on hosts that hold no model.
    type: str
    default: ""
  secure_boot_efivar:
    description: UEFI's SecureBoot variable.
    type: str
    default: ""
  timeout:
    description: Seconds df and du may take (a hung network file system must not hang the run).
    type: int
    default: 30
"""

RETURN = r"""
host_state:
  description: dpkg's status file as [inode, mtime, size] ([] when absent) and the kernel's boot id.
  type: dict
  returned: always
"""

DPKG_STATUS = "/var/lib/dpkg/status"
BOOT_ID = "/proc/sys/kernel/random/boot_id"
LSPCI = "/usr/bin/lspci"
PCI_DEVICES = "/sys/bus/pci/devices"
SNAP_DOCKER = "/snap/bin/docker"
APT_PACKAGE_INDEXES = "/var/lib/apt/lists/*_Packages*"
DOCKER_IMAGE_FORMAT = "{{.Repository}}:{{.Tag}}"
DPKG_QUERY_FORMAT = "${Package} ${Version} ${Architecture} ${db:Status-Status}\n"


def read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def host_state() -> dict:
    """What every change preflight's facts could see goes through: dpkg's status file (rewritten and renamed into place
    by every package install, removal or upgrade) and the boot id (new at every boot)."""
    try:
        status = os.stat(DPKG_STATUS)
        dpkg_status = [status.st_ino, status.st_mtime, status.st_size]
    except OSError:
        dpkg_status = []
    return {"dpkg_status": dpkg_status, "boot_id": (read_bytes(BOOT_ID) or b"").decode("ascii", "replace").strip()}


def run(module: AnsibleModule, argv: list[str], path: str | None = None) -> dict:
    """A command's result in the command module's shape; a missing program is rc 2 with the OS's words in msg."""
    try:
        rc, stdout, stderr = module.run_command(
            argv,
            environ_update={"PATH": path} if path else None,
            expand_user_and_vars=False,
            handle_exceptions=False,
        )
    except OSError as exc:
        return {"rc": 2, "stdout": "", "stderr": "", "msg": str(exc)}
    return {"rc": rc, "stdout": stdout.rstrip("\r\n"), "stderr": stderr.rstrip("\r\n")}


def sysfs_pci() -> str:
    """The PCI devices' vendor, class and device ids from /sys, as `grep -H '' <device>/{vendor,class,device}` prints
    them (hymt.hostfacts.nvidia_gpus_from_sysfs reads that), for hosts without lspci."""
    try:
        slots = sorted(os.listdir(PCI_DEVICES))
    except OSError:
        return ""
    lines = []
    for slot in slots:
        for attribute in ("vendor", "class", "device"):
            path = os.path.join(PCI_DEVICES, slot, attribute)
            value = read_bytes(path)
            if value is not None:
                lines.append(f"{path}:{value.decode('ascii', 'replace').strip()}")
    return "\n".join(lines)


def probe_all(module: AnsibleModule) -> dict:
    params = module.params
    timeout = ["timeout", str(params["timeout"])]
    found: dict = {"proc_version": (read_bytes("/proc/version") or b"").decode("utf-8", "replace")}
    found["lspci_present"] = os.path.exists(LSPCI)
    found["lspci"] = run(module, ["lspci", "-D", "-nn"]) if found["lspci_present"] else None
    found["sysfs_pci"] = "" if found["lspci_present"] else sysfs_pci()
    found["nvidia_smi_gpus"] = run(module, params["nvidia_smi_query"], path=params["path"])
    found["nvidia_smi"] = (
        run(module, ["nvidia-smi"], path=params["path"]) if found["nvidia_smi_gpus"]["rc"] == 0 else None
    )
    found["df"] = run(module, [*timeout, "df", "-B1", "--output=target,avail"])
    # df exits 1 when some file system cannot be read, and still lists the others.
    if len(found["df"]["stdout"].splitlines()) < 2:
        module.fail_json(msg=f"df listed no file system: {found['df']['stderr'] or found['df'].get('msg', '')}")
    found["docker_images"] = run(module, ["docker", "image", "ls", "--format", DOCKER_IMAGE_FORMAT])
    found["model_du"] = run(module, [*timeout, "du", "-s", "-B1", params["model_dir"]]) if params["model_dir"] else None
    efivar = read_bytes(params["secure_boot_efivar"]) if params["secure_boot_efivar"] else None
    found["secure_boot_efivar"] = base64.b64encode(efivar).decode("ascii") if efivar is not None else None
    found["snap_docker"] = os.path.exists(SNAP_DOCKER)
    found["dockerd"] = run(module, ["dockerd", "--version"])
    found["dpkg_query"] = run(module, ["dpkg-query", "--show", f"--showformat={DPKG_QUERY_FORMAT}"])
    # A fresh image may have no package index at all, however recent (the base role then fetches one).
    found["apt_package_indexes"] = bool(glob.glob(APT_PACKAGE_INDEXES))
    return found


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "scope": {"type": "str", "choices": ["state", "all"], "default": "all"},
            "nvidia_smi_query": {"type": "list", "elements": "str", "default": []},
            "path": {"type": "str", "default": "/usr/sbin:/usr/bin:/sbin:/bin"},
            "model_dir": {"type": "str", "default": ""},
            "secure_boot_efivar": {"type": "str", "default": ""},
            "timeout": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    if module.params["scope"] == "all" and not module.params["nvidia_smi_query"]:
        module.fail_json(msg="nvidia_smi_query is required with scope=all")
    # The state first: a change made while the rest is read shows at the next comparison.
    result = {"changed": False, "host_state": host_state()}
    if module.params["scope"] == "all":
        result.update(probe_all(module))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
