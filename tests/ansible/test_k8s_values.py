"""The values file `make k8s-values` writes for vLLM's production-stack Helm chart: rendered by its playbook for
the example inventory and for inventories that change one setting at a time; parsed as YAML; every value
following from the inventory's settings (vLLM's from the stack role's own choice), no secret in the file, only keys
the chart reads, and bad input stopping the role in words. helm is not installed here (and never downloaded by the
tests): the chart's keys are checked against a list transcribed from the chart release (CHART_KEYS)."""

from __future__ import annotations

import re

import pytest
import yaml

from hymt.provision import stack
from tests.support.playbook import render_per_host, run_playbook
from tests.support.repo import PINS, ROOT

PLAYBOOK = ROOT / "playbooks/k8s-values.yml"

# The chart release the keys below were read from: vllm-project/production-stack's helm/values.yaml and the templates
# that read them (deployment-vllm-multi.yaml, scaledobject-vllm.yaml, pvc.yaml, deployment-router.yaml, ingress.yaml),
# at the tag vllm-stack-0.1.12. Transcribed by reading, not checked by helm here. "[]" is an item of a list; the
# values under an OPAQUE key are Kubernetes objects or flags the chart passes on as they are.
CHART_VERSION = "0.1.12"
CHART_KEYS = {
    "servingEngineSpec.vllmApiKey.secretName",
    "servingEngineSpec.vllmApiKey.secretKey",
    "servingEngineSpec.imagePullPolicy",
    "servingEngineSpec.startupProbe.failureThreshold",
    "servingEngineSpec.serviceMonitor.enabled",
    *(
        f"servingEngineSpec.modelSpec[].{key}"
        for key in (
            "name",
            "repository",
            "tag",
            "modelURL",
            "modelRevision",
            "replicaCount",
            "requestCPU",
            "requestMemory",
            "requestGPU",
            "pvcStorage",
            "pvcAccessMode",
            "storageClass",
            "nodeSelectorTerms",
            "env",
            "hf_token.secretName",
            "hf_token.secretKey",
            "keda.enabled",
            "keda.minReplicaCount",
            "keda.maxReplicaCount",
            "vllmConfig.maxModelLen",
            "vllmConfig.maxNumSeqs",
            "vllmConfig.gpuMemoryUtilization",
            "vllmConfig.dtype",
            "vllmConfig.tensorParallelSize",
            "vllmConfig.enablePrefixCaching",
            "vllmConfig.extraArgs",
        )
    ),
    "routerSpec.repository",
    "routerSpec.tag",
    "routerSpec.imagePullPolicy",
    "routerSpec.routingLogic",
    "routerSpec.sessionKey",
    "routerSpec.ingress.enabled",
    "routerSpec.ingress.className",
    "routerSpec.ingress.hosts",
    "routerSpec.ingress.tls",
}
OPAQUE = {"pvcAccessMode", "nodeSelectorTerms", "env", "extraArgs", "hosts", "tls"}

A10G = {"name": "NVIDIA A10G", "memory_mb": 23028, "compute_capability": "8.6"}
H100 = {"name": "NVIDIA H100 80GB HBM3", "memory_mb": 81559, "compute_capability": "9.0"}
T4 = {"name": "Tesla T4", "memory_mb": 15360, "compute_capability": "7.5"}
LAPTOP_16GB = {"name": "a 16 GB laptop GPU", "memory_mb": 16376, "compute_capability": "8.9"}

