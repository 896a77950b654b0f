"""The public surface is explicit: each package's `__all__` lists exactly its public names.

In the style of httpx's tests/test_exported_members.py: adding a public name without
exporting it (or exporting a name that does not exist) fails here, so the API cannot
drift unnoticed.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
import textwrap
import typing
from pathlib import Path
from types import ModuleType

import pytest

import conduit

PACKAGES = [
    "conduit",
    "conduit.schema",
    "conduit.core",
    "conduit.api",
    "conduit.transport",
    "conduit.catalog",
    "conduit.providers",
    "conduit.errors",
    "conduit.interceptors",
    "conduit.routing",
    "conduit.storage",
    "conduit.memory",
    "conduit.odometer",
    "conduit.compat",
    "conduit.tools",
    "conduit.agent",
    "conduit.structured",
    "conduit.prompts",
    "conduit.batch",
    "conduit.flow",
    "conduit.streaming",
    "conduit.rag",
    "conduit.rag.stores",
    "conduit.media",
    "conduit.server",
]
INCLUDED_PRIVATE_MEMBERS = {"__version__"}
ROOT = Path(__file__).resolve().parent.parent


def _is_import_helper(name: str, value: object) -> bool:
    # `from __future__ import annotations`, `from typing import TYPE_CHECKING, Any`
    return name in {"annotations", "TYPE_CHECKING"} or value is typing.Any


def _type_checking_names(module: ModuleType) -> set[str]:
    """Names imported under `if TYPE_CHECKING:`: a lazy module's public names for type
    checkers (module `__getattr__` serves them at run time)."""
    tree = ast.parse(inspect.getsource(module))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    names.update(alias.asname or alias.name for alias in stmt.names)
    return names


def _public_names(module: ModuleType) -> set[str]:
    defined = {
        name
        for name, value in vars(module).items()
        if (not name.startswith("_") or name in INCLUDED_PRIVATE_MEMBERS)
        and not isinstance(value, ModuleType)
        and not _is_import_helper(name, value)
    }
    if hasattr(module, "__getattr__"):
        defined |= _type_checking_names(module)
    return defined


@pytest.mark.parametrize("package", PACKAGES)
def test_all_equals_the_sorted_public_names(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == sorted(_public_names(module))


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_in_all_is_importable(package: str) -> None:
    module = importlib.import_module(package)
    assert len(set(module.__all__)) == len(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    namespace: dict[str, object] = {}
    exec(f"from {package} import *", namespace)
    assert set(module.__all__) <= set(namespace)


def test_lazy_top_level_names_point_where_they_say() -> None:
    exports: dict[str, str] = conduit._EXPORTS
    assert set(conduit.__all__) == {*exports, "__version__"}
    for name, where in exports.items():
        assert getattr(conduit, name) is getattr(importlib.import_module(where), name), name
    # what type checkers see is what the lazy loader serves
    assert _type_checking_names(conduit) == set(exports)
    assert dir(conduit) == conduit.__all__


def test_unknown_top_level_name() -> None:
    with pytest.raises(AttributeError, match="module 'conduit' has no attribute 'nope'"):
        conduit.nope  # noqa: B018
    with pytest.raises(AttributeError, match=r"'conduit\.transport' has no attribute 'nope'"):
        importlib.import_module("conduit.transport").nope  # noqa: B018


def test_top_level_surface_is_the_schema_and_core_surface() -> None:
    from conduit import core, schema

    for name in conduit.__all__:
        if name in core.__all__:
            assert getattr(conduit, name) is getattr(core, name)
        elif name in schema.__all__:
            assert getattr(conduit, name) is getattr(schema, name)


def _all_modules() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages(conduit.__path__, "conduit.")
        if not info.name.rsplit(".", 1)[-1].startswith("__")
    )


@pytest.mark.parametrize("name", _all_modules())
def test_every_module_declares_a_valid_all(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert exported == sorted(exported), f"{name}.__all__ is not sorted"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names missing attributes: {missing}"


def _run_fresh(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter (warnings are errors) and capture its output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_import_conduit_is_light() -> None:
    """`import conduit` pulls in no HTTP stack, no provider code or SDK, no numpy."""
    code = textwrap.dedent(
        """
        import sys
        before = set(sys.modules)
        import conduit
        print("\\n".join(sorted(set(sys.modules) - before)))
        """
    )
    proc = _run_fresh(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    loaded = set(proc.stdout.split())
    assert "conduit" in loaded
    heavy = {
        "aiohttp",
        "numpy",
        "openai",
        "anthropic",
        "google.genai",
        "boto3",
        "httpx",
        "llama_cpp",
        "rich",
        "conduit._json",
        "conduit.transport",
        "conduit.providers",
        "conduit.providers.openai",
    }
    assert not loaded & heavy


def test_fakes_and_the_sync_bridge_need_no_http_stack() -> None:
    code = textwrap.dedent(
        """
        import sys
        import conduit
        assert conduit.chat_sync("fake/echo", "hi").text == "hi"
        assert len(conduit.embed_sync("fake/hash", "hi")) == 1
        print("\\n".join(sorted(sys.modules)))
        """
    )
    proc = _run_fresh(code)
    assert proc.returncode == 0, proc.stderr
    loaded = set(proc.stdout.split())
    assert not loaded & {"aiohttp", "openai", "conduit.transport", "conduit.providers.openai"}
