"""A router's model group as a `ChatModel` (`RoutedModel`) or an `Embedder`
(`RoutedEmbedder`), made by `Router.model(group)` / `Router.embedder(group)`.

A chat goes to one deployment's model through `Router.route`; the answer is that model's
`Response`, with `Response.cost` from the deployment's `prices` when it has them (else
the model's own, from the catalog) and `metadata["route"]` saying where it went:
`{"group", "deployment", "model", "tries", "requested"}`.

A stream is routed until its first event: a deployment that fails before any event
reaches you is a failed try like any other (retried, cooled, fallen back from); after
that, an error reaches you as it is (and still counts against the deployment). Its
tokens are settled and its cost set at its `Done`.

Example:
    >>> import asyncio
    >>> from conduit.routing import Router
    >>> model = Router({"chat": ["fake/echo"]}).model("chat")
    >>> answer = asyncio.run(model.chat("hello"))
    >>> answer.text, answer.metadata["route"]["deployment"]
    ('hello', 'chat/fake/echo')
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from conduit.catalog.tokens import count_tokens
from conduit.core.protocols import BaseChatModel, BaseEmbedder, Capabilities, ChatModel, ModelInfo
from conduit.errors import APIConnectionError, ConduitError
from conduit.interceptors.rate_limit import estimate_tokens
from conduit.schema import ChatOptions, Done, Embeddings, Message, Response, StreamEvent

if TYPE_CHECKING:
    from conduit.routing.calls import _Call
    from conduit.routing.deployment import Deployment
    from conduit.routing.router import Router

__all__ = ["RoutedEmbedder", "RoutedModel"]

# A group's deployments check their own capabilities; the group takes anything one may.
_ANY = Capabilities(vision=True, audio=True)


async def _aclose(events: AsyncIterator[StreamEvent]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


class RoutedModel(BaseChatModel):
    """A model group as a `ChatModel`; `model_info` names the group (`router/<group>`).

    Example:
        >>> from conduit.routing import Router
        >>> Router({"g": ["fake/echo"]}).model("g")
        RoutedModel('router/g')
    """

    def __init__(
        self,
        router: Router,
        group: str,
        *,
        settings: _Call | None = None,
        connection: Mapping[str, Any] | None = None,
    ) -> None:
        self.router = router
        self.group = group
        self._settings = settings
        self._connection = dict(connection or {})
        self._info = ModelInfo(provider="router", name=group, capabilities=_ANY)

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    def _tokens(self, messages: list[Message], options: ChatOptions) -> int:
        if not self.router._group(self.group).tokens:
            return 0
        return estimate_tokens(messages, options)

    def _call(self, messages: list[Message], options: ChatOptions) -> _Call:
        call = self._settings or self.router._call
        if not self.router.pre_call_checks:
            return call
        counted: dict[str, int] = {}

        def prompt(deployment: Deployment) -> int:
            # OpenAI's models count exactly; the others with a GPT tokenizer, as LiteLLM.
            ref = deployment.ref if deployment.ref.startswith("openai/") else "other/model"
            found = counted.get(ref)
            if found is None:
                found = counted[ref] = count_tokens(ref, messages, tools=options.tools)
            return found

        return replace(call, prompt=prompt)

    def _model_of(self, deployment: Deployment) -> ChatModel:
        if self._connection:
            return deployment.chat_model_with(self._connection)
        return deployment.chat_model

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        def attempt(deployment: Deployment) -> Any:
            return self._model_of(deployment).chat(messages, deployment.call_options(options))

        routed = await self.router._run(
            self.group,
            attempt,
            self._tokens(messages, options),
            False,
            self._call(messages, options),
        )
        response: Response = routed.value
        return response

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        async def attempt(deployment: Deployment) -> tuple[AsyncIterator[StreamEvent], StreamEvent]:
            events = self._model_of(deployment).stream(messages, deployment.call_options(options))
            try:
                first = await events.__anext__()
            except StopAsyncIteration:
                await _aclose(events)
                raise APIConnectionError(
                    f"{deployment.ref}: the stream ended before its first event",
                    provider=deployment.ref.split("/", 1)[0],
                ) from None
            except BaseException:
                await _aclose(events)
                raise
            return events, first

        router = self.router
        routed = await router._run(
            self.group,
            attempt,
            self._tokens(messages, options),
            True,
            self._call(messages, options),
        )
        events, event = routed.value
        try:
            while True:
                if isinstance(event, Done):
                    await router._answered(routed, event.response)
                    yield event
                    return
                yield event
                event = await events.__anext__()
        except StopAsyncIteration:
            raise ConduitError(
                f"{routed.deployment.ref}: the stream ended without a Done event"
            ) from None
        except ConduitError as exc:
            await router.failed(routed.deployment, exc)
            raise
        finally:
            routed._release()
            await _aclose(events)

    def __repr__(self) -> str:
        return f"RoutedModel({self._info.ref!r})"


class RoutedEmbedder(BaseEmbedder):
    """A group of embedding models as an `Embedder` (`model_info` names the group).

    Example:
        >>> from conduit.routing import Router
        >>> Router({"e": ["fake/hash"]}).embedder("e").model_info.ref
        'router/e'
    """

    def __init__(self, router: Router, group: str) -> None:
        self.router = router
        self.group = group
        self._info = ModelInfo(provider="router", name=group)

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    async def _embed(self, texts: list[str]) -> Embeddings:
        def attempt(deployment: Deployment) -> Any:
            return deployment.embedder.embed(texts)

        tokens = math.ceil(sum(map(len, texts)) / 4) if self.router._group(self.group).tokens else 0
        routed = await self.router._run(self.group, attempt, tokens, False, self.router._call)
        embeddings: Embeddings = routed.value
        await routed.settle(embeddings.usage.total_tokens)
        return embeddings

    def __repr__(self) -> str:
        return f"RoutedEmbedder({self._info.ref!r})"
