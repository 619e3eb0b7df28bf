"""GPU checks on a host: nvidia-smi and the driver against the vLLM image; the GPU test (gpu_probe.py) in a container
of the vLLM image itself and inside the running vllm container.

What nvidia-smi prints, which GPUs vLLM cannot run on and which driver runs which image are the roles' knowledge
(hymt.hostfacts, hymt.provision.*): these checks ask it, so that verify and the roles never disagree.

On the gpu profile a host without a working GPU fails. On the rehearsal profile the host has none: nvidia-smi's
absence is an expected skip, and the GPU test runs in the CPU vLLM image to prove the script and PyTorch work there,
reporting its GPU findings as "skipped: no GPU" — it claims nothing it did not see.
"""

from __future__ import annotations

import json
from importlib import resources

from hymt.hostfacts import (
    NVIDIA_SMI_CAPABILITY_FIELD,
    gpus_vllm_cannot_run,
    nvidia_cuda_version,
    nvidia_gpus_from_nvidia_smi,
    nvidia_smi_query,
    nvidia_smi_state,
)
from hymt.provision import nvidia_container_toolkit, nvidia_driver, preflight
from hymt.verify.gpu_probe import MARK
from hymt.verify.host import HostContext, docker_failure, no_gpu_skip
from hymt.verify.pins import ImagePins
from hymt.verify.result import CheckFailed, CheckResult, CheckSkipped, SkipKind, failed, passed, skipped

GPU_TEST_TIMEOUT = 900.0  # seconds: the image starts, PyTorch loads, each GPU multiplies


def probe_source() -> str:
    return resources.files("hymt.verify").joinpath("gpu_probe.py").read_text(encoding="utf-8")


def check_host_gpus(context: HostContext) -> str:
    """nvidia-smi on the host: the GPUs, their memory, the driver and the highest CUDA it supports."""
    query = context.run(nvidia_smi_query(compute_capability=True))
    if not query.ok and NVIDIA_SMI_CAPABILITY_FIELD in query.output():
        query = context.run(nvidia_smi_query())
    if not query.ok:
        result = {"rc": query.rc, "stdout": query.stdout, "stderr": query.stderr}
        if context.profile == "rehearsal" and nvidia_smi_state(result)["state"] == "absent":
            raise no_gpu_skip(context, "nvidia-smi is not installed; the rehearsal host has no GPU")
        raise CheckFailed(nvidia_driver.nvidia_smi_advice(result, context.settings.pins.driver_branch))
    gpus = nvidia_gpus_from_nvidia_smi(query.stdout)
    if not gpus:
        raise CheckFailed(f"nvidia-smi lists no GPU: {query.output(200) or '(nothing)'}")
    context.gpus = gpus
    context.cuda = nvidia_cuda_version(context.run(["nvidia-smi"]).stdout)
    listed = ", ".join(
        f"{gpu['index']}: {gpu['name']} ({gpu['memory_mb'] or '?'} MiB"
        + (f", compute {gpu['compute_capability']}" if gpu["compute_capability"] else "")
        + ")"
        for gpu in gpus
    )
    return f"{len(gpus)} GPU(s) [{listed}], driver {gpus[0]['driver_version']}, CUDA {context.cuda or '?'}"


def check_driver_fits(context: HostContext) -> str:
    """The GPUs' compute capability (preflight's rule) and the driver against the vLLM image (the nvidia_driver role's
    rule, in its words), with the way out before anything else fails."""
    if not context.gpus:
        if context.profile == "rehearsal":
            raise no_gpu_skip(context, "no driver to compare with the vLLM image")
        raise CheckSkipped("no working driver to judge (see nvidia-smi above)")
    image = context.vllm_image()
    if not image:
        raise CheckFailed("no vLLM image is pinned (hymt_vllm_image): give the inventory, or run from a checkout")
    return judge_driver(context.name, context.gpus, context.cuda, image, context.settings.pins)


def judge_driver(name: str, gpus: list[dict], cuda: str, image: str, pins: ImagePins) -> str:
    """Whether host `name`, whose working driver nvidia-smi described (`gpus`, `cuda`), runs `image`: what runs, or
    CheckFailed with preflight's refusal of GPUs vLLM cannot run on, or the nvidia_driver role's stop message."""
    if gpus_vllm_cannot_run(gpus):
        raise CheckFailed(preflight.unsupported_gpus_message(gpus, name))
    driver = gpus[0]["driver_version"]
    facts = {"inventory_hostname": name, "gpus": gpus, "driver_version": driver, "cuda_version": cuda}
    host = nvidia_driver.Host(facts, pins.driver_settings(image))
    verdict = nvidia_driver.image_verdict(host)
    if not verdict.runs:
        raise CheckFailed(verdict.too_old)
    ran = nvidia_driver.say("runs", described=verdict.described, names=verdict.names, image=host.image)
    return " ".join([ran, *verdict.notes, *nvidia_driver.variant_notes(host)])


