"""A stand-in for PyTorch on NumPy, for tests of gpu_probe.py only (see ../README.md). Not PyTorch."""

import os
import types

import numpy

__version__ = "0.0.0+standin"
float32 = numpy.float32
float16 = numpy.float16
version = types.SimpleNamespace(cuda="13.0" if int(os.environ.get("HYMT_STANDIN_GPUS", "0")) else None)
backends = types.SimpleNamespace(cuda=types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=True)))


class Tensor:
    def __init__(self, array, device="cpu"):
        self.array = numpy.asarray(array)
        self.device = device

    def to(self, device=None, dtype=None):
        device = device or self.device
        if device != "cpu" and int(str(device).split(":")[1]) >= cuda.device_count():
            raise RuntimeError(f"CUDA error: invalid device ordinal {device}")
        return Tensor(self.array.astype(dtype) if dtype else self.array.copy(), device)

    def cpu(self):
        return Tensor(self.array.copy(), "cpu")

    def __matmul__(self, other):
        result = self.array @ other.array
        if self.device == f"cuda:{os.environ.get('HYMT_STANDIN_BROKEN_GPU', '-')}":
            result = result * 1.5
        return Tensor(result, self.device)

    def __sub__(self, other):
        return Tensor(self.array - other.array, self.device)

    def abs(self):
        return Tensor(numpy.abs(self.array), self.device)

    def max(self):
        return Tensor(self.array.max(), self.device)

    def item(self):
        return float(self.array)


class Generator:
    def manual_seed(self, seed):
        self.random = numpy.random.default_rng(seed)
        return self


def randn(*shape, generator=None):
    return Tensor((generator.random if generator else numpy.random.default_rng()).standard_normal(shape, numpy.float32))


def arange(count, dtype=None):
    return Tensor(numpy.arange(count, dtype=dtype))


def eye(size):
    return Tensor(numpy.eye(size, dtype=numpy.float32))


def equal(a, b):
    return bool(a.array.shape == b.array.shape and (a.array == b.array).all())


class _Cuda:
    def device_count(self):
        return int(os.environ.get("HYMT_STANDIN_GPUS", "0"))

    def is_available(self):
        return self.device_count() > 0

    def get_device_properties(self, index):
        return types.SimpleNamespace(name="Stand-in GPU", total_memory=24 * 1024**3, major=8, minor=9)

    def synchronize(self, device=None):
        pass


cuda = _Cuda()
