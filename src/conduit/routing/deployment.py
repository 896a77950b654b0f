"""`Deployment`: one place a model group's calls can go, with its limits and prices.

A deployment is a model (a `"provider/name"` string with connection settings, or a
`ChatModel` object) plus what the router needs to know about it: its requests and tokens
per minute (`rpm`, `tpm`), its share of the traffic (`weight`), its priority (`order`)
and, when a gateway pays a price the catalog does not know, its `prices`.

The model is built on first use by the one resolver and cache
(`conduit.api.resolve.cached_model`), so a router over deployments whose keys are not set
can be made (a missing key fails that deployment's calls, and the router moves on). A
string is checked when the deployment is made: an unknown provider or model fails there.

A deployment's own model keeps its connection settings, retries included (`conduit.model`
retries twice inside the transport by default); the router retries across deployments
on top. To leave retrying to the router alone, give the deployment
`connection={"max_retries": 0}` (for providers that take it).

A model string with `*` wildcards (`"openai/*"`, `"*"`) makes a *wildcard* deployment:
it serves a router group whose name is a pattern (`"openai/*"`), and each name a call
asks for that matches the pattern gets its own concrete deployment (`expand`), with the
wildcards filled in by the parts of the name they matched.

Example:
    >>> d = Deployment("openai/gpt-4o-mini", id="east", connection={"api_key": "sk-x"}, rpm=60)
    >>> d
    Deployment('openai/gpt-4o-mini', id='east', connection={'api_key': '...'}, rpm=60.0)
    >>> d.ref
    'openai/gpt-4o-mini'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Any

from conduit.api.resolve import cached_embedder, cached_model, resolve_ref
from conduit.catalog import model_info as catalog_model_info
from conduit.core.checks import check_count, check_rate
from conduit.core.policy import RetryPolicy, Timeout
from conduit.core.protocols import ChatModel, Embedder
from conduit.errors import ConduitError, ValidationError
from conduit.schema import ChatOptions, Prices, Usage

__all__ = ["Deployment", "fill_wildcards"]

_OPTION_FIELDS = frozenset(ChatOptions.model_fields) - {"extra"}


def _as_options(value: Any) -> ChatOptions | None:
    """`options` as `ChatOptions` (a mapping's unknown keys go to `extra`); None: none."""
    if value is None or isinstance(value, ChatOptions):
        return value or None
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"options must be ChatOptions or a mapping of settings, not {type(value).__name__}"
        )
    fields = {k: v for k, v in value.items() if k in _OPTION_FIELDS and v is not None}
    extra = {k: v for k, v in value.items() if k not in _OPTION_FIELDS and v is not None}
    if isinstance(value.get("extra"), Mapping):
        extra.update(value["extra"])
    if not fields and not extra:
        return None
    try:
        return ChatOptions(**fields, extra=extra) if extra else ChatOptions(**fields)
    except Exception as exc:  # pydantic's error, named for the caller
        raise ValidationError(f"options are not valid chat settings: {exc}") from None


def fill_wildcards(template: str, parts: Sequence[str], name: str) -> str:
    """`template` (a model string with `*` wildcards) with each `*` replaced, in order, by
    the parts of the requested `name` that a group pattern's wildcards matched; `name`
    itself when there are more parts than wildcards (LiteLLM's rule).

    Example:
        >>> fill_wildcards("openai/*", ["gpt-4o"], "my/gpt-4o")
        'openai/gpt-4o'
        >>> fill_wildcards("*", ["gpt-4o", "x"], "gpt-4o/x")
        'gpt-4o/x'
    """
    count = template.count("*")
    if not count:
        return template
    if len(parts) > count:
        return name
    if len(parts) < count:
        raise ValidationError(
            f"the wildcard model {template!r} has {count} '*' but the group pattern matched "
            f"{len(parts)} part(s) of {name!r}; give the group as many wildcards"
        )
    for part in parts:
        template = template.replace("*", part, 1)
    return template


