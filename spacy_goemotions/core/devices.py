"""Device and dtype resolution: one place that decides where and in what precision models run.

torch is imported when a device is first resolved, not with this module.
"""

from __future__ import annotations

import functools
import os
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


#: Device nodes of the GPU drivers torch can use on Linux (NVIDIA, AMD ROCm, WSL2's GPU bridge).
_GPU_DEVICE_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


@functools.lru_cache(maxsize=1)
def no_gpu_possible() -> bool:
    """True when torch certainly finds no GPU here: Linux without any GPU driver's device node.

    ``device="auto"`` then resolves to the CPU without importing torch (about a second of start-up for the
    OpenVINO path, which never needs it). Anywhere else the answer is torch's own.
    """
    return sys.platform == "linux" and not any(Path(node).exists() for node in _GPU_DEVICE_NODES)


def resolve_device_name(device: str | torch.device = "auto") -> str:
    """The device ``resolve_device`` picks, as a name (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).

    torch is imported only where it must decide: ``"cpu"``, and ``"auto"`` on a machine with no GPU
    (:func:`no_gpu_possible`), are answered without it, with the answer torch would give.

    Args:
        device: ``"auto"``, a device name or a ``torch.device``.

    Returns:
        the device's name.

    Examples:
        >>> resolve_device_name("CPU")
        'cpu'
    """
    if isinstance(device, str):
        name = device.strip().lower()
        if name == "cpu" or (name == "auto" and no_gpu_possible()):
            return "cpu"
    return str(resolve_device(device))


def resolve_dtype_name(dtype: str | torch.dtype, device: str) -> str:
    """Pick the compute dtype for ``device`` (a name), as a name: the one rule :func:`resolve_dtype` also follows.

    ``"auto"``: bfloat16 on CUDA GPUs that compute it natively (compute capability 8.0+; float16 on older ones);
    on CPU bfloat16 only where the processor has native bf16 units, else float32; float32 on MPS. torch is
    imported only to ask a GPU, or for a ``torch.dtype`` given.

    Args:
        dtype: ``"auto"``, a dtype name or a ``torch.dtype``.
        device: a device name, as :func:`resolve_device_name` gives.

    Returns:
        ``"float32"``, ``"bfloat16"`` or ``"float16"``.

    Raises:
        ConfigurationError: for a dtype that is none of those.

    Examples:
        >>> resolve_dtype_name("float16", "cpu")
        'float16'
    """
    supported = ("float32", "bfloat16", "float16")
    if not isinstance(dtype, str):  # a torch.dtype
        if dtype_name(dtype) not in supported:
            raise ConfigurationError(f"Unsupported dtype {dtype!r}. Choose one of {', '.join(DTYPE_CHOICES)}.")
        return dtype_name(dtype)
    name = dtype.strip().lower().removeprefix("torch.")
    if name == "auto":
        kind = device.split(":")[0]
        if kind == "cuda":
            import torch

            # This device's own capability: torch.cuda.is_bf16_supported() asks about the current device, and says
            # True on T4/V100, where bf16 is emulated and slower than float16.
            return "bfloat16" if cuda_has_native_bf16(torch.device(device)) else "float16"
        return "bfloat16" if kind == "cpu" and cpu_has_native_bf16() else "float32"
    if name not in supported:
        raise ConfigurationError(f"Unknown dtype {dtype!r}. Choose one of {', '.join(DTYPE_CHOICES)}.")
    return name


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
    """Pick the compute dtype, as a ``torch.dtype`` (the rule is :func:`resolve_dtype_name`'s)."""
    import torch

    resolved: torch.dtype = getattr(torch, resolve_dtype_name(dtype, str(device)))
    return resolved


def cuda_has_native_bf16(device: torch.device) -> bool:
    """Whether this CUDA device computes bf16 natively: compute capability 8.0 (Ampere) or newer.

    Args:
        device: a CUDA device (``cuda`` means the current one).

    Returns:
        True for Ampere, Ada, Hopper and newer; False for Turing (T4), Volta (V100) and older.
    """
    import torch

    major, _ = torch.cuda.get_device_capability(device)
    return int(major) >= 8


def dtype_name(dtype: torch.dtype) -> str:
    """ "float32" for torch.float32, and so on."""
    return str(dtype).removeprefix("torch.")


def cpu_threads() -> int:
    """How many threads CPU inference uses: torch's setting when torch is imported (``torch.set_num_threads``
    is how users choose it), else what torch would start with, decided without importing it:
    ``OMP_NUM_THREADS`` when set, else the physical cores this process may run on.

    Returns:
        the thread count, at least 1.

    Examples:
        >>> cpu_threads() >= 1
        True
    """
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "get_num_threads"):
        return int(torch.get_num_threads())
    from . import fork

    if fork.in_forked_child():
        return 1  # the fork guard runs children on one thread (see core.fork)
    configured = os.environ.get("OMP_NUM_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return physical_cores()


@functools.lru_cache(maxsize=1)
def physical_cores() -> int:
    """Physical cores among the CPUs this process may run on (hyper-threads of one core count once); read once
    per process (OpenVINO asks on every run).

    Returns:
        the count, at least 1.
    """
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            return max(len(cpus), 1)  # no topology to read (not Linux): every logical CPU counts
        cores.add((package, core))
    return max(len(cores), 1)
