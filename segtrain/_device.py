"""Where torch runs: the device by name and the mixed-precision context for it."""

from __future__ import annotations

from contextlib import contextmanager

import torch

from shapelib import InputError

__all__ = ["autocast_for", "pick_device", "torch_threads"]


def pick_device(name: str = "auto") -> torch.device:
    """`auto` -> cuda if present, else mps, else cpu; any other name as given."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise InputError(
            f"unknown device {name!r}; choose auto, cpu, cuda (or cuda:N) or mps."
        ) from None


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