def docker_run_failure(said: str, image: str, driver: str = "") -> str:
    """What a failed `docker run --gpus all` means and what to do: the nvidia_container_toolkit role's advice for the
    errors it knows, else the end of what Docker said."""
    advice = nvidia_container_toolkit.container_advice(said, {"image": image, "driver_version": driver})
    if advice != nvidia_container_toolkit.GENERIC_ADVICE:
        return advice
    return f"docker run failed: {' '.join(said.split())[-400:]}"


def read_probe(output: str) -> dict:
    for line in reversed(output.splitlines()):
        if line.startswith(MARK):
            try:
                report = json.loads(line[len(MARK) :])
            except ValueError:
                break
            if isinstance(report, dict):
                return report
    raise CheckFailed(f"the GPU test printed no report: {' '.join(output.split())[-300:] or '(nothing)'}")


GPU_TEST_NAMES = (
    "gpu_test: PyTorch sees every GPU",
    "gpu_test: a tensor on every GPU",
    "gpu_test: matrix product on every GPU",
    "gpu_test: nvidia-smi in the container",
)


def check_gpu_test(context: HostContext) -> list[CheckResult]:
    """The tutorial's gpu_test, in a container of the vLLM image itself (never pulled: it must be on the host)."""
    image = context.vllm_image()
    runs = f"gpu_test runs in {image or 'the vLLM image'}"
    not_judged = [skipped(name, "the GPU test did not run (see above)") for name in GPU_TEST_NAMES]
    if not image:
        return [failed(runs, "no vLLM image is pinned (hymt_vllm_image): give the inventory"), *not_judged]
    if not context.image_present(image):
        return [
            failed(
                runs,
                f"{image} is not on the host. Deploy first ('make deploy' ships or pulls it); verify never pulls an "
                "image (the GPU one is about 20 GB).",
            ),
            *not_judged,
        ]
    gpus = ["--gpus", "all"] if context.profile == "gpu" else []
    result = context.docker(
        "run", "--rm", "--pull", "never", "--network", "none", *gpus, "--entrypoint", "python3", image,
        "-c", probe_source(),
        timeout=GPU_TEST_TIMEOUT,
    )  # fmt: skip
    if not result.ok and MARK not in result.stdout:
        driver = context.gpus[0]["driver_version"] if context.gpus else ""
        return [failed(runs, docker_run_failure(result.output(2000), image, driver)), *not_judged]
    try:
        report = read_probe(result.stdout)
    except CheckFailed as exc:
        return [failed(runs, str(exc)), *not_judged]
    if report.get("error"):
        return [failed(runs, report["error"]), *not_judged]
    about = f"python {report.get('python')}, torch {report.get('torch')} (CUDA build: {report.get('torch_cuda')})"
    results = [passed(runs, about)]
    return results + judge_gpu_test(context, report, image)


