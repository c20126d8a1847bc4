"""What runs the model: one module per backend, behind the interface of :mod:`.base`.

The registry below names each backend users can choose with ``backend=``, says what it needs, and
where its implementation lives; that module is imported only when a model first runs, so choosing
and validating a backend imports neither torch nor OpenVINO. A new backend is one more module with a
``create_backend(options, loaded)`` function and one more entry here (and its name in
``core.options.BackendName``).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..core.loading import LoadedModel
    from ..core.options import ClassifierOptions
    from .base import Backend


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
    "torch": BackendSpec("torch", f"{__name__}.torch_eager"),
    # OpenVINO converts the float32 torch model and compiles it in the precision ``dtype`` asks for.
    "openvino": BackendSpec(
        "openvino", f"{__name__}.openvino", package="openvino", cpu_only=True, own_compiler=True, load_dtype="float32"
    ),
}


def backend_spec(name: str) -> BackendSpec:
    """The registry entry for ``name`` (the options have already checked that it is one)."""
    return BACKENDS[name]


def install_hint(spec: BackendSpec) -> str:
    return f"pip install 'spacy-goemotions[{spec.package}]' (or: pip install {spec.package})"


def check_backend_options(options: ClassifierOptions) -> None:
    """The backend's rules on the other options, applied when options are built (no import, no machine check)."""
    spec = BACKENDS[options.backend]
    if spec.cpu_only and options.device.strip().lower() not in ("auto", "cpu"):
        raise ConfigurationError(
            f"backend={spec.name!r} runs on the CPU, got device={options.device!r}. "
            "Use device='cpu', or backend='torch' for GPUs.",
            options=("backend", "device"),
        )
    if spec.own_compiler and (options.compile is True or options.packing is True):
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


def create_backend(options: ClassifierOptions, loaded: LoadedModel) -> Backend[Any]:
    """Build the backend ``options`` ask for, over an already loaded model."""
    module = importlib.import_module(BACKENDS[options.backend].module)
    backend: Backend[Any] = module.create_backend(options, loaded)
    return backend
