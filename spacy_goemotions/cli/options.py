"""Command-line flags built from the library's own option definitions, and errors told in flags.

Every command that scores takes the classifier options as flags generated from
:class:`~spacy_goemotions.core.ClassifierOptions` (``batch_size`` becomes ``--batch-size``, with its
default and help text), so a new option is a new flag with no edit here. Library errors name options
in library terms (``prefix='emo_'``) and list them in their ``options`` field; :class:`Flags`, built
from a command's own flag definitions, says them as that command's flags (``--prefix emo_``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union

from ..core.options import ClassifierOptions, option_fields
from ..core.table import TableOptions
from ..errors import GoEmotionsError

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
    """``--threshold``: a number in [0, 1], a preset name or a JSON file (whose content ``ThresholdPolicy`` checks)."""
    from ..core.thresholds import available_presets

    try:
        number = float(value)
    except ValueError:
        if value in available_presets() or os.path.isfile(value):
            return value
        raise argparse.ArgumentTypeError(
            f"expected a number in [0, 1], a preset ({', '.join(available_presets())}) or a thresholds JSON file, "
            f"got {value!r} (no such file)"
        ) from None
    if not 0.0 <= number <= 1.0:  # NaN too
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1] (scores are probabilities), got {value}")
    return number


def add_policy_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--threshold`` and ``--top-k``, as every command that selects labels takes them."""
    parser.add_argument(
        "--threshold",
        type=threshold_value,
        default=0.5,
        help="a float in [0, 1], a preset (model_card, tuned, ...) or a thresholds JSON file (default: 0.5)",
    )
    parser.add_argument("--top-k", type=positive_int, metavar="K", help="keep at most K labels per text, highest first")


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
    parser.add_argument("--group-top-k", type=positive_int, metavar="K", help="keep at most K groups per text and taxonomy")


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


def positive_int(text: str) -> int:
    """An argparse type for counts (``--limit``, ``--bars``): an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


#: Characters that continue an identifier: a name preceded by one is part of a longer name.
_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def shell_word(value: Any) -> str:
    """A value as a command line takes it: ``True`` -> ``true``, ``["a", "b"]`` -> ``a,b``, quoted if needed."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return shlex.quote(",".join(str(item) for item in value))
    return shlex.quote(str(value))


@dataclass(frozen=True)
class Flags:
    """How one command says the library's options: its flags, from its own option definitions.

    Attributes:
        flags: library option name -> the command's flag (``{"batch_size": "--batch-size"}``): the
            ``dest`` of each flag is the library name, as :func:`add_classifier_arguments` defines them.
        switches: the options whose flag takes no value (``--resume``): ``resume=True`` is the bare flag.
        aliases: ``{option: {value: flag}}`` for a value the command says with a flag of its own
            (``{"keep_columns": {None: "--all-columns"}}``), from the parser default ``option_aliases``.
    """

    flags: Mapping[str, str]
    switches: frozenset[str] = frozenset()
    aliases: Mapping[str, Mapping[Any, str]] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, parser: argparse.ArgumentParser) -> Flags:
        """The flags of ``parser``: the last (long) spelling of each optional argument, by destination."""
        actions = [action for action in parser._actions if action.option_strings and action.dest != "help"]
        return cls(
            flags={action.dest: action.option_strings[-1] for action in actions},
            switches=frozenset(action.dest for action in actions if action.nargs == 0),
            aliases=parser.get_default("option_aliases") or {},
        )

    def assignment(self, option: str, value: Any) -> str:
        """``option=value`` as this command's words: ``--chunk-rows 10000``, ``--resume``, ``--all-columns``."""
        flag = self.flags[option]
        for known, alias in self.aliases.get(option, {}).items():
            if known == value:
                return alias
        if option in self.switches and value is True:
            return flag
        return f"{flag} {shell_word(value)}"

    def message(self, error: GoEmotionsError) -> str:
        """The error's message with the options it names (``error.options``) said as this command's flags.

        Each mention of a named option that starts a word is rewritten: an assignment of a value the
        error carries (its ``value``, its ``example``, an alias, ``True`` of a switch) becomes the
        command's words for it (``chunk_rows=10000`` -> ``--chunk-rows 10000``); any other ``name=``
        becomes the flag followed by the rest as written (``prefix='x'`` -> ``--prefix 'x'``, which a
        shell reads as ``--prefix x``); the name as the message's first word becomes the flag. Options
        the command has no flag for stay as they are.

        Examples:
            >>> flags = Flags({"chunk_rows": "--chunk-rows"})
            >>> flags.message(GoEmotionsError("chunk_rows must be >= 1. Example: chunk_rows=10000", options=("chunk_rows",)))
            '--chunk-rows must be >= 1. Example: --chunk-rows 10000'
        """
        message = str(error)
        for option in error.options:
            if option in self.flags:
                message = self._rewrite(message, option, self._known_values(error, option))
        return message

    def _known_values(self, error: GoEmotionsError, option: str) -> dict[str, str]:
        """``{literal as the message writes it: the command's words}`` for the values the error tells about."""
        values: list[Any] = list(self.aliases.get(option, {}))
        if option in self.switches:
            values.append(True)
        if error.value is not None and error.options[:1] == (option,):
            values.append(error.value)
        if option in error.example:
            values.append(error.example[option])
        # Longest literal first: "10000" must win over "1".
        return {repr(value): self.assignment(option, value) for value in sorted(values, key=lambda v: -len(repr(v)))}

    def _rewrite(self, message: str, option: str, known: Mapping[str, str]) -> str:
        flag, pieces, start = self.flags[option], [], 0
        for at in _word_starts(message, option):
            end = at + len(option)
            pieces.append(message[start:at])
            if message.startswith("=", end):
                rest = message[end + 1 :]
                literal = next((text for text in known if rest.startswith(text) and _ends_word(rest, len(text))), None)
                if literal is not None:
                    pieces.append(known[literal])
                    start = end + 1 + len(literal)
                    continue
                # A keyword (`prefix=`) or a value the error does not carry: the flag, then the value as written.
                pieces.append(flag if _ends_word(rest, 0) else f"{flag} ")
                start = end + 1
            elif at == 0 and message.startswith(" ", end):  # the subject: "batch_size must be ..."
                pieces.append(flag)
                start = end
            else:  # a mention in the prose ("the text_column"): left as it is
                pieces.append(option)
                start = end
        pieces.append(message[start:])
        return "".join(pieces)


def _word_starts(text: str, word: str) -> Iterable[int]:
    """Where ``word`` starts a name in ``text`` (not inside a longer one such as ``group_top_k`` for ``top_k``)."""
    at = text.find(word)
    while at >= 0:
        if at == 0 or text[at - 1] not in _NAME_CHARACTERS:
            yield at
        at = text.find(word, at + len(word))


def _ends_word(text: str, at: int) -> bool:
    """Whether ``text[at:]`` starts with no more of a value: the end, a space or punctuation before a space."""
    rest = text[at:]
    return not rest or rest[0].isspace() or (rest[0] in ",.;:)]}" and (len(rest) == 1 or rest[1].isspace() or rest[1] in ")]}"))
