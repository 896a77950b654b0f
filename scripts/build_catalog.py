"""Build Conduit's generated model catalog from public data.

Converts LiteLLM's MIT-licensed model map (`model_prices_and_context_window.json`:
provider, context window, output limit, capabilities and per-token prices of thousands
of models) into `src/conduit/catalog/models_generated.json`, which the catalog merges
*under* the curated `models.toml` (curated entries win). The conversion itself is
`conduit.catalog.public.convert_model_map`; this script only finds the input and writes
the file, with its source and date.

Usage::

    python scripts/build_catalog.py                      # the map inside the installed litellm
    python scripts/build_catalog.py --input map.json     # a copy you downloaded
    python scripts/build_catalog.py --check              # fail if the file is out of date

`conduit models update` refreshes a user copy at run time when
`CONDUIT_CATALOG_DATA_URL` names a newer map.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from conduit.catalog.public import GENERATED_FILE, convert_model_map  # noqa: E402

OUTPUT = ROOT / "src" / "conduit" / "catalog" / GENERATED_FILE
MAP_NAME = "model_prices_and_context_window_backup.json"


def installed_map() -> tuple[Path, str]:
    """The model map shipped inside the installed `litellm` package, and its version."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("litellm is not installed; pass --input with a copy of the map")
    path = Path(next(iter(spec.submodule_search_locations))) / MAP_NAME
    return path, importlib.metadata.version("litellm")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, help="a model_prices_and_context_window.json")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--date", help="the date to record (YYYY-MM-DD; default today)")
    args = parser.parse_args()
    if args.input:
        path, source = args.input, f"{args.input.name} (LiteLLM's model map, MIT License)"
    else:
        path, version = installed_map()
        source = f"litellm {version}: litellm/{MAP_NAME} (MIT License, BerriAI)"
    day = datetime.date.fromisoformat(args.date) if args.date else datetime.date.today()
    started = time.perf_counter()
    raw = json.loads(path.read_text(encoding="utf-8"))
    data = convert_model_map(raw, source=source, generated=day)
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    # One row per line: readable diffs when the data is refreshed.
    rows = ",\n".join(json.dumps(r, **compact) for r in data["models"])  # type: ignore[arg-type]
    head = json.dumps({k: v for k, v in data.items() if k != "models"}, **compact)  # type: ignore[arg-type]
    text = head[:-1] + ',"models":[\n' + rows + "\n]}\n"
    args.output.write_text(text, encoding="utf-8")
    by_provider: dict[str, int] = {}
    for row in data["models"]:
        by_provider[row[0]] = by_provider.get(row[0], 0) + 1
    took = (time.perf_counter() - started) * 1000
    count = len(data["models"])
    print(f"{count} models from {len(raw)} map entries in {took:.0f} ms -> {args.output}")
    print(", ".join(f"{p} {n}" for p, n in sorted(by_provider.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
