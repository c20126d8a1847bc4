"""``df.emotions``, ``ddf.emotions`` and ``pl.DataFrame.emotions`` after ``import spacy_goemotions``, whatever the import order.

An accessor can only be registered on a class that exists, and importing this package must never
import pandas, Dask or Polars (a quarter of a second to seconds of start-up for users who never touch
them, such as a process that only scores texts). So
:func:`register_when_imported` registers each integration at once when its library is already
imported, and otherwise installs a post-import hook: a finder at the front of ``sys.meta_path`` that,
when the library is first imported, wraps its loader so that the integration module is imported right
after the library's own module has run. The hook then removes itself.

The wrapped loader puts the library's own loader back on the module before running it, so that nothing
the library does with ``__loader__`` or ``__spec__.loader`` can tell the difference (as ``wrapt``'s
``when_imported`` does). A failure to register never breaks the user's import: it becomes a warning that
names the integration module to import by hand, which then raises the real error.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__ = ["INTEGRATIONS", "register_when_imported"]

#: library module -> the integration module that registers its ``.emotions`` accessor.
INTEGRATIONS: dict[str, str] = {
    "pandas": "spacy_goemotions.integrations.pandas",
    "dask.dataframe": "spacy_goemotions.integrations.dask",
    "polars": "spacy_goemotions.integrations.polars",
}

_lock = threading.Lock()
_pending: dict[str, str] = {}


def register_when_imported(integrations: dict[str, str] = INTEGRATIONS) -> None:
    """Register each integration now if its library is imported, else as soon as it is (idempotent)."""
    now = []
    with _lock:
        for library, integration in integrations.items():
            if library in sys.modules:
                now.append(integration)
            else:
                _pending[library] = integration
        if _pending and not any(isinstance(finder, _PostImportFinder) for finder in sys.meta_path):
            sys.meta_path.insert(0, _PostImportFinder())
    for integration in now:
        _register(integration)


def _register(integration: str) -> None:
    try:
        importlib.import_module(integration)
    except Exception as error:  # never break the user's own import of the library
        warnings.warn(
            f"spacy-goemotions could not register its .emotions accessor ({type(error).__name__}: {error}). "
            f"`import {integration}` shows the full error.",
            RuntimeWarning,
            stacklevel=3,
        )


class _PostImportFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for a watched library, asks the finders after it and wraps the loader they give."""

    _searching = threading.local()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        with _lock:
            integration = _pending.get(fullname)
        searching: set[str] = self._searching.__dict__.setdefault("names", set())
        if integration is None or fullname in searching:
            return None
        searching.add(fullname)
        try:
            spec = _find_with_others(self, fullname, path, target)
        finally:
            searching.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        with _lock:
            if _pending.pop(fullname, None) is None:  # another thread got here first
                return spec
            if not _pending:
                _remove_finder()
        spec.loader = _RegisteringLoader(spec.loader, integration)
        return spec


def _find_with_others(
    hook: _PostImportFinder, fullname: str, path: Sequence[str] | None, target: ModuleType | None
) -> importlib.machinery.ModuleSpec | None:
    for finder in list(sys.meta_path):
        if finder is hook or not hasattr(finder, "find_spec"):
            continue
        spec: importlib.machinery.ModuleSpec | None = finder.find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


def _remove_finder() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _PostImportFinder)]


class _RegisteringLoader(importlib.abc.Loader):
    """The library's loader, then the integration's import once the library's module has run."""

    def __init__(self, loader: Any, integration: str) -> None:
        self._loader = loader
        self._integration = integration

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self._loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._loader
        if module.__spec__ is not None and module.__spec__.loader is self:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _register(self._integration)
