"""The ``goemotions`` factory: what spaCy calls for ``add_pipe`` and ``spacy.load``, and the config it checks.

The factory's signature, which spaCy validates configs against, is built from the component's settings and
every field of :class:`~spacy_goemotions.core.options.ClassifierOptions`: one definition of the options.
"""

from __future__ import annotations

import inspect
import os
import types
import typing
from typing import Any, Literal, Union

from spacy.language import Language

from ...core.options import ClassifierOptions, option_fields
from .component import SCORE_WEIGHTS, SCORER_DEFAULT, EmotionComponent

__all__ = ["DEFAULT_CONFIG", "make_goemotions"]


def make_goemotions(nlp: Language, name: str, **config: Any) -> EmotionComponent:
    """Build the ``goemotions`` component (spaCy calls this for ``add_pipe`` and ``spacy.load``).

    Validates every value and loads no model. See :class:`EmotionComponent` and the config keys
    table of the docs' spaCy page; the keys spaCy checks a config against are this function's signature, built from
    the component's settings and :class:`~spacy_goemotions.core.ClassifierOptions`.

    Args:
        nlp: the pipeline the component joins.
        name: its name in the pipeline.
        **config: the config keys (the component's settings and the classifier options).

    Returns:
        the component.

    Examples:
        >>> nlp.add_pipe("goemotions", config={"threshold": "model_card", "top_k": 3})  # doctest: +SKIP
    """
    return EmotionComponent(nlp.vocab, name, **config)


def _config_type(annotation: Any) -> Any:
    """The type spaCy validates a key against: ``str`` for choices (so that our own message, which
    names the choices and a right example, reports a wrong one) and for paths (configs hold strings)."""
    origin = typing.get_origin(annotation)
    if origin is Literal or origin is os.PathLike:
        return str
    if origin in (Union, types.UnionType):
        loosened = tuple(dict.fromkeys(_config_type(argument) for argument in typing.get_args(annotation)))
        return loosened[0] if len(loosened) == 1 else Union[loosened]  # noqa: UP007 (built from a tuple)
    return annotation


def _factory_signature() -> tuple[inspect.Signature, dict[str, Any]]:
    """The factory's parameters and default config: the component's settings, then every classifier option."""
    component = inspect.signature(EmotionComponent.__init__, eval_str=True).parameters.values()
    settings = [p for p in component if p.kind is p.KEYWORD_ONLY and p.name != "options"]
    hints = typing.get_type_hints(ClassifierOptions)
    keyword = inspect.Parameter.KEYWORD_ONLY
    options = [inspect.Parameter(f.name, keyword, annotation=_config_type(hints[f.name])) for f in option_fields()]
    positional = [
        inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=t) for n, t in (("nlp", Language), ("name", str))
    ]
    parameters = [*positional, *options, *(p.replace(default=inspect.Parameter.empty) for p in settings)]
    defaults = {f.name: f.default for f in option_fields()} | {p.name: p.default for p in settings} | {"scorer": SCORER_DEFAULT}
    return inspect.Signature(parameters, return_annotation=EmotionComponent), defaults


FACTORY_SIGNATURE, DEFAULT_CONFIG = _factory_signature()
make_goemotions.__signature__ = FACTORY_SIGNATURE  # type: ignore[attr-defined]
Language.factory(
    "goemotions", assigns=["doc.cats", "doc._.emotions"], default_config=DEFAULT_CONFIG, default_score_weights=SCORE_WEIGHTS
)(make_goemotions)
