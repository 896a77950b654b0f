"""Every docstring example in the package runs (the examples are documentation and tests)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import conduit

MODULES = sorted(
    ["conduit", *(m.name for m in pkgutil.walk_packages(conduit.__path__, "conduit."))]
)
# Modules whose public API has no example of its own: private helpers only.
NO_EXAMPLES = {"conduit._json", "conduit.schema.base", "conduit.providers.openai.connection"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
    if name not in NO_EXAMPLES:
        assert result.attempted > 0, f"{name} has public API but no docstring example"
