"""Where torch runs: the device by name, the precision its hardware trains best in
(`resolve_amp`) and the mixed-precision context for it."""

from __future__ import annotations

import functools
from contextlib import contextmanager
from pathlib import Path

import torch

from shapelib import InputError

__all__ = [
    "NATIVE_BF16_FLAGS",
    "all_cores",
    "autocast_for",
    "device_of",
    "native_bf16",
    "pick_device",
    "resolve_amp",
    "running",
    "torch_threads",
]

# CPU flags (as /proc/cpuinfo spells them) of native bf16 arithmetic: without one of them bf16
# autocast is emulated and slower than float32 (the U-Net 1.4x), with one the U-Net trains
# 3.0x faster in bf16 (benchmarks/RESULTS.md).
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def _cpuinfo_flags() -> str:
    """The flags line of this machine's /proc/cpuinfo ('' where there is none: not Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        if line.startswith("flags"):
            return line.partition(":")[2]
    return ""


def all_cores() -> int:
    """The CPU cores this process may run on (its affinity; else ``os.cpu_count()``)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def native_bf16(flags: str | None = None) -> bool:
    """Whether a CPU has native bf16 arithmetic (AVX512-BF16 or AMX): from its `flags` (the
    space-separated flags of /proc/cpuinfo; None: this machine's)."""
    have = set((_cpuinfo_flags() if flags is None else flags).split())
    return any(f in have for f in NATIVE_BF16_FLAGS)


def resolve_amp(amp: bool | str, device: torch.device, *, flags: str | None = None) -> bool:
    """The precision a training runs in: `amp` True or False as given; ``"auto"`` -> mixed
    precision on CUDA and on a CPU with native bf16 (`native_bf16` of `flags`), float32
    elsewhere (emulated bf16 is slower, and float32 runs are bit-identical)."""
    if amp != "auto":
        return bool(amp)
    if device.type == "cuda":
        return True
    if device.type == "cpu":
        return native_bf16(flags)
    return False


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def pick_device(name: str = "auto") -> torch.device:
    """`auto` -> cuda if present, else mps, else cpu; any other name as given, when this
    machine has it (an InputError names what it has, before anything is computed)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(str(name))
    except (RuntimeError, TypeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda", "mps"):
        raise InputError(f"unknown device {name!r}; choose auto, cpu, cuda (or cuda:N) or mps.")
    have = (
        ["cpu"]
        + (["cuda"] if torch.cuda.is_available() else [])
        + (["mps"] if _mps_available() else [])
    )
    if dev.type not in have:
        raise InputError(
            f"device {name!r} is not available on this machine (it has: {', '.join(have)}); "
            "pass --device cpu or auto."
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise InputError(
            f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)."
        )
    return dev


def device_of(net) -> torch.device:
    """The device a network's parameters are on (CPU for one without parameters)."""
    p = next(net.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def autocast_for(device: torch.device, enabled: bool):
    """bf16 autocast on CPU, fp16 on CUDA; a no-op context when disabled or unsupported."""
    if not enabled or device.type == "mps":
        return torch.autocast(device_type="cpu", enabled=False)
    dtype = torch.bfloat16 if device.type == "cpu" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


@contextmanager
def torch_threads(n: int | None):
    """Run the block with `n` torch CPU threads (None: leave as is), then restore the count."""
    if not n:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextmanager
def running(threads: int | None, *, grad: bool = False):
    """Run the block with `threads` torch CPU threads (None: as set) and, unless `grad`, in
    inference mode (no autograd)."""
    with torch_threads(threads):
        if grad:
            yield
            return
        with torch.inference_mode():
            yield
