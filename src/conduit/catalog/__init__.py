"""The catalog: models as data (limits, capabilities, prices), model references, keys
from the environment, offline token counts.

Example:
    >>> from conduit.catalog import parse_model_ref, model_info
    >>> parse_model_ref("openai/gpt-4o").provider
    'openai'
    >>> model_info("openai/gpt-4o").context_window
    128000
"""

from conduit.catalog.keys import require_key, resolve_key
from conduit.catalog.refresh import ListSource, RefreshResult, refresh_catalog
from conduit.catalog.refs import ModelRef, parse_model_ref
from conduit.catalog.registry import (
    CatalogEntry,
    add_catalog_source,
    catalog_providers,
    cost_of,
    find_model,
    model_info,
    models,
    reload_catalog,
    response_cost,
    user_catalog_path,
    validate_model,
)
from conduit.catalog.tokens import is_exact

__all__ = [
    "CatalogEntry",
    "ListSource",
    "ModelRef",
    "RefreshResult",
    "add_catalog_source",
    "catalog_providers",
    "cost_of",
    "find_model",
    "is_exact",
    "model_info",
    "models",
    "parse_model_ref",
    "refresh_catalog",
    "reload_catalog",
    "require_key",
    "resolve_key",
    "response_cost",
    "user_catalog_path",
    "validate_model",
]
