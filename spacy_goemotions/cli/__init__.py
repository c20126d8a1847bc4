"""The ``spacy-goemotions`` command line.

Each sub-command lives in its own module exposing ``add_parser(subparsers)``, which registers the
command and sets ``func`` (a callable taking the parsed namespace and returning 0 when done).
Sub-command modules are imported only when the CLI runs, so importing the package stays light. The
flags of the classifier options come from the library's one definition of them (:mod:`.options`).

Commands only raise. :func:`main` turns what they raise into an exit code by one table,
:data:`EXIT_CODES` (the first row whose type matches wins):

====  =========================================  ==========================================================
code  meaning                                    raised as
====  =========================================  ==========================================================
0     done
1     bad input or data: no such input, a        :class:`~spacy_goemotions.errors.InputError` (its
      malformed line, a missing column, a file   subclasses ``InputNotFoundError``, ``BadLineError``,
      that cannot be read or written             ``DatasetError``), ``OSError``
2     bad usage or options                       a command line argparse refuses,
                                                 :class:`~spacy_goemotions.errors.ConfigurationError`
                                                 (and any other ``GoEmotionsError``)
3     the model could not load                   :class:`~spacy_goemotions.errors.ModelLoadError`
4     an optional extra is not installed         :class:`~spacy_goemotions.errors.MissingExtraError`
130   stopped: 128 + the signal (143 for         ``KeyboardInterrupt``,
      SIGTERM)                                   :class:`~spacy_goemotions.files.Interrupted`
====  =========================================  ==========================================================

An expected error prints one line on stderr, ``spacy-goemotions COMMAND: error: MESSAGE`` (argparse's
own form), and no traceback; a stop prints ``spacy-goemotions COMMAND: SIGINT: stopped ...``. Library errors
name options in library terms and list them in their ``options`` field: the line says them as the
command's flags (``chunk_rows=0`` -> ``--chunk-rows 0``, see :class:`.options.Flags`). A command may
add advice after the line with the parser default ``advice(args, parser, error) -> str | None``
(``classify`` prints the command that resumes). Any other exception is a bug: it propagates with its
traceback (and Python's exit code 1).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from .._version import __version__
from ..errors import GoEmotionsError, InputError, MissingExtraError, ModelLoadError
from ..files.summary import Interrupted
from .options import Flags
from .stopping import StopRequest

#: Modules (relative to this package) that each add one or more sub-commands.
SUBCOMMAND_MODULES: tuple[str, ...] = ("evaluate", "classify", "render", "summarize", "convert", "annotate", "distill")
PROG = "spacy-goemotions"


class UsageError(Exception):
    """A command line argparse refuses (unknown flag, missing argument, a value of the wrong type)."""


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors are one line and an exit code from the table like every other error."""

    def error(self, message: str) -> NoReturn:
        # argparse prints the usage first; every error here is one line. Still SystemExit: parse_args' contract.
        error = UsageError(message)
        _report(self.prog, error, None, None)
        self.exit(exit_code(error) or 2)


@dataclass(frozen=True)
class ExitCode:
    """One row of :data:`EXIT_CODES`: the exit code of the exceptions of ``types``."""

    code: int
    types: tuple[type[BaseException], ...]
    meaning: str


EXIT_OK = 0
#: Stops exit with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as shells report signals.
EXIT_STOPPED = 128 + signal.SIGINT

#: How an exception ends a command; the first row whose types match wins, so narrower types come first.
EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode(EXIT_STOPPED, (KeyboardInterrupt, Interrupted), "stopped by Ctrl-C or SIGTERM (128 + the signal)"),
    ExitCode(2, (UsageError,), "bad usage: a command line argparse refuses"),
    ExitCode(4, (MissingExtraError,), "an optional extra is not installed"),
    ExitCode(3, (ModelLoadError,), "the model could not load"),  # an OSError: before OSError
    ExitCode(1, (InputError,), "bad input or data"),  # InputNotFoundError is an OSError too
    ExitCode(2, (GoEmotionsError,), "bad options (ConfigurationError)"),
    ExitCode(1, (OSError,), "an input that cannot be read, an output that cannot be written"),
)


def exit_code(error: BaseException, stop_signal: int | None = None) -> int | None:
    """The exit code of ``error`` by :data:`EXIT_CODES`; None for an unexpected exception (a bug).

    Examples:
        >>> from spacy_goemotions.errors import ConfigurationError, InputNotFoundError
        >>> exit_code(ConfigurationError("x")), exit_code(InputNotFoundError("x")), exit_code(RuntimeError("x"))
        (2, 1, None)
    """
    row = next((row for row in EXIT_CODES if isinstance(error, row.types)), None)
    if row is None:
        return None
    if row.code == EXIT_STOPPED:
        return 128 + (stop_signal or signal.SIGINT)
    return row.code


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; each sub-parser's default ``command`` is its name."""
    parser = _Parser(prog=PROG, description="Emotion classification with the ModernBERT GoEmotions model (28 labels).")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(f"{__package__}.{module_name}").add_parser(subparsers)
    for name, command in subparsers.choices.items():
        command.set_defaults(command=name)
    return parser


def command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """The sub-parser of ``command``."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found: argparse.ArgumentParser = action.choices[command]
    return found


def error_message(error: BaseException, flags: Flags | None = None) -> str:
    """What the one line says about an expected error: a library error with its options as ``flags``."""
    if isinstance(error, GoEmotionsError):
        return flags.message(error) if flags is not None else str(error)
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def _report(prog: str, error: BaseException, flags: Flags | None, stop_signal: int | None) -> None:
    message = error_message(error, flags)
    if isinstance(error, (KeyboardInterrupt, Interrupted)):
        line = f"{prog}: {signal.Signals(stop_signal or signal.SIGINT).name}: {message or 'stopped'}"
    else:
        line = f"{prog}: error: {message}"
    print(line, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code (see :data:`EXIT_CODES`)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help and --version print and exit 0; a usage error printed its line (_Parser.error)
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_OK
    command = command_parser(parser, args.command)
    stop = StopRequest()
    args.should_stop = stop.requested
    args.command_line = [PROG, *(sys.argv[1:] if argv is None else argv)]  # as typed: what a model card records
    try:
        if getattr(args, "stops_between_steps", False):
            with stop.installed():
                return int(args.func(args) or EXIT_OK)
        return int(args.func(args) or EXIT_OK)
    except BaseException as error:
        code = exit_code(error, stop.signal)
        if code is None:
            raise
        _report(command.prog, error, Flags.of(command), stop.signal)
        advice = getattr(args, "advice", None)
        text = advice(args, command, error) if advice is not None else None
        if text:
            print(text, file=sys.stderr, flush=True)
        return code


if __name__ == "__main__":
    sys.exit(main())
