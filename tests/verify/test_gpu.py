"""The GPU checks of the host half against fake hosts: a working two-GPU server, a host without a GPU, a driver too
old for the image, a GPU test that finds fewer GPUs or wrong products, an image not on the host, and the rehearsal
host, where every GPU finding is an expected "skipped: no GPU" while the GPU test still runs."""

from __future__ import annotations

from hymt.core.exit import ExitStatus
from hymt.verify.result import SkipKind, Status, exit_code
from tests.verify import hosts
from tests.verify.fakes import fails, ok
from tests.verify.hosts import PINS

GPU_CHECKS = (
    "nvidia-smi on the host",
    "driver runs the vLLM image",
    "gpu_test: PyTorch sees every GPU",
    "gpu_test: a tensor on every GPU",
    "gpu_test: matrix product on every GPU",
    "gpu_test: nvidia-smi in the container",
    "vllm container sees its GPU",
)


run = hosts.check_host


def test_a_working_gpu_server_passes_every_gpu_check():
    results, checks = run(hosts.gpu_server())
    for name in GPU_CHECKS:
        assert checks[name].status is Status.PASS, checks[name]
    assert (
        checks["nvidia-smi on the host"].reason.startswith("2 GPU(s)")
        and "CUDA 13.0" in checks["nvidia-smi on the host"].reason
    )
    assert "612.3 TFLOPS fp16" in checks["gpu_test: matrix product on every GPU"].reason
    assert "release 13.0" in checks["gpu_test: nvidia-smi in the container"].reason
    assert checks[f"gpu_test runs in {PINS.gpu_image}"].status is Status.PASS
    assert exit_code(results, "gpu") == ExitStatus.OK


def test_the_gpu_test_runs_in_the_pinned_image_with_every_gpu_and_is_never_pulled():
    host = hosts.gpu_server()
    run(host)
    ((command, sudo),) = [
        (argv, sudo) for argv, sudo in host.commands if argv[:2] == ["docker", "run"] and "python3" in argv
    ]
    assert sudo
    assert command[command.index("--pull") + 1] == "never"
    assert command[command.index("--gpus") + 1] == "all"
    assert command[command.index("--entrypoint") + 1] == "python3"
    assert command[command.index("--entrypoint") + 2] == PINS.gpu_image
    assert "torch.cuda.is_available()" in command[command.index("-c") + 1]
    assert not any(argv[1] == "pull" for argv, _ in host.commands if argv[0] == "docker")


def test_a_host_without_a_gpu_fails_on_the_gpu_profile():
    host = hosts.gpu_server()
    host.on("nvidia-smi", answer=fails(127, "nvidia-smi: command not found"))
    host.on("docker", "run", "--gpus", answer=fails(125, 'docker: Error response from daemon: could not select device '
                                                        'driver "" with capabilities: [[gpu]].'))  # fmt: skip
    host.on("docker", "exec", "hymt-vllm-1", "--quick", answer=ok(hosts.probe_output(hosts.CPU_REPORT)))
    results, checks = run(host)
    assert checks["nvidia-smi on the host"].status is Status.FAIL
    assert "no NVIDIA driver" in checks["nvidia-smi on the host"].reason
    runs = checks[f"gpu_test runs in {PINS.gpu_image}"]
    assert runs.status is Status.FAIL and "NVIDIA Container Toolkit is missing" in runs.reason
    assert checks["vllm container sees its GPU"].status is Status.FAIL
    assert not any(r.expected_by("gpu") for r in results)
    assert exit_code(results, "gpu") == ExitStatus.FAILURE


def test_a_driver_too_old_for_the_image_fails_with_the_way_out_before_anything_else():
    host = hosts.gpu_server()
    host.on("nvidia-smi", "--format=csv,noheader,nounits", answer=ok(hosts.data("nvidia-smi-query-rtx4090-550.csv")))
    host.on("nvidia-smi", answer=ok(hosts.data("nvidia-smi-rtx4090-550.txt")))
    host.on("nvidia-smi", "--format=csv,noheader,nounits", answer=ok(hosts.data("nvidia-smi-query-rtx4090-550.csv")))
    too_old = "nvidia-container-cli: requirement error: unsatisfied condition: cuda>=13.0, please update your driver"
    host.on("docker", "run", "--gpus", answer=fails(125, too_old))
    _, checks = run(host)
    verdict = checks["driver runs the vLLM image"]
    assert verdict.status is Status.FAIL
    assert (
        "has NVIDIA driver 550.163.01 (CUDA 12.4)" in verdict.reason
        and "set nvidia_driver_upgrade: true" in verdict.reason
    )
    assert "driver is too old" in checks[f"gpu_test runs in {PINS.gpu_image}"].reason


