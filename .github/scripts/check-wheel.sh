#!/usr/bin/env bash
# The built wheel, not the source tree: install it in a fresh virtual environment with the
# `local` extra and run the main job from there, so a file missing from the package fails
# here instead of on a user's machine. Used by .ci/run, build.yml and release.yml.
#
#   bash .github/scripts/check-wheel.sh DIST_DIR
set -euo pipefail

dist=${1:?usage: check-wheel.sh DIST_DIR (the folder python -m build wrote)}
PY=${PYTHON:-python3}
shopt -s nullglob
wheels=("$dist"/conduit-*-py3-none-any.whl)
((${#wheels[@]} == 1)) || { echo "expected one conduit wheel in $dist, found ${#wheels[@]}"; exit 1; }
wheel=$(cd "$(dirname "${wheels[0]}")" && pwd)/$(basename "${wheels[0]}")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PY" -m venv "$work/venv"
bin="$work/venv/bin"
pip() {  # pip, quiet unless it fails (this machine's pip config warns about find-links)
  local out
  out=$("$bin/python" -m pip "$@" 2>&1) || { echo "$out"; return 1; }
  grep -v "^WARNING: Location" <<<"$out" || true
}
pip install -q --upgrade pip
# llama-cpp-python compiles the first time, then comes from pip's wheel cache.
pip install -q "${wheel}[local]"

# Away from the checkout, with private data and cache folders: only the installed package
# (and its own packaged catalog) can answer.
cd "$work"
export CONDUIT_DATA_DIR="$work/data" CONDUIT_CACHE_DIR="$work/cache"
"$bin/python" - <<'EOF'
import importlib.metadata
from importlib import resources
from pathlib import Path

import conduit

where = Path(conduit.__file__).resolve()
assert "site-packages" in where.parts, f"conduit was imported from {where}, not the wheel"
assert importlib.metadata.version("conduit") == conduit.__version__
for package, name in [("conduit", "py.typed"), ("conduit.catalog", "models.toml")]:
    assert resources.files(package).joinpath(name).is_file(), f"{package}/{name} is missing"
print(f"conduit {conduit.__version__} from {where.parent}")
EOF

version=$("$bin/conduit" --version)
echo "$version"
expected=$("$bin/python" -c "import conduit; print(conduit.__version__)")
[[ "$version" == *" $expected" ]] || { echo "conduit --version does not say $expected"; exit 1; }

answer=$("$bin/conduit" ask "What is 2+2?" --temperature 0 --max-tokens 40)
echo "$answer"
[[ "$answer" == *4* ]] || { echo "the local model's answer lacks 4"; exit 1; }
