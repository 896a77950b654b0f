"""`embedding()` / `aembedding()` with LiteLLM's signature; an OpenAI-shaped
`EmbeddingResponse`.

The model string goes to the one resolver and cache (`cached_embedder`); a router group
is the core router's `embedder(group)`. What is left here is LiteLLM's shape of the
answer, its error classes and its callbacks (`run_embedding`).

Example:
    >>> import conduit.compat as litellm
    >>> r = litellm.embedding(model="fake/hash", input=["a", "b"])
    >>> r.object, len(r.data), r.data[1].index, len(r["data"][0]["embedding"])
    ('list', 2, 1, 32)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from conduit.api.resolve import cached_embedder
from conduit.catalog import parse_model_ref
from conduit.compat import config
from conduit.compat.chat import connection_config, place_model
from conduit.compat.custom_logger import notify_failure, notify_success
from conduit.compat.responses import Embedding, EmbeddingResponse, Usage
from conduit.core.protocols import Embedder
from conduit.core.sync import run_sync
from conduit.errors import ConduitError
from conduit.providers.registry import get_provider

__all__ = ["aembedding", "embedding", "run_embedding"]


async def run_embedding(
    model: str,
    input: str | Sequence[str],
    embedder: Callable[[], tuple[Embedder, str]],
    metadata: dict[str, Any] | None,
) -> EmbeddingResponse:
    """Embed `input` with `embedder()` (the embedder and the name to answer under), in
    LiteLLM's terms: an `EmbeddingResponse`, its error classes, its callbacks.

    Example:
        >>> import asyncio
        >>> from conduit.api.resolve import cached_embedder
        >>> asyncio.run(run_embedding("fake/hash", ["a"], lambda: (cached_embedder("fake/hash"),
        ...                                                       "hash"), None)).model
        'hash'
    """
    settings = config.snapshot()
    started = datetime.now()
    log: dict[str, Any] = {
        "model": model,
        "input": input,
        "metadata": dict(metadata or {}),
        "litellm_params": {"metadata": dict(metadata or {})},
        "call_type": "aembedding",
        "response_cost": None,
    }
    try:
        found, name = embedder()
        log["model"] = found.model_info.ref
        result = await found.embed(input)
    except ConduitError as exc:
        from conduit.compat.exceptions import translate

        error = translate(exc, model=model)
        if settings.has_callbacks:
            await notify_failure(
                settings.failure_callback,
                settings.callbacks,
                log,
                error,
                started,
                datetime.now(),
                is_async=True,
            )
        if error is exc:
            raise
        raise error from exc
    usage = result.usage
    answer = EmbeddingResponse(
        model=result.model or name,
        data=[
            Embedding(embedding=v, index=i, object="embedding")
            for i, v in enumerate(result.vectors)
        ],
        object="list",
        usage=Usage(
            completion_tokens=0,
            prompt_tokens=usage.input_tokens,
            total_tokens=usage.total_tokens,
            completion_tokens_details=None,
            prompt_tokens_details=None,
        ),
    )
    if settings.has_callbacks:
        await notify_success(
            settings.success_callback,
            settings.callbacks,
            log,
            answer,
            started,
            datetime.now(),
            is_async=True,
        )
    return answer


async def aembedding(
    model: str,
    input: str | Sequence[str] = (),
    *,
    dimensions: int | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - LiteLLM's name: the HTTP timeout
    num_retries: int | None = None,
    custom_llm_provider: str | None = None,
    metadata: dict[str, Any] | None = None,
    **kwargs: Any,
) -> EmbeddingResponse:
    """Embed one text or a list; `data[i].embedding` is the vector of `input[i]`.
    `encoding_format=` and other LiteLLM arguments are accepted and ignored.

    Example:
        >>> import asyncio
        >>> asyncio.run(aembedding("fake/hash", "hello")).usage.prompt_tokens >= 0
        True
    """

    def build() -> tuple[Embedder, str]:
        ref = place_model(model, custom_llm_provider, "embed")
        spec = get_provider(parse_model_ref(ref).provider)
        conn = connection_config(
            spec,
            config.snapshot(),
            api_key=api_key,
            api_base=api_base,
            timeout=timeout,
            num_retries=num_retries,
        )
        if dimensions is not None and spec.embed and "openai" in spec.embed:
            conn["dimensions"] = dimensions
        return cached_embedder(ref, **conn), parse_model_ref(ref).name

    return await run_embedding(model, input, build, metadata)


def embedding(model: str, input: str | Sequence[str] = (), **kwargs: Any) -> EmbeddingResponse:
    """`aembedding()` for synchronous code.

    Example:
        >>> len(embedding("fake/hash", ["x"]).data)
        1
    """
    return run_sync(aembedding(model, input, **kwargs))
