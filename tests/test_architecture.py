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
ARCHITECTURE = PACKAGE.parent / "docs" / "ARCHITECTURE.md"
#: The names docs/ARCHITECTURE.md uses for what a layer must not import, as module names.
DOC_NAMES = {
    "spaCy": "spacy", "pandas": "pandas", "Dask": "dask", "Ray": "ray", "Polars": "polars", "DuckDB": "duckdb",
    "Spark": "pyspark", "pyarrow": "pyarrow", "the package root": "spacy_goemotions",
}  # fmt: skip


def forbidden_imports() -> dict[str, set[str]]:
    """What each layer may not import, read from the layer table of docs/ARCHITECTURE.md (so the two cannot drift)."""
    rows = [line for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    order = [row.split("|")[1].strip().strip("`").rstrip("/") for row in rows]
    forbidden: dict[str, set[str]] = {}
    for position, row in enumerate(rows):
        layer, never = order[position], row.split("|")[3]
        names: set[str] = set()
        for item in (part.strip() for part in never.split(",") if part.strip()):
            if item == "any layer above":
                names.update(f"spacy_goemotions.{above}" for above in order[position + 1 :])
            elif item.startswith("`"):
                names.add(f"spacy_goemotions.{item.strip('`').rstrip('/')}")
            else:
                names.add(DOC_NAMES[item])  # a KeyError here: the doc names something this test does not know
        forbidden[layer] = names
    return forbidden


FORBIDDEN = forbidden_imports()


def test_the_rules_come_from_the_documented_table() -> None:
    assert set(FORBIDDEN) == {"core", "backends", "files", "evaluation", "visual", "training", "annotation", "distillation", "integrations",
                             "cli"}
    assert "spacy_goemotions.evaluation" in FORBIDDEN["visual"] and "spacy_goemotions.backends" in FORBIDDEN["core"]
    assert "spacy_goemotions.cli" in FORBIDDEN["backends"] and "spacy_goemotions" in FORBIDDEN["files"]


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
                # The package root is forbidden as itself (`from spacy_goemotions import x`), not as its submodules.
                below = forbidden != "spacy_goemotions" and module.startswith(forbidden + ".")
                if module == forbidden or below or (forbidden == "spacy_goemotions" and _root_attribute(module)):
                    offences.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert offences == []


def _root_attribute(module: str) -> bool:
    """``spacy_goemotions.NAME`` where NAME is not a module of its own (a name the package root exports)."""
    parts = module.split(".")
    if len(parts) != 2 or parts[0] != "spacy_goemotions":
        return False
    return not ((PACKAGE / f"{parts[1]}.py").exists() or (PACKAGE / parts[1]).is_dir())


def _module_files() -> dict[str, Path]:
    return {".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): path
            for path in PACKAGE.rglob("*.py")}  # fmt: skip


def _import_time_edges(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules a file imports when it is imported: module-level statements only, not inside
    functions nor under ``if TYPE_CHECKING``, and not its own package (``__init__`` files only re-export)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level)[0]
            module = f"{base}.{node.module}" if node.module else base
            candidates = [f"{module}.{alias.name}" for alias in node.names] + [module]
            found.update(name for name in candidates if name in modules)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("spacy_goemotions"):
            names = [node.module or "", *(f"{node.module}.{alias.name}" for alias in node.names)]
            found.update(name for name in names if name in modules)
    own = package.removesuffix(".__init__")
    return {name for name in found if name != own and not own.startswith(name + ".")}


def test_no_two_modules_import_each_other_at_import_time() -> None:
    modules = _module_files()
    edges = {name: _import_time_edges(path, modules) for name, path in modules.items() if path.name != "__init__.py"}
    cycles = []
    for start in edges:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in edges.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join([*trail, start]))
                elif nxt not in seen and nxt in edges:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    assert cycles == []


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
        "'tqdm', 'pandas') if m in sys.modules), 'accessor': hasattr(__import__('pandas').DataFrame, 'emotions')}))"
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