def test_fewer_gpus_in_the_container_than_on_the_host_fail():
    _, checks = run(hosts.gpu_server(report=hosts.gpu_report(devices=1)))
    seen = checks["gpu_test: PyTorch sees every GPU"]
    assert seen.status is Status.FAIL and "sees 1 GPU(s) but nvidia-smi on the host lists 2" in seen.reason


def test_a_gpu_computing_wrong_products_fails():
    _, checks = run(hosts.gpu_server(report=hosts.gpu_report(matmul_ok=False)))
    product = checks["gpu_test: matrix product on every GPU"]
    assert product.status is Status.FAIL and "computes wrong results" in product.reason


def test_nvidia_smi_in_the_container_listing_other_gpus_fails():
    _, checks = run(hosts.gpu_server(report=hosts.gpu_report(smi_lines=1)))
    assert checks["gpu_test: nvidia-smi in the container"].status is Status.FAIL


def test_cuda_unavailable_in_the_container_fails_on_gpu():
    _, checks = run(hosts.gpu_server(report=hosts.CPU_REPORT))
    assert checks["gpu_test: PyTorch sees every GPU"].status is Status.FAIL
    assert "torch.cuda.is_available() is False" in checks["gpu_test: PyTorch sees every GPU"].reason


def test_an_image_not_on_the_host_fails_and_is_not_pulled():
    host = hosts.gpu_server()
    host.on("docker", "image", "inspect", answer=fails(1, "Error: No such image"))
    _, checks = run(host)
    runs = checks[f"gpu_test runs in {PINS.gpu_image}"]
    assert runs.status is Status.FAIL and "is not on the host" in runs.reason
    assert not any(argv[:2] == ["docker", "run"] for argv, _ in host.commands)


def test_no_running_vllm_container_fails_the_in_container_check():
    host = hosts.stack_host(hosts.gpu_server(), [hosts.container_line("web"), hosts.container_line("proxy")])
    _, checks = run(host)
    assert checks["vllm container sees its GPU"].status is Status.FAIL
    assert "the stack is not up" in checks["vllm container sees its GPU"].reason


def test_the_rehearsal_host_skips_every_gpu_finding_as_expected_and_runs_the_gpu_test_on_cpu():
    host = hosts.rehearsal_host()
    results, checks = run(host, profile="rehearsal")
    runs = checks[f"gpu_test runs in {PINS.vllm_cpu_image}"]
    assert runs.status is Status.PASS and "torch 2.13.0+cpu" in runs.reason
    for name in GPU_CHECKS:
        assert checks[name].status is Status.SKIP and checks[name].skip_kind is SkipKind.NO_GPU, checks[name]
        assert checks[name].reason.startswith("skipped: no GPU")
    (command,) = [argv for argv, _ in host.commands if argv[:2] == ["docker", "run"] and "python3" in argv]
    assert "--gpus" not in command and PINS.vllm_cpu_image in command
    # No GPU on the host: PyTorch in the running vllm container is not asked (seconds of importing it on a CPU).
    assert not [argv for argv, _ in host.commands if argv[:2] == ["docker", "exec"] and "--quick" in argv]
    assert "the host lists none (nvidia-smi)" in checks["vllm container sees its GPU"].reason
    gpu_results = [r for r in results if r.name in GPU_CHECKS]
    assert exit_code(gpu_results, "rehearsal") == ExitStatus.OK
    assert exit_code(gpu_results, "rehearsal", strict=True) == ExitStatus.FAILURE
    assert exit_code(gpu_results, "gpu") == ExitStatus.FAILURE


def test_a_rehearsal_host_with_a_gpu_looks_inside_the_vllm_container():
    host = hosts.rehearsal_host()  # an NVIDIA laptop, say: the driver answers, the rehearsal's CPU image sees no GPU
    host.on("nvidia-smi", answer=ok(hosts.H100_HEADER))
    host.on("nvidia-smi", "--format=csv,noheader,nounits", answer=ok(hosts.H100_QUERY))
    _, checks = run(host, profile="rehearsal")
    assert checks["nvidia-smi on the host"].status is Status.PASS, checks["nvidia-smi on the host"]
    assert [argv for argv, _ in host.commands if argv[:2] == ["docker", "exec"] and "--quick" in argv]
    seen = checks["vllm container sees its GPU"]
    assert seen.status is Status.SKIP and "PyTorch 2.13.0+cpu in hymt-vllm-1 sees no CUDA device" in seen.reason


def test_an_unreachable_host_is_one_failure_that_says_why():
    host = hosts.gpu_server()
    host.unreachable = "cannot reach ubuntu@203.0.113.7:22 over SSH"
    results, checks = run(host)
    assert [r.name for r in results] == ["SSH login"] and checks["SSH login"].status is Status.FAIL
