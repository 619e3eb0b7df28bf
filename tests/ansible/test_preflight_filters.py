"""The preflight role's parsers, on outputs in the formats lspci, nvidia-smi, df and /proc/version print."""

from __future__ import annotations

from hymt import hostfacts
from hymt.provision import preflight
from hymt.provision.preflight import GIB
from tests.ansible.filters import data
from tests.support.repo import PINS


def test_lspci_finds_the_datacenter_gpu_of_a_cloud_vm_and_not_its_display_adapter():
    gpus = hostfacts.nvidia_gpus_from_lspci(data("lspci-a10g-cloud-vm.txt"))
    assert [(gpu["slot"], gpu["name"], gpu["device_id"]) for gpu in gpus] == [
        ("0000:00:1e.0", "GA102GL [A10G]", "2237")
    ]
    assert gpus[0]["memory_mb"] is None


def test_lspci_counts_a_consumer_card_once_not_its_audio_function():
    gpus = hostfacts.nvidia_gpus_from_lspci(data("lspci-rtx4090-workstation.txt"))
    assert [gpu["name"] for gpu in gpus] == ["AD102 [GeForce RTX 4090]"]


def test_lspci_without_nvidia_finds_nothing():
    assert hostfacts.nvidia_gpus_from_lspci("0000:00:02.0 VGA compatible controller [0300]: Intel [8086:46a6]\n") == []
    assert hostfacts.nvidia_gpus_from_lspci("") == []


def test_sysfs_finds_gpus_by_vendor_and_display_class():
    listing = "\n".join(
        [
            "/sys/bus/pci/devices/0000:00:1e.0/vendor:0x10de",
            "/sys/bus/pci/devices/0000:00:1e.0/class:0x030200",
            "/sys/bus/pci/devices/0000:00:1e.0/device:0x2237",
            "/sys/bus/pci/devices/0000:01:00.1/vendor:0x10de",
            "/sys/bus/pci/devices/0000:01:00.1/class:0x040300",
            "/sys/bus/pci/devices/0000:00:05.0/vendor:0x1d0f",
            "/sys/bus/pci/devices/0000:00:05.0/class:0x020000",
        ]
    )
    gpus = hostfacts.nvidia_gpus_from_sysfs(listing)
    assert [(gpu["slot"], gpu["device_id"]) for gpu in gpus] == [("0000:00:1e.0", "2237")]


def test_nvidia_smi_query_gives_names_memory_and_driver():
    gpus = hostfacts.nvidia_gpus_from_nvidia_smi(data("nvidia-smi-query-2xh100.csv"))
    assert [(gpu["index"], gpu["name"], gpu["memory_mb"], gpu["driver_version"]) for gpu in gpus] == [
        (0, "NVIDIA H100 80GB HBM3", 81559, "570.133.20"),
        (1, "NVIDIA H100 80GB HBM3", 81559, "570.133.20"),
    ]
    assert gpus[1]["slot"] == "00000000:2a:00.0"


def test_nvidia_smi_errors_are_not_gpus():
    failed = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    assert hostfacts.nvidia_gpus_from_nvidia_smi(failed) == []


def test_the_drivers_cuda_version_comes_from_the_header():
    assert hostfacts.nvidia_cuda_version(data("nvidia-smi-a10g.txt")) == "13.0"
    assert hostfacts.nvidia_cuda_version("") == ""


def test_wsl_is_recognised_by_its_kernel():
    wsl2 = (
        "Linux version 5.15.167.4-microsoft-standard-WSL2 (root@f9c826d3017f) (gcc (GCC) 11.2.0, GNU ld (GNU "
        "Binutils) 2.37) #1 SMP Tue Nov 5 00:21:55 UTC 2024"
    )
    debian = "Linux version 6.1.0-28-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0)"
    assert preflight.is_wsl(wsl2)
    assert not preflight.is_wsl(debian)


def test_df_lists_the_overlay_root_of_a_container():
    mounts = preflight.mounts_from_df(data("df-rehearsal-host.txt"))
    assert {"mount": "/", "size_available": 75891998720} in mounts
    assert {"mount": "/var/lib/docker", "size_available": 75891998720} in mounts


