"""The backends users choose with ``backend=``: what each needs and where its implementation lives.

Described without importing anything heavy, so that options are validated (and a missing package
named) before torch or OpenVINO load. The interface every implementation follows is :mod:`.backend`.

``backend="auto"`` (the default) is resolved here, once per classifier, by :func:`resolve_backend_name`:
to ``"openvino"`` on a CPU where OpenVINO is installed, else ``"torch"``. The rule reads only the options
and the machine, so the same call gives the same engine, and the same scores, whatever ran before.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from ..errors import ConfigurationError


@dataclass(frozen=True)
class BackendSpec:
    """One choosable backend, described without importing it.

    Attributes:
        name: the ``backend=`` value.
        module: the module whose ``create_backend(options, loaded)`` builds it; None for ``"auto"``, which
            :func:`resolve_backend_name` turns into another backend before anything is built.
        package: an optional package it needs (installed by the extra of the same name), or None.
        cpu_only: runs on the CPU alone (``device`` must be ``"auto"`` or ``"cpu"``).
        own_compiler: compiles the model itself, so ``compile=True`` and ``packing=True`` do not apply.
        load_dtype: the precision the torch model is loaded in for it; None: the ``dtype`` option's.
    """

    name: str
    module: str | None
    package: str | None = None
    cpu_only: bool = False
    own_compiler: bool = False
    load_dtype: str | None = None
    dtypes: tuple[str, ...] = ("auto", "float32", "bfloat16", "float16")


BACKENDS: dict[str, BackendSpec] = {
    # Never built: resolve_backend_name turns it into "torch" or "openvino" before anything loads.
    "auto": BackendSpec("auto", None, cpu_only=False, dtypes=("auto", "float32", "bfloat16", "float16", "int8")),
    "torch": BackendSpec("torch", "spacy_goemotions.backends.torch_choice"),
    # OpenVINO converts the float32 torch model and compiles it in the precision ``dtype`` asks for.
    "openvino": BackendSpec(
        "openvino",
        "spacy_goemotions.backends.openvino",
        package="openvino",
        cpu_only=True,
        own_compiler=True,
        load_dtype="float32",
        dtypes=("auto", "float32", "bfloat16", "float16", "int8"),
    ),
}

#: dtypes only the OpenVINO backend computes in.
OPENVINO_ONLY_DTYPES = ("int8",)
#: dtypes ``backend="auto"`` may hand to OpenVINO on a CPU (float16 stays with torch, as asked).
AUTO_OPENVINO_DTYPES = ("auto", "float32", "bfloat16")


def backend_spec(name: str) -> BackendSpec:
    """The registry entry for ``name`` (the options have already checked that it is one)."""
    return BACKENDS[name]


def install_hint(spec: BackendSpec) -> str:
    return f"pip install 'spacy-goemotions[{spec.package}]' (or: pip install {spec.package})"


def check_backend_options(backend: str, *, device: str, dtype: str, compile: bool | str, packing: bool | None) -> None:
    """The backend's rules on the other options, applied when options are built (no import, no machine check)."""
    spec = BACKENDS[backend]
    if dtype not in spec.dtypes:
        raise ConfigurationError(
            f"dtype={dtype!r} runs on the OpenVINO backend, not backend={backend!r}: use backend='openvino' "
            "(or the default backend='auto'), or a dtype of " + ", ".join(repr(d) for d in spec.dtypes),
            options=("backend", "dtype"),
        )
    if dtype in OPENVINO_ONLY_DTYPES and backend != "openvino":  # "auto" then means OpenVINO: its rules apply
        check_backend_options("openvino", device=device, dtype=dtype, compile=compile, packing=packing)
        return
    if spec.cpu_only and device.strip().lower() not in ("auto", "cpu"):
        raise ConfigurationError(
            f"backend={spec.name!r} runs on the CPU, got device={device!r}. Use device='cpu', or backend='torch' for GPUs.",
            options=("backend", "device"),
        )
    if spec.own_compiler and (compile is True or packing is True):
        raise ConfigurationError(
            f"backend={spec.name!r} compiles the model itself; drop compile=True / packing=True, or use backend='torch'.",
            options=("backend", "compile", "packing"),
        )


def resolve_backend_name(backend: str, *, device_type: str, dtype: str, compile: bool | str, packing: bool | None) -> str:
    """What ``backend`` means on this machine: itself unless it is ``"auto"``, which is

    - ``"openvino"`` for an OpenVINO-only dtype (``"int8"``), and on a CPU where OpenVINO is installed
      (1.6x torch's bf16 there; its one-time conversion is cached per machine);
    - ``"torch"`` everywhere else: GPUs, torch's own ``compile=True`` or ``packing=True``, float16,
      or OpenVINO not installed.

    A function of the options and the machine only (never of the job's size, the cache's contents or
    what ran before in the process), so that the same call always runs on the same engine.

    Examples:
        >>> resolve_backend_name("auto", device_type="cuda", dtype="auto", compile="auto", packing=None)
        'torch'
    """
    if backend != "auto":
        return backend
    if dtype in OPENVINO_ONLY_DTYPES:
        return "openvino"
    if device_type != "cpu" or compile is True or packing is True or dtype not in AUTO_OPENVINO_DTYPES:
        return "torch"
    return "openvino" if importlib.util.find_spec("openvino") is not None else "torch"


#: Packages a dtype needs beyond its backend's, with the extra that installs them.
DTYPE_PACKAGES: dict[str, tuple[str, str]] = {"int8": ("nncf", "int8")}


def require_dtype_packages(dtype: str) -> None:
    """Fail with the install command when a package ``dtype`` needs is missing (int8 quantizes with NNCF)."""
    needed = DTYPE_PACKAGES.get(dtype)
    if needed is not None and importlib.util.find_spec(needed[0]) is None:
        package, extra = needed
        raise ConfigurationError(
            f"dtype={dtype!r} needs the {package} package: pip install 'spacy-goemotions[{extra}]' (or: pip install {package}). "
            "Or use dtype='auto'.",
            options=("dtype",),
        )


def require_backend_package(name: str) -> None:
    """Fail with the install command when the backend's package is missing here (checked where it will run)."""
    spec = BACKENDS[name]
    if spec.package is not None and importlib.util.find_spec(spec.package) is None:
        raise ConfigurationError(
            f"backend={spec.name!r} needs the {spec.package} package: {install_hint(spec)}. Or use backend='torch'.",
            options=("backend",),
        )
