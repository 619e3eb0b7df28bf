"""The stand-in nvidia-smi and nvidia-ctk (tests/gpu/standin_bin/) answer as the real programs do.

Configured as the machine a transcription stands for, a stand-in must print that transcription; and what it prints
must mean the same to the roles' parsers. The stand-in packages of the rehearsal-host tests ship these programs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hymt import hostfacts
from tests.gpu.machines import transcribed
from tests.support.repo import PINS

STANDIN_BIN = Path(__file__).resolve().parent / "standin_bin"
A10G = {
    "driver_version": "580.95.05",
    "cuda_version": "13.0",
    "toolkit_version": PINS["hymt_nvidia_container_toolkit_version"],
    "gpus": [
        {
            "name": "NVIDIA A10G",
            "memory_mb": 23028,
            "bus_id": "00000000:00:1E.0",
            "uuid": "GPU-5d7e3a1c-8f2b-4c61-9e07-3b2a4f1d6c90",
        }
    ],
}
# The preflight role's query (roles/preflight/vars/main.yml) and the driver role's (roles/nvidia_driver/vars/main.yml).
PREFLIGHT_QUERY = ["--query-gpu=index,name,memory.total,driver_version,pci.bus_id", "--format=csv,noheader,nounits"]
DRIVER_ROLE_QUERY = ["--query-gpu=name,driver_version", "--format=csv,noheader"]


@pytest.fixture
def standin(tmp_path):
    def run(program: str, *args: str, config: dict | None = None) -> subprocess.CompletedProcess:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config if config is not None else A10G))
        env = {
            "NVIDIA_STANDIN_CONFIG": str(path),
            "NVIDIA_STANDIN_CDI_DIRS": str(tmp_path / "cdi"),
            "PATH": "/usr/bin:/bin",
        }
        return subprocess.run(
            [sys.executable, str(STANDIN_BIN / program), *args], capture_output=True, text=True, env=env, check=False
        )

    return run


def test_the_preflight_query_prints_what_the_transcribed_machine_printed(standin):
    answer = standin("nvidia-smi", *PREFLIGHT_QUERY)
    assert answer.returncode == 0
    assert answer.stdout == transcribed("nvidia-smi-query-a10g.csv")
    assert hostfacts.nvidia_gpus_from_nvidia_smi(answer.stdout)[0]["memory_mb"] == 23028


def test_the_status_table_has_the_transcribed_layout(standin):
    table = standin("nvidia-smi").stdout.splitlines()
    expected = transcribed("nvidia-smi-a10g.txt").splitlines()
    # The same header line (but for the date before it) and GPU line, character for character.
    assert table[2] == expected[2]
    assert table[8].startswith(expected[8][:60])
    assert hostfacts.nvidia_cuda_version("\n".join(table)) == "13.0"


def test_the_gpu_list_and_the_driver_roles_query(standin):
    assert standin("nvidia-smi", "-L").stdout == transcribed("docker-run-nvidia-smi-ok.txt")
    answer = standin("nvidia-smi", *DRIVER_ROLE_QUERY).stdout
    assert answer == "NVIDIA A10G, 580.95.05\n"
    assert answer.split(",")[-1].strip() == "580.95.05"  # how roles/nvidia_driver/tasks/reboot.yml reads it


def test_a_header_and_units_unless_asked_without(standin):
    answer = standin("nvidia-smi", "--query-gpu=index,memory.total", "--format=csv").stdout
    assert answer == "index, memory.total [MiB]\n0, 23028 MiB\n"


def test_wrong_calls_get_nvidia_smis_errors(standin):
    unknown = standin("nvidia-smi", "--query-gpu=temperature.memory", "--format=csv")
    assert (unknown.returncode, unknown.stdout) == (2, 'Field "temperature.memory" is not a valid field to query.\n\n')
    assert standin("nvidia-smi", "--bogus").returncode == 2


def test_before_the_module_loads_it_fails_as_after_a_fresh_install(standin, tmp_path):
    marker = tmp_path / "loaded"
    config = A10G | {"loaded_marker": str(marker)}
    failed = standin("nvidia-smi", *PREFLIGHT_QUERY, config=config)
    assert (failed.returncode, failed.stdout.strip()) == (9, transcribed("nvidia-smi-not-loaded.txt").strip())
    state = hostfacts.nvidia_smi_state({"rc": failed.returncode, "stdout": failed.stdout, "stderr": failed.stderr})
    assert state["state"] == "not-loaded"
    assert standin("nvidia-ctk", "cdi", "generate", config=config).returncode == 1
    marker.touch()  # what the stand-in driver package's unit does at boot
    assert standin("nvidia-smi", *PREFLIGHT_QUERY, config=config).returncode == 0


def test_a_version_mismatch_reads_as_transcribed(standin):
    config = A10G | {"driver_version": "580.105.08", "state": "mismatch"}
    failed = standin("nvidia-smi", config=config)
    assert (failed.returncode, failed.stdout) == (18, transcribed("nvidia-smi-version-mismatch.txt"))


def test_nvidia_ctk_reports_the_toolkit_version_as_the_role_checks_it(standin):
    answer = standin("nvidia-ctk", "--version").stdout
    version = PINS["hymt_nvidia_container_toolkit_version"]
    # roles/nvidia_container_toolkit/tasks/Debian.yml: search('version ' ~ version ~ '$', multiline=True)
    assert re.search(f"version {re.escape(version)}$", answer, re.MULTILINE)
    assert re.fullmatch(r"NVIDIA Container Toolkit CLI version \S+\ncommit: [0-9a-f]{40}\n", answer)
    assert transcribed("nvidia-ctk-version.txt").startswith("NVIDIA Container Toolkit CLI version ")


def test_a_generated_cdi_spec_lists_the_transcribed_devices(standin, tmp_path):
    spec = tmp_path / "cdi" / "nvidia.yaml"
    generated = standin("nvidia-ctk", "cdi", "generate", f"--output={spec}")
    assert generated.returncode == 0, generated.stderr
    assert 'level=info msg="Generated CDI spec' in generated.stderr
    document = yaml.safe_load(spec.read_text())
    assert document["kind"] == "nvidia.com/gpu"
    assert [device["name"] for device in document["devices"]] == ["0", A10G["gpus"][0]["uuid"], "all"]
    listed = standin("nvidia-ctk", "cdi", "list")
    assert listed.stdout == transcribed("nvidia-ctk-cdi-list.stdout.txt")
    assert 'msg="Found 3 CDI devices"' in listed.stderr


def test_runtime_configure_merges_what_nvidia_documents(standin, tmp_path):
    daemon_json = tmp_path / "daemon.json"
    daemon_json.write_text(json.dumps({"log-driver": "json-file"}))
    configured = standin(
        "nvidia-ctk", "runtime", "configure", "--runtime=docker", f"--config={daemon_json}", "--set-as-default",
        "--cdi.enabled",
    )  # fmt: skip
    assert configured.returncode == 0, configured.stderr
    assert json.loads(daemon_json.read_text()) == {
        "log-driver": "json-file",
        "runtimes": {"nvidia": {"args": [], "path": "nvidia-container-runtime"}},
        "default-runtime": "nvidia",
        "features": {"cdi": True},
    }
    assert "It is recommended that docker daemon be restarted." in configured.stderr


def test_calls_the_stand_in_does_not_know_say_so(standin):
    answer = standin("nvidia-ctk", "system", "create-dev-char-symlinks")
    assert answer.returncode == 1
    assert "stand-in" in answer.stderr