HOSTS = {
    "h100-fp8": {
        "hymt_model_id": "tencent/Hunyuan-MT-7B-fp8",
        "hymt_served_model": "translator",
        "model_revision": "0123abc",
        "stack_vllm_max_model_len": 8192,
        "k8s_values_gpu": H100,
        "k8s_values_gpu_product": "NVIDIA-H100-80GB-HBM3",
        "k8s_values_autoscaling": False,
        "k8s_values_min_replicas": 2,
        "k8s_values_storage_class": "fast-nfs",
    },
    "t4-pair": {"k8s_values_gpu": T4, "k8s_values_gpu_count": 2, "k8s_values_gpu_product": ""},
    "modelscope": {
        "model_hub": "modelscope",
        "k8s_values_hub_token_secret": "hub-token",
        "hymt_domain": "mt.example.com",
        "k8s_values_routing_logic": "session",
        "k8s_values_session_key": "x-user-id",
        "k8s_values_max_replicas": 1,
    },
    "hf-mirror": {"model_endpoint": "https://hf-mirror.com", "k8s_values_hub_token_secret": "hf"},
    # Refused:
    "three-gpus": {"k8s_values_gpu_count": 3},
    "gpus-in-words": {"k8s_values_gpu_count": "two"},
    "idle-gpu": {"k8s_values_gpu_count": 2},
    "too-small": {"k8s_values_gpu": LAPTOP_16GB},
    "rehearsal": {},
    "generated-model": {"hymt_model_id": "hymt-rehearsal"},
    "bad-name": {"k8s_values_name": "Hunyuan_MT"},
    "session-without-key": {"k8s_values_routing_logic": "session"},
}
GROUPS = {"rehearsal": ["rehearsal"], "gpu_hosts": list(HOSTS)}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    directory = tmp_path_factory.mktemp("k8s-values")
    extra = {"k8s_values_hosts": "all", "k8s_values_file": "{out}/{{ inventory_hostname }}.yaml"}
    return render_per_host(PLAYBOOK, directory, HOSTS, GROUPS, extra)


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The real playbook on the example inventory, twice (the second run changes nothing)."""
    path = tmp_path_factory.mktemp("k8s-example") / "values.yaml"
    inventory = ROOT / "inventory/cloud.example.yml"
    extra = {"k8s_values_file": str(path)}
    first = run_playbook(PLAYBOOK, inventory, extra_vars=extra, timeout=900)
    second = run_playbook(PLAYBOOK, inventory, extra_vars=extra, timeout=900)
    return first, second, path


def values_of(rendered, host: str) -> dict:
    run, out = rendered
    assert run.succeeded(host), run.explain(host)
    return yaml.safe_load((out / f"{host}.yaml").read_text(encoding="utf-8"))


def model_spec(values: dict) -> dict:
    specs = values["servingEngineSpec"]["modelSpec"]
    assert len(specs) == 1
    return specs[0]


def flag(spec: dict, name: str) -> str:
    args = spec["vllmConfig"]["extraArgs"]
    assert args.count(name) == 1, args
    return args[args.index(name) + 1]


def key_paths(node: object, prefix: str = "") -> set[str]:
    """The leaves' paths of a values tree, "[]" for a list's items; an OPAQUE key is a leaf."""
    if isinstance(node, dict):
        paths: set[str] = set()
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            paths |= {path} if key in OPAQUE else key_paths(value, path)
        return paths
    if isinstance(node, list):
        return set().union(*(key_paths(item, prefix + "[]") for item in node)) if node else {prefix}
    return {prefix}


def test_the_example_inventory_gives_the_pinned_image_the_model_and_the_stack_roles_settings(example):
    first, second, path = example
    assert first.succeeded("gpu-1"), first.explain()
    assert second.succeeded("gpu-1") and second.changed_count("gpu-1") == 0, second.explain()
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec = model_spec(values)
    repository, tag = PINS["hymt_vllm_image"].rsplit(":", 1)
    assert (spec["repository"], spec["tag"]) == (repository, tag)
    assert spec["modelURL"] == "tencent/Hunyuan-MT-7B"
    assert "modelRevision" not in spec
    assert flag(spec, "--served-model-name") == "Hunyuan-MT-7B"
    assert spec["requestGPU"] == 1
    # The settings the stack role would choose on a host with the default GPU, value for value.
    chosen = stack.settings_for_host([A10G], model_id="tencent/Hunyuan-MT-7B")["settings"]
    config = spec["vllmConfig"]
    assert config["maxModelLen"] == chosen["max_model_len"]["value"]
    assert config["maxNumSeqs"] == chosen["max_num_seqs"]["value"]
    assert config["gpuMemoryUtilization"] == chosen["gpu_memory_utilization"]["value"]
    assert config["dtype"] == chosen["dtype"]["value"]
    assert config["tensorParallelSize"] == chosen["tensor_parallel_size"]["value"] == 1
    assert config["enablePrefixCaching"] is True
    assert flag(spec, "--max-num-batched-tokens") == str(chosen["max_num_batched_tokens"]["value"])
    assert flag(spec, "--kv-cache-dtype") == chosen["kv_cache_dtype"]["value"]
    assert "--no-enable-log-requests" in config["extraArgs"]
    # The catalogue's host RAM and disk for the model; a shared volume, since replicas land on several nodes.
    assert (spec["requestMemory"], spec["pvcStorage"], spec["pvcAccessMode"]) == ("15000Mi", "16Gi", ["ReadWriteMany"])
    assert spec["keda"] == {"enabled": True, "minReplicaCount": 1, "maxReplicaCount": 4}
    assert values["servingEngineSpec"]["serviceMonitor"] == {"enabled": True}
    assert values["servingEngineSpec"]["startupProbe"] == {"failureThreshold": 180}
    router = values["routerSpec"]
    assert f"{router['repository']}:{router['tag']}" == PINS["hymt_vllm_stack_router_image"]
    assert router["routingLogic"] == "roundrobin"
    assert "ingress" not in router
    # The comments say where the values came from.
    assert "hymt_model_id" in path.read_text() and "(computed)" in path.read_text()


def test_the_api_key_is_a_reference_to_a_secret_never_a_value(example):
    _, _, path = example
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    # A string here would be the key itself, which the chart stores in a Secret it generates from the file.
    assert values["servingEngineSpec"]["vllmApiKey"] == {"secretName": "hymt-vllm-api-key", "secretKey": "api-key"}
    assert "hf_token" not in model_spec(values)


def test_every_key_written_is_one_the_pinned_chart_release_reads(example, rendered):
    assert PINS["hymt_vllm_stack_chart_version"] == CHART_VERSION, "read the keys again from the new chart release"
    _, _, path = example
    trees = [yaml.safe_load(path.read_text(encoding="utf-8"))]
    trees += [values_of(rendered, host) for host in ("h100-fp8", "t4-pair", "modelscope", "hf-mirror")]
    for tree in trees:
        assert key_paths(tree) <= CHART_KEYS, sorted(key_paths(tree) - CHART_KEYS)


def test_the_key_check_flags_a_key_the_chart_does_not_read():
    tree = {"servingEngineSpec": {"modelSpec": [{"name": "x", "servedModelName": "y", "env": [{"name": "A"}]}]}}
    assert key_paths(tree) - CHART_KEYS == {"servingEngineSpec.modelSpec[].servedModelName"}


def test_a_changed_model_gpu_and_setting_change_the_values(rendered):
    spec = model_spec(values_of(rendered, "h100-fp8"))
    assert spec["modelURL"] == "tencent/Hunyuan-MT-7B-fp8"
    assert spec["modelRevision"] == "0123abc"
    assert flag(spec, "--served-model-name") == "translator"
    assert spec["vllmConfig"]["maxModelLen"] == 8192
    # The FP8 build on GPUs that run FP8 natively, as on a host: an FP8 KV cache, more sequences.
    fp8 = "tencent/Hunyuan-MT-7B-fp8"
    chosen = stack.settings_for_host([H100], model_id=fp8, overrides={"max_model_len": 8192})["settings"]
    assert flag(spec, "--kv-cache-dtype") == "fp8" == chosen["kv_cache_dtype"]["value"]
    assert spec["vllmConfig"]["maxNumSeqs"] == chosen["max_num_seqs"]["value"] == 256
    assert (spec["requestMemory"], spec["pvcStorage"]) == ("12000Mi", "9Gi")
    assert spec["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["NVIDIA-H100-80GB-HBM3"]
    assert spec["storageClass"] == "fast-nfs"
    # No autoscaling: a fixed count of replicas.
    assert spec["keda"] == {"enabled": False} and spec["replicaCount"] == 2


def test_two_small_gpus_split_the_model_and_are_both_requested(rendered):
    spec = model_spec(values_of(rendered, "t4-pair"))
    assert spec["requestGPU"] == 2 and spec["vllmConfig"]["tensorParallelSize"] == 2
    assert spec["vllmConfig"]["dtype"] == "float16"
    assert "nodeSelectorTerms" not in spec


def test_modelscope_a_domain_and_session_routing(rendered):
    values = values_of(rendered, "modelscope")
    spec = model_spec(values)
    assert spec["modelURL"] == "Tencent-Hunyuan/Hunyuan-MT-7B"
    env = {item["name"]: item for item in spec["env"]}
    assert env["VLLM_USE_MODELSCOPE"]["value"] == "True"
    assert env["MODELSCOPE_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hub-token", "key": "token"}
    assert "hf_token" not in spec
    # One replica: a block disk will do.
    assert spec["pvcAccessMode"] == ["ReadWriteOnce"]
    router = values["routerSpec"]
    assert (router["routingLogic"], router["sessionKey"]) == ("session", "x-user-id")
    assert router["ingress"]["enabled"] is True
    assert router["ingress"]["hosts"][0]["host"] == "mt.example.com"
    assert router["ingress"]["tls"] == [{"secretName": "hymt-tls", "hosts": ["mt.example.com"]}]


def test_a_hugging_face_mirror_and_token(rendered):
    spec = model_spec(values_of(rendered, "hf-mirror"))
    env = {item["name"]: item for item in spec["env"]}
    assert env["HF_ENDPOINT"]["value"] == "https://hf-mirror.com"
    assert spec["hf_token"] == {"secretName": "hf", "secretKey": "token"}


@pytest.mark.parametrize(
    ("host", "said"),
    [
        ("three-gpus", r"k8s_values_gpu_count is 3: write 1, 2, 4 or 8"),
        ("gpus-in-words", r"k8s_values_gpu_count"),
        ("idle-gpu", r"request 2 GPU\(s\) but vLLM uses 1 .*set k8s_values_gpu_count to 1"),
        ("too-small", r"needs 20000 MiB.*Choose a GPU with more memory"),
        ("rehearsal", r"hymt_profile is rehearsal: the values are for GPU nodes"),
        ("generated-model", r"hymt-rehearsal is on no hub vLLM could download it from"),
        ("bad-name", r"k8s_values_name is \"Hunyuan_MT\": write at most 32 lower-case letters"),
        ("session-without-key", r"name the header in k8s_values_session_key"),
    ],
)
def test_bad_input_stops_the_role_saying_what_to_change(rendered, host, said):
    run, out = rendered
    message = " ".join(run.refusal(host).split())
    assert re.search(said, message), message
    assert not (out / f"{host}.yaml").exists()


def test_the_docs_install_the_pinned_chart_release():
    text = (ROOT / "docs/scale-out.md").read_text(encoding="utf-8")
    versions = re.findall(r"helm (?:install|upgrade)[^\n]*vllm/vllm-stack --version (\S+)", text)
    assert versions and set(versions) == {PINS["hymt_vllm_stack_chart_version"]}