def test_needs_on_one_file_system_add_up():
    mounts = preflight.mounts_from_df(data("df-rehearsal-host.txt"))
    needs = [
        {"path": "/srv/docker", "gb": 30, "purpose": "Docker images"},
        {"path": "/srv/hymt/models", "gb": 16, "purpose": "the model"},
    ]
    (report,) = preflight.disk_report(needs, mounts)
    assert report["mount"] == "/"
    assert report["need_gb"] == 46
    assert report["free_gb"] == 70.7
    assert report["ok"]
    assert report["purposes"] == ["Docker images (/srv/docker)", "the model (/srv/hymt/models)"]


def test_a_separate_data_disk_is_checked_on_its_own():
    mounts = preflight.mounts_from_df(data("df-gpu-server-data-disk.txt"))
    needs = [
        {"path": "/var/lib/docker", "gb": 30, "purpose": "Docker images"},
        {"path": "/data/models", "gb": 16, "purpose": "the model"},
    ]
    root, data_disk = preflight.disk_report(needs, mounts)
    assert (root["mount"], root["free_gb"], root["ok"]) == ("/", 20.0, False)
    assert (data_disk["mount"], data_disk["free_gb"], data_disk["ok"]) == ("/data", 900.0, True)


DOCKER = {"path": "/var/lib/docker", "gb": 30}
MODEL = {"path": "/srv/hymt/models/tencent/Hunyuan-MT-7B", "gb": 17, "name": "tencent/Hunyuan-MT-7B"}
VLLM = PINS["hymt_vllm_image"]
IMAGES = [VLLM, PINS["hymt_web_image"], "docker.io/library/" + PINS["hymt_caddy_image"]]


def test_images_docker_lists_are_held_whatever_registry_prefix_the_pin_spells():
    older_vllm = VLLM.rpartition(":")[0] + ":an-older-tag"
    listed = f"{PINS['hymt_web_image']}\n{PINS['hymt_caddy_image']}\n{older_vllm}\n<none>:<none>\n"
    assert preflight.images_missing(IMAGES, listed) == [VLLM]
    assert preflight.images_missing(IMAGES, listed + VLLM + "\n") == []


def test_without_an_answer_from_docker_every_image_is_missing():
    assert preflight.images_missing(IMAGES, None) == IMAGES


def test_du_without_output_holds_nothing():
    assert preflight.held_bytes("18253611008\t/srv/hymt/models/tencent/Hunyuan-MT-7B\n") == 18253611008
    assert preflight.held_bytes("") == 0


def test_a_bare_host_needs_room_for_the_images_and_the_whole_model():
    needs = preflight.disk_needs(DOCKER, IMAGES, MODEL, 0)
    assert needs == [
        {"path": "/var/lib/docker", "gb": 30.0, "purpose": "the images " + ", ".join(IMAGES)},
        {"path": MODEL["path"], "gb": 17.0, "purpose": "the model tencent/Hunyuan-MT-7B"},
    ]


def test_a_host_holding_the_images_and_the_model_needs_no_room_for_them_again():
    # 9.8 GB free on a host that holds everything (a re-run) is enough: nothing is pulled or fetched.
    needs = preflight.disk_needs(DOCKER, [], MODEL, 18 * GIB)
    assert needs == []
    mounts = [{"mount": "/", "size_available": int(9.8 * GIB)}]
    assert preflight.disk_report(needs, mounts) == []


def test_half_a_model_needs_room_for_the_rest_and_one_new_image_for_a_pull():
    needs = preflight.disk_needs(DOCKER, [VLLM], MODEL, 7 * GIB)
    assert [need["gb"] for need in needs] == [30.0, 10.0]
    assert needs[1]["purpose"] == "the rest of the model tencent/Hunyuan-MT-7B"
    (report,) = preflight.disk_report(needs, [{"mount": "/", "size_available": 35 * GIB}])
    assert (report["need_gb"], report["ok"]) == (40.0, False)
    assert report["purposes"] == [
        f"the images {VLLM} (/var/lib/docker)",
        f"the rest of the model tencent/Hunyuan-MT-7B ({MODEL['path']})",
    ]


def test_an_edge_host_needs_no_room_for_a_model():
    caddy = PINS["hymt_caddy_image"]
    assert preflight.disk_needs(DOCKER, [caddy], None) == [
        {"path": "/var/lib/docker", "gb": 30.0, "purpose": f"the images {caddy}"}
    ]


def test_a_mount_point_is_not_a_prefix_of_a_sibling_directory():
    mounts = [{"mount": "/", "size_available": 1}, {"mount": "/data", "size_available": 2}]
    assert preflight.mount_of("/database", mounts)["mount"] == "/"
    assert preflight.mount_of("/data", mounts)["mount"] == "/data"
