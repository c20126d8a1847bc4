"""The backends users choose with ``backend=``: what each needs and where its implementation lives.

Described without importing anything heavy, so that options are validated (and a missing package
named) before torch or OpenVINO load. The interface every implementation follows is :mod:`.backend`.
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
        module: the module whose ``create_backend(options, loaded)`` builds it.
        package: an optional package it needs (installed by the extra of the same name), or None.
        cpu_only: runs on the CPU alone (``device`` must be ``"auto"`` or ``"cpu"``).
        own_compiler: compiles the model itself, so ``compile=True`` and ``packing=True`` do not apply.
        load_dtype: the precision the torch model is loaded in for it; None: the ``dtype`` option's.
    """

    name: str
    module: str
    package: str | None = None
    cpu_only: bool = False
    own_compiler: bool = False
    load_dtype: str | None = None


BACKENDS: dict[str, BackendSpec] = {
    "torch": BackendSpec("torch", "spacy_goemotions.backends.torch_choice"),
    # OpenVINO converts the float32 torch model and compiles it in the precision ``dtype`` asks for.
    "openvino": BackendSpec(
        "openvino",
        "spacy_goemotions.backends.openvino",
        package="openvino",
        cpu_only=True,
        own_compiler=True,
        load_dtype="float32",
    ),
}


def backend_spec(name: str) -> BackendSpec:
    """The registry entry for ``name`` (the options have already checked that it is one)."""
    return BACKENDS[name]


def install_hint(spec: BackendSpec) -> str:
    return f"pip install 'spacy-goemotions[{spec.package}]' (or: pip install {spec.package})"


def check_backend_options(backend: str, *, device: str, compile: bool | str, packing: bool | None) -> None:
    """The backend's rules on the other options, applied when options are built (no import, no machine check)."""
    spec = BACKENDS[backend]
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


def require_backend_package(name: str) -> None:
    """Fail with the install command when the backend's package is missing here (checked where it will run)."""
    spec = BACKENDS[name]
    if spec.package is not None and importlib.util.find_spec(spec.package) is None:
        raise ConfigurationError(
            f"backend={spec.name!r} needs the {spec.package} package: {install_hint(spec)}. Or use backend='torch'.",
            options=("backend",),
        )
