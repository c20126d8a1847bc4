"""``.emotions`` on pandas, Dask and Polars frames after ``import spacy_goemotions``, in either import order.

Each case runs in a fresh interpreter: import order is a property of a process, and this test process
has long imported everything.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap

import pytest

HAS_DASK = importlib.util.find_spec("dask") is not None
HAS_POLARS = importlib.util.find_spec("polars") is not None

CHECKS = {
    "pandas": (
        "import pandas as pd",
        "assert hasattr(pd.DataFrame, 'emotions') and hasattr(pd.Series, 'emotions'), 'no df.emotions'",
    ),
    "dask": ("import dask.dataframe as dd", "assert hasattr(dd.DataFrame, 'emotions'), 'no ddf.emotions'"),
    "polars": (
        "import polars as pl",
        "assert hasattr(pl.DataFrame, 'emotions') and hasattr(pl.LazyFrame, 'emotions') "
        "and hasattr(pl.Series, 'emotions'), 'no pl.*.emotions'",
    ),
}


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300, check=False
    )


def library_available(library: str) -> bool:
    return {"pandas": True, "dask": HAS_DASK, "polars": HAS_POLARS}[library]


@pytest.mark.slow
@pytest.mark.parametrize("library", ["pandas", "dask", "polars"])
@pytest.mark.parametrize("package_first", [True, False], ids=["package-first", "library-first"])
def test_the_accessor_exists_whichever_import_comes_first(library: str, package_first: bool) -> None:
    if not library_available(library):
        pytest.skip(f"{library} is not installed (pip install -e '.[{library}]')")
    import_library, check = CHECKS[library]
    imports = ["import spacy_goemotions", import_library]
    if not package_first:
        imports.reverse()
    done = run_python("\n".join([*imports, check, "print('ok')"]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.slow
def test_importing_the_package_imports_no_dataframe_library_nor_torch() -> None:
    done = run_python(
        """
        import sys
        import spacy_goemotions
        heavy = ("pandas", "dask", "dask.dataframe", "polars", "duckdb", "pyspark", "torch", "transformers", "spacy")
        loaded = [name for name in heavy if name in sys.modules]
        assert not loaded, loaded
        assert any(type(f).__name__ == "_PostImportFinder" for f in sys.meta_path)
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
@pytest.mark.skipif(not (HAS_POLARS and HAS_DASK), reason="needs polars and dask (pip install -e '.[polars,dask]')")
def test_the_hook_removes_itself_once_every_library_is_registered_and_modules_keep_their_loader() -> None:
    done = run_python(
        """
        import sys
        import spacy_goemotions
        import polars, dask.dataframe
        assert not any(type(f).__name__ == "_PostImportFinder" for f in sys.meta_path), sys.meta_path
        for module in (polars, dask.dataframe):
            assert type(module.__loader__).__name__ != "_RegisteringLoader", module.__loader__
            assert type(module.__spec__.loader).__name__ != "_RegisteringLoader"
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_a_failing_integration_warns_and_leaves_the_library_import_working() -> None:
    done = run_python(
        """
        import sys, types, warnings
        sys.modules["broken_integration"] = None  # importing it raises ImportError
        from spacy_goemotions.integrations import registration
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            registration.register_when_imported({"json": "broken_integration"})  # json: already imported
            registration.register_when_imported({"colorsys": "broken_integration"})  # not yet imported
            import colorsys
        assert colorsys.rgb_to_hsv(1, 0, 0)[0] == 0.0
        messages = [str(w.message) for w in caught]
        assert len(messages) == 2 and all("import broken_integration" in m for m in messages), messages
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