@dataclass(frozen=True, slots=True, eq=False)
class Deployment:
    """One deployment of a model group.

    - `model`: a `"provider/name"` string (or bare catalog name) or a `ChatModel`.
    - `id`: unique in the router and stable across processes that share state; by
      default the router names it `"<group>/<provider/name>"` (`#2`, `#3`, ... for
      repeats).
    - `connection`: settings for the model string (`api_key`, `base_url`, `timeout`,
      `max_retries`, `headers`, ...), as `conduit.model()` takes them.
    - `rpm`, `tpm`: requests and tokens per minute this deployment may take (None: no
      limit), held by token buckets that refill continuously (a full minute's worth at
      most).
    - `weight`: its share under the `simple-shuffle` strategy.
    - `order`: lower orders are tried first; a higher order only when no deployment of
      a lower one is available (LiteLLM's `order`). Deployments without one come last.
    - `prices`: USD per million tokens for this deployment, instead of the catalog's
      (its answers' `Response.cost`, the `cost-based` strategy).
    - `options`: chat settings sent with every call to this deployment (`ChatOptions`,
      or a mapping: `{"temperature": 0.2, "presence_penalty": 1}`, keys that are not
      `ChatOptions` fields go to `extra`); what a call sets itself wins.
    - `tags`: names a router with `tag_filtering=True` picks deployments by (a call's
      tags; `"default"` serves calls whose tags no deployment has).
    - `max_parallel`: calls in flight on this deployment in this process at most; more
      wait for a free slot (deployments with one are picked first).
    - `context_window`: the model's input limit in tokens, when the catalog's is wrong
      or unknown (a router with `pre_call_checks=True` skips deployments a prompt does
      not fit).
    - `build`: for a wildcard deployment, a function of a filled model string that
      returns the model, or a `(model string, connection)` pair resolved at first use
      (default: the filled string itself, with `connection`).

    Example:
        >>> from conduit.schema import Prices, Usage
        >>> d = Deployment("fake/echo", prices=Prices(input=1.0, output=2.0))
        >>> d.cost(Usage(input_tokens=1_000_000))
        1.0
    """

    model: str | ChatModel
    _: KW_ONLY
    id: str | None = None
    connection: Mapping[str, Any] = field(default_factory=dict)
    rpm: float | None = None
    tpm: float | None = None
    weight: float | None = None
    order: int | None = None
    prices: Prices | None = None
    options: ChatOptions | Mapping[str, Any] | None = None
    tags: frozenset[str] | Sequence[str] = frozenset()
    max_parallel: int | None = None
    context_window: int | None = None
    build: Callable[[str], ChatModel | tuple[str, Mapping[str, Any]]] | None = None
    _ref: str = field(default="", init=False, repr=False)
    _built: list[Any] = field(default_factory=lambda: [None, None], init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        model = self.model
        if isinstance(model, str) and "*" in model:
            set_(self, "_ref", model.strip())  # a wildcard: resolved when expanded
        elif self.build is not None:
            raise ValidationError("build applies to a wildcard model string ('openai/*')")
        elif isinstance(model, str):
            set_(self, "_ref", resolve_ref(model))
        elif all(hasattr(model, name) for name in ("chat", "stream", "model_info")):
            if self.connection:
                raise ValidationError(
                    "connection settings apply to a model string, not to a model object "
                    f"({type(model).__name__}) that is already built"
                )
            set_(self, "_ref", model.model_info.ref)
        else:
            raise ValidationError(
                f"model must be a model string or a ChatModel, not {type(model).__name__}"
            )
        if self.id is not None and (not isinstance(self.id, str) or not self.id):
            raise ValidationError(f"id must be a non-empty string, not {self.id!r}")
        if not isinstance(self.connection, Mapping):
            raise ValidationError(
                f"connection must be a mapping of settings, not {type(self.connection).__name__}"
            )
        connection = dict(self.connection)
        if connection.get("timeout") is not None:
            Timeout.of(connection["timeout"], name="connection['timeout']")
        if connection.get("max_retries") is not None:
            RetryPolicy.of(connection["max_retries"], name="connection['max_retries']")
        set_(self, "connection", connection)
        for name in ("rpm", "tpm", "weight"):
            value = getattr(self, name)
            if value is not None:
                set_(self, name, check_rate(value, name))
        if self.order is not None and (
            isinstance(self.order, bool) or not isinstance(self.order, int)
        ):
            raise ValidationError(f"order must be a whole number, not {self.order!r}")
        if self.prices is not None and not isinstance(self.prices, Prices):
            raise ValidationError(
                f"prices must be a conduit.schema.Prices, not {type(self.prices).__name__}"
            )
        set_(self, "options", _as_options(self.options))
        tags = self.tags
        if isinstance(tags, str) or not all(isinstance(t, str) and t for t in tags):
            raise ValidationError(f"tags must be a list of names, not {tags!r}")
        set_(self, "tags", frozenset(tags))
        for name in ("max_parallel", "context_window"):
            value = getattr(self, name)
            if value is not None and check_count(value, name) < 1:
                raise ValidationError(f"{name} must be at least 1, not {value!r}")
        if self.build is not None and not callable(self.build):
            raise ValidationError(f"build must be a function, not {self.build!r}")

    @property
    def ref(self) -> str:
        """The `"provider/name"` of the deployment's model (the model string itself for a
        wildcard deployment)."""
        return self._ref

    @property
    def is_wildcard(self) -> bool:
        """Whether the model string holds `*` wildcards (see `expand`).

        Example:
            >>> Deployment("openai/*").is_wildcard, Deployment("fake/echo").is_wildcard
            (True, False)
        """
        return isinstance(self.model, str) and "*" in self.model

    def expand(self, parts: Sequence[str], name: str, *, id: str) -> Deployment:
        """The concrete deployment of this wildcard deployment for the requested `name`,
        whose pattern matched `parts` (`fill_wildcards`), with the given `id`; its model
        is the filled string (resolved by the one resolver) or `build(filled)`. A
        deployment that is not a wildcard is returned as it is.

        Example:
            >>> Deployment("openai/*", rpm=60).expand(["gpt-4o"], "openai/gpt-4o", id="x").ref
            'openai/gpt-4o'
        """
        if not self.is_wildcard:
            return self
        filled = fill_wildcards(self._ref, parts, name)
        if self.build is not None:
            built = self.build(filled)
            if isinstance(built, tuple):  # a model string and its connection: built lazily
                ref, connection = built
                return replace(self, model=ref, id=id, connection=dict(connection), build=None)
            return replace(self, model=built, id=id, connection={}, build=None)
        return replace(self, model=filled, id=id)

    def chat_model_with(self, connection: Mapping[str, Any]) -> ChatModel:
        """The deployment's chat model with some connection settings replaced for one
        call (`api_key`, `base_url`, ...): the one resolver's cached model for the merged
        settings. A model object (or no settings) is the deployment's own model.

        Example:
            >>> d = Deployment("fake/echo")
            >>> d.chat_model_with({}) is d.chat_model
            True
        """
        if not connection or not isinstance(self.model, str):
            return self.chat_model
        return cached_model(self.model, **{**self.connection, **connection})

    def call_options(self, options: ChatOptions) -> ChatOptions:
        """A call's `options` over this deployment's own (`options`): what the call sets
        wins, `extra` is merged key by key.

        Example:
            >>> d = Deployment("fake/echo", options={"temperature": 0.2, "top_p": 0.5})
            >>> merged = d.call_options(ChatOptions(temperature=0.9))
            >>> merged.temperature, merged.top_p
            (0.9, 0.5)
        """
        own = self.options
        if own is None:
            return options
        assert isinstance(own, ChatOptions)
        given = options.model_dump(exclude_unset=True, exclude_none=True)
        if not given:
            return own
        if "extra" in given or own.extra:
            given["extra"] = {**own.extra, **options.extra}
        return own.merged(**given)

    @property
    def window(self) -> int | None:
        """The model's input limit in tokens: `context_window` when given, else the
        model's own (the catalog's); None when not known.

        Example:
            >>> Deployment("openai/gpt-4o-mini").window, Deployment("fake/echo",
            ...     context_window=100).window
            (128000, 100)
        """
        if self.context_window is not None:
            return self.context_window
        if self.is_wildcard:
            return None
        if not isinstance(self.model, str) or self._built[0] is not None:
            return self.chat_model.model_info.context_window
        try:
            return catalog_model_info(self._ref).context_window
        except ConduitError:  # pragma: no cover - a provider without catalog defaults
            return None

    @property
    def chat_model(self) -> ChatModel:
        """The deployment's chat model: the object given, or the one resolver's cached
        model for the string and connection settings (built on first use and kept).

        Example:
            >>> Deployment("fake/echo").chat_model.model_info.ref
            'fake/echo'
        """
        built = self._built[0]
        if built is None:
            if self.is_wildcard:
                raise ValidationError(
                    f"the wildcard deployment {self.id or self._ref!r} answers for the names "
                    "its group pattern matches; call one of those"
                )
            built = self._built[0] = cached_model(self.model, **self.connection)
        return built  # type: ignore[no-any-return]

    @property
    def embedder(self) -> Embedder:
        """The deployment's embedder, for a group of embedding models (built on first use
        by the one resolver's cache, like `chat_model`).

        Example:
            >>> Deployment("fake/hash").embedder.model_info.ref
            'fake/hash'
        """
        built = self._built[1]
        if built is None:
            if not isinstance(self.model, str) or self.is_wildcard:
                raise ValidationError(
                    f"deployment {self.id or self.ref!r} holds a chat model object or a "
                    "wildcard, not an embedder"
                )
            built = self._built[1] = cached_embedder(self.model, **self.connection)
        return built  # type: ignore[no-any-return]

    @property
    def effective_prices(self) -> Prices | None:
        """`prices` when given, else the model's own (from the catalog); None when not
        known.

        Example:
            >>> Deployment("openai/gpt-4o-mini").effective_prices is not None
            True
        """
        if self.prices is not None:
            return self.prices
        if self.is_wildcard:
            return None
        built = self._built[0]
        if built is not None or not isinstance(self.model, str):
            return self.chat_model.model_info.prices
        try:
            return catalog_model_info(self._ref).prices
        except ConduitError:  # pragma: no cover - a provider without catalog defaults
            return None

    def cost(self, usage: Usage) -> float | None:
        """USD for `usage` on this deployment (`effective_prices`); None when not known.

        Example:
            >>> from conduit.schema import Prices, Usage
            >>> Deployment("fake/echo", prices=Prices(input=2, output=2)).cost(
            ...     Usage(input_tokens=500_000, output_tokens=500_000))
            2.0
        """
        prices = self.effective_prices
        return None if prices is None else prices.cost(usage)

    def __repr__(self) -> str:
        # Connection values may be secrets (api_key, headers): show the names only.
        parts = [repr(self._ref)]
        if self.id is not None:
            parts.append(f"id={self.id!r}")
        if self.connection:
            shown = ", ".join(f"{name!r}: '...'" for name in self.connection)
            parts.append(f"connection={{{shown}}}")
        for name in ("rpm", "tpm", "weight", "order", "prices", "max_parallel", "context_window"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        if self.tags:
            parts.append(f"tags={sorted(self.tags)!r}")
        if self.options is not None:
            parts.append("options=...")
        return f"Deployment({', '.join(parts)})"
