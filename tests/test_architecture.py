"""The layout holds: layers import downwards only, importing the package is light, modules stay small.

See docs/ARCHITECTURE.md for the layers and the rules these tests check.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "spacy_goemotions"
#: What each layer may not import: third-party integrations below them, and the layers above.
#: The core finds backends through its registry (module names as strings), never by importing one.
FORBIDDEN = {
    "core": {"spacy", "pandas", "dask", "ray", "polars", "duckdb", "pyspark", "pyarrow", "spacy_goemotions.backends", "spacy_goemotions.integrations",
             "spacy_goemotions.files", "spacy_goemotions.evaluation", "spacy_goemotions.visual", "spacy_goemotions.cli"},
    "backends": {"spacy", "pandas", "dask", "ray", "polars", "duckdb", "pyspark", "spacy_goemotions.integrations", "spacy_goemotions.files",
                 "spacy_goemotions.evaluation", "spacy_goemotions.visual", "spacy_goemotions.cli"},
    "files": {"spacy", "pandas", "dask", "ray", "polars", "duckdb", "pyspark", "spacy_goemotions.integrations", "spacy_goemotions.visual",
              "spacy_goemotions.cli"},
    "visual": {"pandas", "dask", "ray", "polars", "duckdb", "pyspark", "spacy_goemotions.integrations", "spacy_goemotions.files",
               "spacy_goemotions.cli"},
    "evaluation": {"pandas", "dask", "ray", "polars", "duckdb", "pyspark", "spacy_goemotions.integrations", "spacy_goemotions.files", "spacy_goemotions.cli"},
    "integrations": {"spacy_goemotions.cli", "spacy_goemotions.files"},
}  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions, as absolute dotted names."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)  # "a.b.__init__" for a package
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level)[0]
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def layer_files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_lies_below_it(layer: str) -> None:
    assert layer_files(layer), layer
    offences = []
    for path in layer_files(layer):
        for module in imported_modules(path):
            for forbidden in FORBIDDEN[layer]:
                if module == forbidden or module.startswith(forbidden + "."):
                    offences.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert offences == []


def test_the_import_parser_sees_relative_and_function_level_imports(tmp_path: Path) -> None:
    """The check above would pass vacuously if the parser missed imports: it does not."""
    found = imported_modules(PACKAGE / "core" / "classifier.py")
    assert "spacy_goemotions.core.backend.create_backend" in found  # a relative import at the top
    assert "spacy_goemotions.core.loading.load_model" in found  # a relative import inside a function
    assert "spacy" in imported_modules(PACKAGE / "integrations" / "spacy" / "component.py")
    assert "spacy_goemotions.core.backend" in imported_modules(PACKAGE / "backends" / "torch_eager.py")


@pytest.mark.slow
def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, time; started = time.perf_counter(); import spacy_goemotions; "
        "import json; print(json.dumps({'seconds': time.perf_counter() - started, "
        "'modules': sorted(m for m in ('torch', 'transformers', 'tokenizers', 'spacy', 'dask', 'ray', 'openvino', "
        "'tqdm') if m in sys.modules), 'accessor': hasattr(__import__('pandas').DataFrame, 'emotions')}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(done.stdout)
    assert result["modules"] == [] and result["accessor"] is True


def test_no_module_is_a_room_for_several_jobs() -> None:
    lengths = {
        str(path.relative_to(PACKAGE)): len(path.read_text(encoding="utf-8").splitlines()) for path in PACKAGE.rglob("*.py")
    }
    assert {name: n for name, n in lengths.items() if n > 500} == {}


@pytest.mark.parametrize("layer", ["core", "backends"])
def test_functions_of_the_core_and_backends_stay_short(layer: str) -> None:
    long = []
    for path in layer_files(layer):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 80:
                long.append(f"{path.relative_to(PACKAGE)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert long == []


def test_registered_names_stay_stable() -> None:
    """Saved pipelines and configs name these; renaming one would break them."""
    from importlib.metadata import entry_points

    import spacy

    factories = {ep.name: ep.value for ep in entry_points(group="spacy_factories")}
    scorers = {ep.name: ep.value for ep in entry_points(group="spacy_scorers")}
    assert factories["goemotions"] == "spacy_goemotions.integrations.spacy:make_goemotions"
    assert scorers["spacy_goemotions.scorer.v1"] == "spacy_goemotions.integrations.spacy:make_emotion_scorer"
    assert spacy.registry.scorers.get("spacy_goemotions.scorer.v1")().__name__ == "score_emotions"
    from spacy_goemotions import threshold_presets

    assert threshold_presets.namespace == ("spacy_goemotions", "threshold_presets")
    assert "model_card" in threshold_presets.get_all()


def test_every_choosable_backend_is_registered_and_importable() -> None:
    import importlib
    import typing

    from spacy_goemotions.core.backend_registry import BACKENDS
    from spacy_goemotions.core.options import BackendName

    assert set(typing.get_args(BackendName)) == set(BACKENDS)
    for spec in BACKENDS.values():
        if spec.module is None:  # "auto": resolved to another backend before anything is built
            continue
        if spec.package is None or importlib.util.find_spec(spec.package) is not None:
            assert callable(importlib.import_module(spec.module).create_backend), spec.name
