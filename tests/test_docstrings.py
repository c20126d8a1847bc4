"""The API reference is complete: every object the site's reference pages show has a docstring in one style.

The pages under docs/reference/ name the public API (``::: spacy_goemotions.X``); for each object there, and for
the public methods of each class, the Google-style docstring must have a summary, an ``Args`` entry for every
parameter, a ``Returns`` (or ``Yields``) section where something is returned, and (for the objects the pages
name) an ``Examples`` section. mkdocstrings only renders what is written; this test is what makes a missing
entry fail.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

griffe = pytest.importorskip("griffe", reason="the docs extra (pip install -e '.[docs]') checks the docstrings")

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference"
#: Constructors that users never call: pandas, Dask and Polars build accessors and namespaces themselves.
NOT_CALLED_BY_USERS = re.compile(r"(Accessor|Namespace)$")


def reference_identifiers() -> list[str]:
    found: list[str] = []
    for page in sorted(REFERENCE.glob("*.md")):
        found += re.findall(r"^::: (\S+)", page.read_text(encoding="utf-8"), re.MULTILINE)
    return found


@pytest.fixture(scope="module")
def package() -> Any:
    return griffe.load("spacy_goemotions", search_paths=[str(ROOT)], docstring_parser="google", resolve_aliases=True)


def _sections(obj: Any) -> dict[str, Any]:
    if obj.docstring is None:
        return {}
    return {section.kind.value: section for section in obj.docstring.parse("google", warnings=False)}


def _documented(sections: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for kind in ("parameters", "attributes", "other parameters"):
        if kind in sections:
            names |= {item.name.lstrip("*") for item in sections[kind].value}
    return names


def _problems(obj: Any, named_on_a_page: bool) -> Iterator[str]:
    obj = obj.final_target if obj.is_alias else obj
    if obj.docstring is None or not obj.docstring.value.strip():
        yield f"{obj.path}: no docstring"
        return
    sections = _sections(obj)
    if obj.is_class:
        init = obj.members.get("__init__")
        if init is not None and not init.is_alias and not NOT_CALLED_BY_USERS.search(obj.name):
            parameters = [p.name for p in init.parameters if p.name not in ("self", "cls")]
            missing = [name for name in parameters if name not in _documented(sections)]
            if missing:
                yield f"{obj.path}: Args does not describe {missing}"
        for member in obj.members.values():
            if not member.name.startswith("_") and not member.is_alias and member.is_function:
                yield from _problems(member, False)
    elif obj.is_function and "property" not in obj.labels:
        parameters = [p.name for p in obj.parameters if p.name not in ("self", "cls")]
        missing = [name for name in parameters if name not in _documented(sections)]
        if missing:
            yield f"{obj.path}: Args does not describe {missing}"
        returns = str(obj.returns) if obj.returns is not None else "None"
        if returns not in ("None", "NoReturn") and not {"returns", "yields"} & sections.keys():
            yield f"{obj.path}: no Returns section (it returns {returns})"
    if named_on_a_page and (obj.is_class or obj.is_function) and "examples" not in sections:
        yield f"{obj.path}: no Examples section"


def test_every_reference_page_names_objects_that_exist(package: Any) -> None:
    identifiers = reference_identifiers()
    assert len(identifiers) >= 30, identifiers
    for identifier in identifiers:
        assert package[identifier.removeprefix("spacy_goemotions.")] is not None, identifier


def test_the_public_api_has_complete_docstrings(package: Any) -> None:
    problems: list[str] = []
    for identifier in reference_identifiers():
        obj = package[identifier.removeprefix("spacy_goemotions.")]
        if obj.is_module:
            for member in obj.members.values():
                if not member.name.startswith("_") and not member.is_alias and (member.is_class or member.is_function):
                    problems += _problems(member, False)
        else:
            problems += _problems(obj, True)
    assert not problems, "\n".join(problems)


def _import(identifier: str) -> Any:
    """The Python object of a reference identifier (``spacy_goemotions.core.engine.Engine``)."""
    module_name, attribute = identifier, None
    while True:
        try:
            module = importlib.import_module(module_name)
            break
        except ModuleNotFoundError as error:
            if error.name is not None and not error.name.startswith("spacy_goemotions"):
                raise
            module_name, _, last = module_name.rpartition(".")
            attribute = last if attribute is None else f"{last}.{attribute}"
    obj: Any = module
    for part in (attribute or "").split(".") if attribute else []:
        obj = getattr(obj, part)
    return obj


def test_the_docstring_examples_are_right() -> None:
    """Every example not marked ``# doctest: +SKIP`` (those load a model or need a cluster) prints what it shows."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    examples = 0
    for identifier in reference_identifiers():
        try:
            obj = _import(identifier)
        except ModuleNotFoundError as missing:  # an integration whose extra is not installed here
            pytest.importorskip(missing.name or "", reason=f"{identifier} needs an optional extra")
        module = obj if inspect.ismodule(obj) else inspect.getmodule(obj)
        for test in finder.find(obj, identifier.rsplit(".", 1)[-1], module=module, globs=dict(vars(module))):
            examples += sum(not example.options.get(doctest.SKIP) for example in test.examples)
            runner.run(test)
    assert examples >= 10, examples
    assert runner.failures == 0, f"{runner.failures} docstring examples failed (see the output above)"
