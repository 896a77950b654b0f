"""Run these LiteLLM-style tests against real LiteLLM, or (CONDUIT_AS_LITELLM=1) against
`conduit.compat` imported as `litellm`: every `litellm` and `litellm.*` module name is
aliased to Conduit's, before the tests import them."""

import importlib
import os
import pkgutil
import sys
import warnings

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
if os.environ.get("CONDUIT_AS_LITELLM"):
    import conduit.compat

    sys.modules["litellm"] = conduit.compat
    for info in pkgutil.walk_packages(conduit.compat.__path__, "conduit.compat."):
        module = importlib.import_module(info.name)
        sys.modules["litellm" + info.name.removeprefix("conduit.compat")] = module
else:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import litellm  # noqa: F401


import pytest


@pytest.fixture(autouse=True)
def _in_a_temporary_directory(tmp_path, monkeypatch):
    """Each test runs in its own directory: LiteLLM's BudgetManager writes user_cost.json
    into the current one, which must not be the repository."""
    monkeypatch.chdir(tmp_path)
