"""Command-line flags built from the library's own option definitions, and errors told in flags.

Every command that scores takes the classifier options as flags generated from
:class:`~spacy_goemotions.core.ClassifierOptions` (``batch_size`` becomes ``--batch-size``, with its
default and help text), so a new option is a new flag with no edit here. Library errors name options
in library terms (``prefix='emo_'``); :func:`command_line_message` says them as flags (``--prefix emo_``).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

from ..core.options import ClassifierOptions, option_fields
from ..core.table import TableOptions
from ..errors import ConfigurationError, GoEmotionsError

_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def flag_name(option: str) -> str:
    """``batch_size`` -> ``--batch-size``."""
    return "--" + option.replace("_", "-")


def _switch(*, auto: Any) -> Any:
    """A parser for ``auto``/``true``/``false``; ``auto`` stands for the option's automatic value."""

    def parse(text: str) -> Any:
        word = text.strip().lower()
        if word == "auto":
            return auto
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise argparse.ArgumentTypeError(f"expected auto, true or false, got {text!r}")

    parse.__name__ = "auto/true/false"
    return parse


def _argument(field: dataclasses.Field[Any], hint: Any) -> dict[str, Any]:
    """argparse keywords for one option, from its type: choices, numbers, strings, or auto/true/false switches."""
    arguments = typing.get_args(hint)
    default = field.default
    shown = str(default).lower() if isinstance(default, bool) else default
    help_text = field.metadata.get("help", field.name) + ("" if default is None else f" (default: {shown})")
    if field.metadata.get("choices"):
        help_text = f"{', '.join(field.metadata['choices'])}: {help_text}"
    kwargs: dict[str, Any] = {"default": default, "help": help_text, "dest": field.name}
    if typing.get_origin(hint) is Literal:
        return {**kwargs, "choices": arguments}
    if hint is int or set(arguments) == {int, type(None)}:
        return {**kwargs, "type": int, "metavar": "N"}
    if bool in arguments:
        automatic = "auto" if any(typing.get_origin(a) is Literal for a in arguments) else None
        return {**kwargs, "type": _switch(auto=automatic), "metavar": "{auto,true,false}"}
    if hint is str or typing.get_origin(hint) in (Union, types.UnionType):
        return {**kwargs, "type": str}
    raise TypeError(f"The option {field.name!r} has a type ({hint}) with no command-line form; add one to {__name__}.")


def add_classifier_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """One flag per field of :class:`ClassifierOptions`."""
    hints = typing.get_type_hints(ClassifierOptions)
    for field in option_fields():
        parser.add_argument(flag_name(field.name), **_argument(field, hints[field.name]))


def classifier_options(args: argparse.Namespace) -> ClassifierOptions:
    """The validated options the flags of :func:`add_classifier_arguments` gave."""
    return ClassifierOptions(**{field.name: getattr(args, field.name) for field in option_fields()})


def threshold_value(value: str) -> float | str:
    """``--threshold``: a number, or a preset name or JSON path (validated by ``ThresholdPolicy``)."""
    try:
        return float(value)
    except ValueError:
        return value


def add_policy_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--threshold`` and ``--top-k``, as every command that selects labels takes them."""
    parser.add_argument(
        "--threshold",
        type=threshold_value,
        default=0.5,
        help="a float in [0, 1], a preset (model_card, tuned, ...) or a thresholds JSON file (default: 0.5)",
    )
    parser.add_argument("--top-k", type=int, metavar="K", help="keep at most K labels per text, highest first")


def add_group_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, purpose: str) -> None:
    """``--taxonomy`` (repeatable, or comma-separated), ``--group-threshold`` and ``--group-top-k``."""
    parser.add_argument(
        "--taxonomy",
        action="append",
        metavar="NAME",
        dest="taxonomy",
        help=f"{purpose}: ekman, sentiment, a registered name or a JSON file of {{group: [labels]}}; repeat for several",
    )
    parser.add_argument(
        "--group-threshold",
        type=threshold_value,
        default=0.5,
        metavar="T",
        help="the groups' threshold: a float, or a thresholds JSON from tune-thresholds --taxonomy (default: 0.5)",
    )
    parser.add_argument("--group-top-k", type=int, metavar="K", help="keep at most K groups per text and taxonomy")


def taxonomy_names(args: argparse.Namespace) -> list[str] | None:
    """``--taxonomy a --taxonomy b,c`` as ``["a", "b", "c"]`` (None when not given)."""
    given = getattr(args, "taxonomy", None)
    return [name.strip() for value in given for name in value.split(",") if name.strip()] if given else None


def table_options(args: argparse.Namespace) -> TableOptions:
    """The policy, group and column-name flags as :class:`TableOptions` (those the command has)."""
    return TableOptions(
        threshold=args.threshold,
        top_k=args.top_k,
        prefix=getattr(args, "prefix", ""),
        labels_column=getattr(args, "labels_column", "emotions"),
        taxonomy=taxonomy_names(args),
        group_threshold=getattr(args, "group_threshold", 0.5),
        group_top_k=getattr(args, "group_top_k", None),
    )


def command_line_message(
    error: GoEmotionsError, parser: argparse.ArgumentParser, aliases: Mapping[str, str] | None = None
) -> str:
    """The error's message with the options it names written as this command's flags.

    ``name=value`` and ``name='value'`` become ``--flag value``, ``name=True`` of a switch ``--flag``,
    and a bare ``name=`` ``--flag``; ``aliases`` map a whole ``name=value`` to a flag of its own
    (``{"keep_columns=None": "--all-columns"}``). Only the options the error names are rewritten.
    """
    message = str(error)
    flags = {action.dest: action.option_strings[-1] for action in parser._actions if action.option_strings}
    for spelled, alias in (aliases or {}).items():
        message = message.replace(spelled, alias)
    for name in error.options:
        flag = flags.get(name)
        if flag is None:
            continue
        message = re.sub(rf"\b{name}=True\b", flag, message)
        message = re.sub(rf"\b{name}='([^']*)'", rf"{flag} \1", message)
        message = re.sub(rf"\b{name}=(\w[\w:/-]*(?:\.\w+)*)", rf"{flag} \1", message)
        message = re.sub(rf"\b{name}=", flag, message)
    return message


def check_limit(limit: int | None) -> None:
    """``--limit`` (rows to use) must be a positive count."""
    if limit is not None and limit < 1:
        raise ConfigurationError(f"--limit must be an integer >= 1, got {limit!r}. Example: --limit 100")


def print_error(command: str, message: str) -> None:
    print(f"spacy-goemotions {command}: error: {message}", file=sys.stderr, flush=True)
