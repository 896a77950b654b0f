#!/usr/bin/env bash
# Run a directory of LiteLLM's own test files (tests/local_testing/*.py, fetched by you
# into a directory outside this repository) against real LiteLLM and against
# conduit.compat imported as `litellm`, and print each side's results and a per-file
# table (table.py): tests passing on LiteLLM offline, and how many of those on Conduit.
#   PYTEST=/path/to/pytest benchmarks/litellm_tests/run_upstream.sh /tmp/ltests [pytest args]
# The directory gets this folder's conftest.py (the `litellm` -> conduit.compat alias).
# A file that fails to import counts as all its tests failing; the others still run.
set -u
dir=${1:?give a directory of LiteLLM test files}; shift
here="$(cd "$(dirname "$0")" && pwd)"
cp "$here/conftest.py" "$dir/conftest.py"
out="$(mktemp)"
for side in litellm conduit; do
  env_var=""; [ "$side" = conduit ] && env_var="CONDUIT_AS_LITELLM=1"
  echo "== $side"
  (cd "$dir" && env $env_var "${PYTEST:-pytest}" -q -p no:cacheprovider -c /dev/null \
    --rootdir "$dir" "$dir" -W ignore --no-cov -p asyncio --asyncio-mode=auto -rA \
    --continue-on-collection-errors "$@" 2>&1 | grep -E "^(PASSED|FAILED|ERROR) |passed|failed")
done | tee "$out"
"${PYTHON:-python3}" "$here/table.py" "$out"
rm -f "$out"
