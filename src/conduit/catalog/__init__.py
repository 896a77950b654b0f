"""The catalog: model references, keys from the environment, offline token counts.

Example:
    >>> from conduit.catalog import parse_model_ref
    >>> parse_model_ref("openai/gpt-4o").provider
    'openai'
"""

from conduit.catalog.keys import require_key, resolve_key
from conduit.catalog.refs import ModelRef, parse_model_ref
from conduit.catalog.tokens import count_tokens, is_exact

__all__ = ["ModelRef", "count_tokens", "is_exact", "parse_model_ref", "require_key", "resolve_key"]
