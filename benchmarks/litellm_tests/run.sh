#!/usr/bin/env bash
# Count the LiteLLM-style public-surface tests passing on real LiteLLM and on
# conduit.compat imported as `litellm` (offline; see conftest.py).
set -u
cd "$(dirname "$0")/../.."
for side in litellm conduit; do
  env_var=""; [ "$side" = conduit ] && env_var="CONDUIT_AS_LITELLM=1"
  echo "== $side"
  env $env_var ${PYTEST:-.venv/bin/pytest} -q -p no:cacheprovider -c /dev/null --rootdir benchmarks/litellm_tests \
    benchmarks/litellm_tests -W ignore -rA --no-header --no-cov 2>&1 | grep -E "^(FAILED)|passed|failed"
done
