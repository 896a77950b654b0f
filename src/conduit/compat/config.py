"""The module-level settings of the LiteLLM surface: the one explicit global state in
Conduit, read once at the edge of each call (`snapshot()`), never deeper.

Set them on `conduit.compat` (which forwards here) or on this module:

    import conduit.compat as litellm
    litellm.api_key = "sk-..."            # any provider
    litellm.openai_key = "sk-..."         # OpenAI (and OpenAI-compatible) only
    litellm.success_callback = [log_fn]

Precedence, highest first, for each call:

1. the call's own argument (`api_key=`, `api_base=`, `timeout=`, `num_retries=`,
   `drop_params=`);
2. these settings: `api_key`, then the provider's own key (`openai_key`,
   `anthropic_key`, ...), the order LiteLLM uses; `api_base`; `request_timeout`;
   `num_retries`; `drop_params`;
3. the environment, per provider: its key variable (`OPENAI_API_KEY`,
   `ANTHROPIC_API_KEY`, ...) and base-URL variable (`OPENAI_BASE_URL`, ...), resolved by
   the provider registry exactly as `conduit.model()` does.

Example:
    >>> import conduit.compat as litellm
    >>> litellm.openai_key = "sk-module"
    >>> snapshot().key_for("openai", None), snapshot().key_for("openai", "sk-call")
    ('sk-module', 'sk-call')
    >>> litellm.openai_key = None
    >>> snapshot().key_for("openai", None) is None   # the provider reads OPENAI_API_KEY
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conduit.compat.budgeting import Budgets

__all__ = [
    "SETTINGS",
    "Settings",
    "anthropic_key",
    "api_base",
    "api_key",
    "budgets",
    "cache",
    "callbacks",
    "drop_params",
    "failure_callback",
    "gemini_key",
    "groq_key",
    "max_budget",
    "mistral_key",
    "model_alias_map",
    "num_retries",
    "openai_key",
    "request_timeout",
    "reset",
    "snapshot",
    "success_callback",
    "usage_ledger",
]

api_key: str | None = None
"""A key for every provider (LiteLLM's `litellm.api_key`)."""
openai_key: str | None = None
anthropic_key: str | None = None
gemini_key: str | None = None
groq_key: str | None = None
mistral_key: str | None = None
api_base: str | None = None
"""A base URL for every call that gives none."""
num_retries: int | None = None
"""Retries of 408/409/429/5xx and connection failures; None: Conduit's default (2)."""
request_timeout: float | None = None
"""Seconds for a whole request; None: Conduit's default (10 s to connect, 600 s to read)."""
drop_params: bool = False
"""Drop OpenAI-only extra parameters for providers that do not speak OpenAI's wire API."""
success_callback: list[Any] = []
"""Functions `fn(kwargs, response, start_time, end_time)` (or async) or `CustomLogger`s."""
failure_callback: list[Any] = []
"""Functions `fn(kwargs, exception, start_time, end_time)` (or async) or `CustomLogger`s."""
callbacks: list[Any] = []
"""`CustomLogger` instances, told of successes and failures alike."""
max_budget: float | None = None
"""USD this process may spend on compat calls in all (LiteLLM's `litellm.max_budget`):
each call reserves its worst case before it is sent and settles its real cost after."""
budgets: Budgets | None = None
"""Per user/key/tag budgets (`conduit.compat.Budgets`), reserved before each call."""
cache: Any = None
"""`conduit.compat.Cache(...)`: answers repeated calls (the core `Cache` interceptor)."""
model_alias_map: dict[str, str] = {}
"""LiteLLM's `{"alias": "provider/model"}`: names a call may use instead of a model."""
usage_ledger: Any = None
"""Where compat calls are recorded: a ledger URL or path, `True` for Conduit's one
ledger (`conduit usage` reads it), an `EventStore` or a `UsageRecorder`; None: none."""

SETTINGS = frozenset(
    {
        "api_key",
        "openai_key",
        "anthropic_key",
        "gemini_key",
        "groq_key",
        "mistral_key",
        "api_base",
        "num_retries",
        "request_timeout",
        "drop_params",
        "success_callback",
        "failure_callback",
        "callbacks",
        "max_budget",
        "budgets",
        "cache",
        "model_alias_map",
        "usage_ledger",
    }
)
"""The names `conduit.compat` forwards to this module."""

_PROVIDER_KEYS = {
    "openai": "openai_key",
    "openai-compatible": "openai_key",
    "anthropic": "anthropic_key",
    "gemini": "gemini_key",
    "groq": "groq_key",
    "mistral": "mistral_key",
}


@dataclass(frozen=True, slots=True)
class Settings:
    """The settings as they were when a call started.

    Example:
        >>> Settings(api_base="http://127.0.0.1:8080/v1").api_base
        'http://127.0.0.1:8080/v1'
    """

    api_key: str | None = None
    provider_keys: tuple[tuple[str, str | None], ...] = ()
    api_base: str | None = None
    num_retries: int | None = None
    request_timeout: float | None = None
    drop_params: bool = False
    success_callback: tuple[Any, ...] = ()
    failure_callback: tuple[Any, ...] = ()
    callbacks: tuple[Any, ...] = ()
    max_budget: float | None = None
    budgets: Budgets | None = None
    cache: Any = None
    model_alias_map: tuple[tuple[str, str], ...] = ()
    usage_ledger: Any = None

    def key_for(self, provider: str, explicit: str | None) -> str | None:
        """The key for `provider` by the precedence above; None: the environment decides."""
        if explicit:
            return explicit
        if self.api_key:
            return self.api_key
        name = _PROVIDER_KEYS.get(provider)
        return dict(self.provider_keys).get(name) if name else None

    @property
    def has_callbacks(self) -> bool:
        """Whether any callback is set (when none is, calls skip the bookkeeping)."""
        return bool(self.success_callback or self.failure_callback or self.callbacks)


def snapshot() -> Settings:
    """The current settings, copied (a callback list changed mid-call does not matter).

    Example:
        >>> snapshot().drop_params
        False
    """
    g = globals()
    return Settings(
        api_key=api_key,
        provider_keys=tuple((name, g[name]) for name in _PROVIDER_KEYS.values() if g[name]),
        api_base=api_base,
        num_retries=num_retries,
        request_timeout=request_timeout,
        drop_params=drop_params,
        success_callback=tuple(success_callback),
        failure_callback=tuple(failure_callback),
        callbacks=tuple(callbacks),
        max_budget=max_budget,
        budgets=budgets,
        cache=cache,
        model_alias_map=tuple(model_alias_map.items()) if model_alias_map else (),
        usage_ledger=usage_ledger,
    )


_DEFAULTS: dict[str, Callable[[], Any]] = {
    "success_callback": list,
    "failure_callback": list,
    "callbacks": list,
    "model_alias_map": dict,
    "drop_params": lambda: False,
}


def reset() -> None:
    """Every setting back to its default (tests use this between cases).

    Example:
        >>> import conduit.compat as litellm
        >>> litellm.api_key = "sk-x"; reset(); litellm.api_key is None
        True
    """
    g = globals()
    for name in SETTINGS:
        g[name] = _DEFAULTS[name]() if name in _DEFAULTS else None
