"""Device and dtype resolution: one place that decides where and in what precision models run.

torch is imported when a device is first resolved, not with this module.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigurationError
from .options import DEVICE_CHOICES, DTYPE_CHOICES

if TYPE_CHECKING:
    import torch


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when the CPU multiplies bf16 in hardware (AMX or AVX512-BF16).

    Elsewhere torch emulates bf16 and it is slower than float32, so "auto" must not pick it.
    """
    if sys.platform != "linux":
        return False
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
            break
    return bool(flags & {"amx_bf16", "avx512_bf16"})


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto"`` (cuda, then mps, then cpu) or an explicit name into a ``torch.device``."""
    import torch

    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise ConfigurationError(f"device must be a string, got {device!r}. Example: device='cuda:0'")
    name = device.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(name)
    except RuntimeError as error:
        raise ConfigurationError(f"Unknown device {device!r}. Choose one of {', '.join(DEVICE_CHOICES)}.") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError(
            f"device={device!r} but this torch build sees no CUDA GPU "
            f"(torch {torch.__version__}). Use device='cpu' or 'auto', or install a CUDA build of torch."
        )
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise ConfigurationError(f"device={device!r} but only {torch.cuda.device_count()} CUDA device(s) are visible.")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigurationError(f"device={device!r} but MPS is not available here. Use device='cpu'.")
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise ConfigurationError(f"Unsupported device {device!r}. Choose one of {', '.join(DEVICE_CHOICES)}.")
    return resolved


def torch_cpu() -> torch.device:
    """``torch.device("cpu")`` (torch imported here, on first use)."""
    import torch

    return torch.device("cpu")


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """Pick the compute dtype.

    ``"auto"``: bfloat16 on CUDA GPUs that support it (float16 on older ones); on CPU bfloat16 only
    where the processor has native bf16 units, else float32; float32 on MPS.
    """
    import torch

    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if isinstance(dtype, torch.dtype):
        if dtype not in dtypes.values():
            raise ConfigurationError(f"Unsupported dtype {dtype!r}. Choose one of {', '.join(DTYPE_CHOICES)}.")
        return dtype
    name = str(dtype).strip().lower().removeprefix("torch.")
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device.type == "cpu" and cpu_has_native_bf16():
            return torch.bfloat16
        return torch.float32
    if name not in dtypes:
        raise ConfigurationError(f"Unknown dtype {dtype!r}. Choose one of {', '.join(DTYPE_CHOICES)}.")
    return dtypes[name]


def dtype_name(dtype: torch.dtype) -> str:
    """ "float32" for torch.float32, and so on."""
    return str(dtype).removeprefix("torch.")
