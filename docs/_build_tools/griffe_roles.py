"""A griffe extension for the API reference: Sphinx roles become Markdown, option fields show their defaults.

The docstrings are Google style with reST literals (``x``) and roles (:class:`~pkg.Name`), which IDEs and
``help()`` show well; Markdown has no roles, so ``:class:`~pkg.Name``` is shown as ``Name`` (the last part, as
Sphinx's ``~`` does) and ``:mod:`.part_outputs``` as ``part_outputs``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|meth|func|mod|data|attr|exc|obj):`~?\.?([^`]+)`")


def markdown_roles(text: str) -> str:
    """``:class:`~a.b.C``` -> ```C```; ``:func:`a.b``` -> ```a.b```; explicit titles (``:func:`title <a.b>```) keep the title."""

    def code(match: re.Match[str]) -> str:
        target = match.group(1)
        title = re.match(r"(.+?)\s*<.+>$", target)
        if title:
            return f"``{title.group(1)}``"
        shown = target.rsplit(".", 1)[-1] if match.group(0).split("`")[1].startswith("~") else target
        return f"``{shown}``"

    return ROLE.sub(code, text)


class MarkdownRoles(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown_roles(obj.docstring.value)

    def on_attribute_instance(self, *, attr: griffe.Attribute, **kwargs: Any) -> None:
        # ClassifierOptions' fields are ``_option(default, help)`` calls (the help every interface shows): the
        # signature and the parameter table show the default itself.
        value = attr.value
        if isinstance(value, griffe.ExprCall) and str(value.function) == "_option" and value.arguments:
            attr.value = value.arguments[0]