def judge_gpu_test(context: HostContext, report: dict, image: str) -> list[CheckResult]:
    devices = report.get("devices") or []
    if not report.get("cuda_available"):
        computed = "and multiplied on the CPU" if report.get("cpu_matmul_ok") else "but its CPU product was wrong"
        why = f"PyTorch in {image} sees no CUDA device; the script ran {computed}"
        if context.profile == "rehearsal":
            return [skipped(name, f"skipped: no GPU ({why})", SkipKind.NO_GPU) for name in GPU_TEST_NAMES]
        detail = report.get("cuda_error") or why
        return [failed(GPU_TEST_NAMES[0], f"torch.cuda.is_available() is False: {detail}")] + [
            skipped(name, "no GPU in the container to test") for name in GPU_TEST_NAMES[1:]
        ]
    results = []
    host_count = len(context.gpus or [])
    seen = ", ".join(f"{d['index']}: {d['name']} ({d['memory_mib']} MiB, {d['capability']})" for d in devices)
    if context.gpus is not None and len(devices) != host_count:
        results.append(
            failed(
                GPU_TEST_NAMES[0],
                f"PyTorch sees {len(devices)} GPU(s) but nvidia-smi on the host lists {host_count} [{seen}]: check "
                "the compose GPU reservation (HYMT_GPU_COUNT) and CUDA_VISIBLE_DEVICES.",
            )
        )
    else:
        results.append(passed(GPU_TEST_NAMES[0], f"{len(devices)} GPU(s): {seen}"))
    bad = [f"GPU {d['index']}: {d.get('error', 'came back different')}" for d in devices if not d.get("tensor_ok")]
    results.append(
        failed(GPU_TEST_NAMES[1], "; ".join(bad))
        if bad
        else passed(GPU_TEST_NAMES[1], f"moved to and from {len(devices)} GPU(s) intact")
    )
    products = [(d["index"], d.get("matmul") or {}) for d in devices]
    wrong = [
        f"GPU {index}: " + (m.get("error") or f"relative error {m.get('relative_error', '?')} against the CPU")
        for index, m in products
        if not m.get("ok")
    ]
    if wrong:
        results.append(failed(GPU_TEST_NAMES[2], "; ".join(wrong) + ": the GPU computes wrong results"))
    else:
        speeds = ", ".join(
            f"GPU {index}: error {m['relative_error']:.1e}, {m['fp16_tflops']} TFLOPS fp16" for index, m in products
        )
        results.append(passed(GPU_TEST_NAMES[2], f"matches the CPU's result; {speeds}"))
    smi = report.get("nvidia_smi") or {}
    nvcc = report.get("nvcc")
    nvcc_said = (
        next((line for line in nvcc["output"].splitlines() if "release" in line), nvcc["output"][-80:]).strip()
        if nvcc and nvcc.get("rc") == 0
        else "no nvcc in the image (vLLM does not need it)"
    )
    listed = [line for line in (smi.get("output") or "").splitlines() if line.strip()]
    if smi.get("rc") != 0:
        results.append(failed(GPU_TEST_NAMES[3], f"nvidia-smi failed in the container: {smi.get('output', '')[:300]}"))
    elif len(listed) != len(devices):
        results.append(failed(GPU_TEST_NAMES[3], f"it lists {len(listed)} GPU(s), PyTorch {len(devices)}"))
    else:
        results.append(passed(GPU_TEST_NAMES[3], f"lists {len(listed)} GPU(s); nvcc: {nvcc_said}"))
    return results


def check_vllm_sees_gpu(context: HostContext) -> str:
    """Inside the running vllm container, PyTorch sees its GPU (a tensor only: vLLM holds the GPU's memory)."""
    vllm = running_vllm(context)
    # A rehearsal host without a GPU: the container has none to see, and asking PyTorch there takes seconds.
    if context.profile == "rehearsal" and not host_lists_gpus(context):
        raise no_gpu_skip(context, f"the host lists none (nvidia-smi), so {vllm.name} has none to see")
    return look_inside_vllm(context)


def host_lists_gpus(context: HostContext) -> bool:
    query = context.run(nvidia_smi_query())
    return query.ok and bool(nvidia_gpus_from_nvidia_smi(query.stdout))


def running_vllm(context: HostContext):
    vllm = context.service("vllm")
    if vllm is None:
        raise CheckFailed(
            f"no running vllm container in Compose project {context.settings.compose_project!r}: the stack is not up "
            "('make deploy'; on the host: docker compose ps)."
        )
    return vllm


def look_inside_vllm(context: HostContext) -> str:
    """PyTorch in the running vllm container moves a tensor to each GPU it sees and back."""
    vllm = running_vllm(context)
    result = context.docker("exec", vllm.name, "python3", "-c", probe_source(), "--quick", timeout=300)
    if not result.ok and MARK not in result.stdout:
        raise CheckFailed(docker_failure(result))
    report = read_probe(result.stdout)
    if report.get("error"):
        raise CheckFailed(report["error"])
    if not report.get("cuda_available"):
        if context.profile == "rehearsal":
            raise no_gpu_skip(context, f"PyTorch {report.get('torch')} in {vllm.name} sees no CUDA device")
        raise CheckFailed(
            f"PyTorch in {vllm.name} sees no CUDA device: is the GPU reserved for the service (compose.gpu.yaml)?"
        )
    devices = report.get("devices") or []
    if not all(d.get("tensor_ok") for d in devices):
        raise CheckFailed(f"a tensor did not survive the trip to the GPU in {vllm.name}: {devices}")
    return f"{vllm.name}: torch {report.get('torch')} sees " + ", ".join(d["name"] for d in devices)
