"""The examples in the docstrings of the data model, core, catalog, errors and fakes run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "conduit",
    "conduit.errors",
    "conduit.schema",
    "conduit.schema.assemble",
    "conduit.schema.content",
    "conduit.schema.embeddings",
    "conduit.schema.events",
    "conduit.schema.messages",
    "conduit.schema.options",
    "conduit.schema.responses",
    "conduit.schema.tools",
    "conduit.core",
    "conduit.core.api",
    "conduit.core.protocols",
    "conduit.core.sync",
    "conduit.catalog",
    "conduit.catalog.keys",
    "conduit.catalog.refs",
    "conduit.providers",
    "conduit.providers.fake",
    "conduit.providers.registry",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
