"""The catalog: model references, keys from the environment (models as data come later).

Example:
    >>> from conduit.catalog import parse_model_ref
    >>> parse_model_ref("openai/gpt-4o").provider
    'openai'
"""

from conduit.catalog.keys import require_key, resolve_key
from conduit.catalog.refs import ModelRef, parse_model_ref

__all__ = ["ModelRef", "parse_model_ref", "require_key", "resolve_key"]
