"""A griffe extension for the docs build: Conduit's docstrings head their doctests with
`Example:`; Google style names that section `Examples:`, and only then are the `>>>`
lines rendered as code (otherwise `['a', 'b']` in an output reads as a broken link)."""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", re.M)


class ExampleSections(griffe.Extension):
    """Rename each docstring's `Example:` section to `Examples:` before it is parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
