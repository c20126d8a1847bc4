"""The ``spacy-goemotions`` command line.

Each sub-command lives in its own module exposing ``add_parser(subparsers)``, which registers the
command and sets ``func`` (a callable taking the parsed namespace and returning an exit code).
Sub-command modules are imported only when the CLI runs, so importing the package stays light. The
flags of the classifier options come from the library's one definition of them (:mod:`.options`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .._version import __version__

#: Modules (relative to this package) that each add one or more sub-commands.
SUBCOMMAND_MODULES: tuple[str, ...] = ("evaluate", "classify", "render", "summarize", "convert")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spacy-goemotions",
        description="Emotion classification with the ModernBERT GoEmotions model (28 labels).",
    )
    parser.add_argument("--version", action="version", version=f"spacy-goemotions {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(f"{__package__}.{module_name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    return int(func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
