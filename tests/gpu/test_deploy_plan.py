"""The gpu profile's deployment, planned with `--check --diff` on the session's provisioned Debian GPU host (an A100 by
faked facts, the stand-in driver and toolkit answering, Docker CE with the nvidia runtime): what would be pulled,
fetched and started, without a GPU, a registry or a model hub to do it. The plan must name the official vLLM image
of the driver's CUDA variant, the GPU reservation and the model from the hub, and change nothing."""

from __future__ import annotations

import pytest

from tests.support.repo import PINS, ROOT

pytestmark = [pytest.mark.docker, pytest.mark.rehearsal_host]

DEPLOY = ROOT / "playbooks/deploy.yml"


# The test hosts are rehearsal hosts (the rehearsal group) that the GPU tests turn into GPU servers by faked facts;
# their deployment is the gpu profile's. This machine builds the web image on a stand-in of the official Python image
# (it cannot pull it), which the gpu profile refuses (the first test shows it); the plan's other tests let it pass.
GPU = {"hymt_profile": "gpu"}


@pytest.fixture(scope="module")
def plan(debian_host, provisioned_again):
    converge = debian_host.converge(DEPLOY, extra_vars=GPU | {"images_allow_standins": True}, check=True, diff=True)
    print(f"\ndeploy.yml --check --diff on the GPU host: {converge.seconds:.0f} s")
    return converge.run


def test_the_gpu_profile_refuses_a_web_image_built_on_a_stand_in(debian_host, provisioned_again):
    run = debian_host.converge(DEPLOY, extra_vars=GPU, check=True).run
    message = run.refusal(debian_host.name)
    assert f"{PINS['hymt_web_image']} was built on a stand-in of {PINS['hymt_python_image']}" in message, message
    assert f"docker pull {PINS['hymt_python_image']}" in message and "make web-image" in message


def of(run, host, task: str):
    found = [r for r in run.results if r.host == host.name and r.task.endswith(task)]
    assert found, f"no task {task!r}:\n{run.explain(host.name)}"
    return found[-1]


def test_the_plan_runs_through_without_changing_the_host(plan, debian_host):
    assert plan.succeeded(debian_host.name), plan.explain(debian_host.name)
    assert debian_host.sh("test -e /opt/hymt/stack", check=False).returncode == 1, "a check run made the stack"
    assert debian_host.out("docker ps -aq --filter label=com.docker.compose.project=hymt") == ""


def test_the_plan_pulls_the_official_vllm_image_of_the_drivers_cuda(plan, debian_host):
    release = of(plan, debian_host, "stack : Show the release").message
    # The A100's 580 driver runs the plain (CUDA 13) tag: no -cu129.
    assert f"vLLM image {PINS['hymt_vllm_image']}," in release, release
    assert "GPUs reserved for vLLM: all" in release
    # vLLM may use the host's RAM less the role's 4 GiB reserve for the system, the web app and the proxy.
    ram_mb = int(debian_host.out("awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo"))
    assert f"host memory for vLLM: {ram_mb - 4096}m" in release, release
    pulls = of(plan, debian_host, "images : Pull the official images the host lacks").result["results"]
    assert {item["item"] for item in pulls if item.get("changed")} == {
        PINS["hymt_vllm_image"],
        PINS["hymt_caddy_image"],
    }


def test_the_plan_chooses_vllms_settings_for_the_gpu_nvidia_smi_reports(plan, debian_host):
    # The stand-in driver's A100 80GB (81920 MiB; Ampere on the faked PCI bus) serving the host's model (the rehearsal
    # group's, a 16-bit one needing no GPU memory of note): one GPU holds it, the KV cache stays 16-bit, and about
    # 70 GiB of KV cache room give 256 sequences (hymt.provision.stack's rules).
    said = of(plan, debian_host, "stack : Show vLLM's settings and why").message
    assert "vLLM for hymt-rehearsal on 1x NVIDIA A100 80GB PCIe (81920 MiB, compute capability 8.0)" in said, said
    for part in ("max-num-seqs 256", "max-num-batched-tokens 8192", "kv-cache-dtype auto", "tensor-parallel-size 1"):
        assert part in said, said
    assert "HYMT_VLLM_TENSOR_PARALLEL_SIZE=1: one GPU holds the model (81920 MiB, it needs 0 MiB)" in said, said


def test_the_plan_installs_the_gpu_override_with_its_reservation(plan, debian_host):
    files = of(plan, debian_host, "stack : Install the compose files").result["results"]
    gpu = next(item for item in files if item["item"] == "compose.gpu.yaml")
    assert gpu["changed"]
    after = "".join(diff.get("after", "") for diff in gpu.get("diff", []))
    assert "driver: nvidia" in after and "capabilities: [gpu]" in after, after
    assert not any(item["item"] == "compose.rehearsal.yaml" for item in files)


def test_the_plan_fetches_the_model_from_the_hub(plan, debian_host):
    said = of(plan, debian_host, "model : Say what the host holds").message
    assert said.startswith("Would fetch the model"), said


def test_a_driver_too_old_for_the_vllm_image_stops_the_deploy_with_the_way_out(debian_host, provisioned_again):
    # Preflight's driver facts as on a host whose working driver is a CUDA 12.8 one (extra vars outrank set_fact).
    old = {"preflight_nvidia_driver_version": "570.133.20", "preflight_nvidia_cuda_version": "12.8"}
    run = debian_host.converge(DEPLOY, extra_vars=GPU | old, check=True).run
    message = run.refusal(debian_host.name)
    assert "570.133.20" in message and f"needs driver >= {PINS['hymt_vllm_cuda_driver_min']} (CUDA 13)" in message
    assert "set nvidia_driver_upgrade: true" in message
    assert not [r for r in run.results if r.task.startswith("images :")], "the deploy went on to the images"
