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

Example:
    >>> d = Deployment("openai/gpt-4o-mini", id="east", connection={"api_key": "sk-x"}, rpm=60)
    >>> d
    Deployment('openai/gpt-4o-mini', id='east', connection={'api_key': '...'}, rpm=60.0)
    >>> d.ref
    'openai/gpt-4o-mini'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from conduit.api.resolve import cached_embedder, cached_model, resolve_ref
from conduit.catalog import model_info as catalog_model_info
from conduit.core.checks import check_rate
from conduit.core.policy import RetryPolicy, Timeout
from conduit.core.protocols import ChatModel, Embedder
from conduit.errors import ConduitError, ValidationError
from conduit.schema import Prices, Usage

__all__ = ["Deployment"]


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
    _ref: str = field(default="", init=False, repr=False)
    _built: list[Any] = field(default_factory=lambda: [None, None], init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        model = self.model
        if isinstance(model, str):
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

    @property
    def ref(self) -> str:
        """The `"provider/name"` of the deployment's model."""
        return self._ref

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
            if not isinstance(self.model, str):
                raise ValidationError(
                    f"deployment {self.id or self.ref!r} holds a chat model object, not an embedder"
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
        for name in ("rpm", "tpm", "weight", "order", "prices"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        return f"Deployment({', '.join(parts)})"
