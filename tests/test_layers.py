"""Layers hold: no package imports a higher layer, no face imports another face, and no
private name is imported across packages. The table is DESIGN.md's ("Layers"); every
import counts, at module level or inside a function, under TYPE_CHECKING or not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "conduit"

# Lower numbers are lower layers. A package may import lower layers and itself; within
# one layer only the capabilities may use each other (a batch run renders prompts).
LAYERS: dict[str, int] = {
    "_json": 0,  # the package's own JSON codec, shared by every layer
    "errors": 0,
    "schema": 1,
    "core": 2,
    "transport": 3,
    "catalog": 4,
    "providers": 5,
    "storage": 5,
    "api": 6,
    "interceptors": 7,
    "routing": 8,
    # capabilities
    "tools": 9,
    "agent": 9,
    "structured": 9,
    "prompts": 9,
    "memory": 9,
    "rag": 9,
    "flow": 9,
    "batch": 9,
    "media": 9,
    "streaming": 9,
    "odometer": 9,
    # faces
    "framework": 10,
    "compat": 10,
    "server": 10,
    "cli": 11,  # the command line sits on top: it starts the gateway
    "__init__": 12,
    "__main__": 12,
}
SHARED_WITHIN_LAYER = {9}
# The root module's private JSON helper is the package's own, for every subpackage.
SHARED_PRIVATE = {"conduit._json"}


def _package(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "conduit" or node.module.startswith("conduit."):
                found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "conduit" or alias.name.startswith("conduit."):
                    found.append((node.lineno, alias.name, []))
    return found


def _target(module: str, names: list[str]) -> list[str]:
    """The top-level packages an import reaches (`from conduit import x` reaches `x`'s)."""
    parts = module.split(".")
    if len(parts) > 1:
        return [parts[1]]
    if not names:  # `import conduit`
        return ["__init__"]
    # `from conduit import __version__` reads the package's own metadata, not a layer.
    names = [n for n in names if not (n.startswith("__") and n.endswith("__"))]
    return [n if n in LAYERS else "__init__" for n in names]


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_every_package_has_a_layer() -> None:
    packages = {_package(p) for p in _sources()}
    assert packages <= set(LAYERS), f"give these a layer: {sorted(packages - set(LAYERS))}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_upward_or_sideways_import(path: Path) -> None:
    here = _package(path)
    level = LAYERS[here]
    bad = []
    for line, module, names in _imports(path):
        for target in _target(module, names):
            if target == here:
                continue
            other = LAYERS[target]
            if other > level or (other == level and level not in SHARED_WITHIN_LAYER):
                bad.append(f"line {line}: {here} (layer {level}) imports {module} (layer {other})")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_private_name_across_packages(path: Path) -> None:
    here = _package(path)
    bad = []
    for line, module, names in _imports(path):
        if module in SHARED_PRIVATE:
            continue
        targets = _target(module, names)
        if targets == [here]:
            continue
        private_module = any(
            p.startswith("_") and not p.startswith("__") for p in module.split(".")
        )
        private_names = [n for n in names if n.startswith("_") and not n.startswith("__")]
        if module == "conduit":
            private_names = [n for n in private_names if f"conduit.{n}" not in SHARED_PRIVATE]
        if private_module or private_names:
            bad.append(f"line {line}: {module} {private_names or ''}")
    assert not bad, "\n".join(bad)


def test_the_test_catches_an_upward_import(tmp_path: Path) -> None:
    # The checker itself: an import from the catalog into the gateway is found.
    module = tmp_path / "bad.py"
    module.write_text("from conduit.server.app import Gateway\n", encoding="utf-8")
    [(line, name, names)] = _imports(module)
    assert (line, _target(name, names)) == (1, ["server"])
    assert LAYERS["server"] > LAYERS["catalog"]
