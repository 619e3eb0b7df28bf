"""hymt's GPU test: what the usual tutorial's gpu_test.py shows, as a script `hymt verify` runs inside containers.

It runs with the Python of the vLLM image itself (which carries PyTorch built for CUDA: nothing to download):

    docker run --rm --gpus all --entrypoint python3 vllm/vllm-openai:<tag> -c "<this file>" [--quick]

and reports, for each GPU PyTorch sees: name, memory, compute capability, a tensor moved there and back intact, a
matrix product checked against the CPU's result and its speed in TFLOPS; then nvidia-smi inside the container and
`nvcc -V` where the image has it. `--quick` (used inside the running vLLM container, whose GPU memory vLLM holds)
stops after the tensor. Without a CUDA device it says so and still proves PyTorch computes on the CPU.

Standalone on purpose: the standard library and PyTorch only. Human-readable lines go to stderr; the last line of
stdout is `HYMT_GPU_PROBE {json}` for `hymt verify` to read.
"""

import json
import os
import shutil
import subprocess
import sys
import time

MARK = "HYMT_GPU_PROBE "
MIB = 1024 * 1024


def say(text):
    print(text, file=sys.stderr, flush=True)


def option(argv, name, default):
    """The integer after `name` in argv (e.g. --size 1024)."""
    if name in argv and argv.index(name) + 1 < len(argv):
        return int(argv[argv.index(name) + 1])
    return default


def run(command):
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        return {"rc": 127, "output": str(error)}
    return {"rc": done.returncode, "output": (done.stdout + done.stderr).strip()[-2000:]}


def relative_error(torch, result, reference):
    scale = reference.abs().max().item() or 1.0
    return (result - reference).abs().max().item() / scale


def matmul_check(torch, device, size, bench_size, repeats):
    """A product on `device` against the CPU's, then its speed in half precision (what a language model computes)."""
    generator = torch.Generator().manual_seed(7)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    reference = a @ b
    result = (a.to(device) @ b.to(device)).cpu()
    error = relative_error(torch, result, reference)
    x = torch.randn(bench_size, bench_size, generator=generator).to(device=device, dtype=torch.float16)
    y = torch.randn(bench_size, bench_size, generator=generator).to(device=device, dtype=torch.float16)
    x @ y  # warm-up: kernels load on first use
    torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(repeats):
        x @ y
    torch.cuda.synchronize(device)
    seconds = time.perf_counter() - started
    tflops = 2 * bench_size**3 * repeats / seconds / 1e12 if seconds > 0 else 0.0
    return {"size": size, "relative_error": error, "ok": error < 1e-3, "fp16_tflops": round(tflops, 2)}


def probe(argv):
    quick = "--quick" in argv
    size = option(argv, "--size", 1024)
    bench_size = option(argv, "--bench-size", 4096)
    repeats = option(argv, "--repeats", 20)
    report = {"python": sys.version.split()[0], "quick": quick, "torch": None, "devices": []}
    try:
        import torch
    except Exception as error:
        report["error"] = f"import torch failed: {type(error).__name__}: {error}"
        return report
    report["torch"] = torch.__version__
    report["torch_cuda"] = torch.version.cuda
    # The check compares results in full precision: no TF32 shortcuts.
    if hasattr(torch, "backends") and hasattr(torch.backends, "cuda"):
        torch.backends.cuda.matmul.allow_tf32 = False
    try:
        available = bool(torch.cuda.is_available())
    except Exception as error:
        available = False
        report["cuda_error"] = f"{type(error).__name__}: {error}"
    report["cuda_available"] = available
    report["device_count"] = torch.cuda.device_count() if available else 0
    say(f"torch {torch.__version__} (CUDA {torch.version.cuda or 'none'}); CUDA available: {available}")
    if not available:
        # Still prove the script and PyTorch work: a small product on the CPU.
        a = torch.randn(64, 64)
        report["cpu_matmul_ok"] = bool(relative_error(torch, a @ torch.eye(64), a) < 1e-6)
        return report
    for index in range(report["device_count"]):
        device = f"cuda:{index}"
        properties = torch.cuda.get_device_properties(index)
        entry = {
            "index": index,
            "name": properties.name,
            "memory_mib": int(properties.total_memory // MIB),
            "capability": f"{properties.major}.{properties.minor}",
        }
        try:
            values = torch.arange(1 << 20, dtype=torch.float32)
            entry["tensor_ok"] = bool(torch.equal(values.to(device).cpu(), values))
        except Exception as error:
            entry["tensor_ok"] = False
            entry["error"] = f"tensor: {type(error).__name__}: {error}"
        if not quick and entry["tensor_ok"]:
            try:
                entry["matmul"] = matmul_check(torch, device, size, bench_size, repeats)
            except Exception as error:
                entry["matmul"] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        say(f"GPU {index}: {entry['name']}, {entry['memory_mib']} MiB, capability {entry['capability']}: {entry}")
        report["devices"].append(entry)
    if not quick:
        report["nvidia_smi"] = run(
            ["nvidia-smi", "--query-gpu=index,name,memory.total,driver_version,pci.bus_id", "--format=csv,noheader"]
        )
        cuda_nvcc = "/usr/local/cuda/bin/nvcc"
        nvcc = shutil.which("nvcc") or (cuda_nvcc if os.path.exists(cuda_nvcc) else "")
        report["nvcc"] = run([nvcc, "-V"]) if nvcc else None
    return report


def main(argv):
    report = probe(argv)
    print(MARK + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
