"""`FallbackModel`: a `ChatModel` that tries several models in turn.

The first model answers unless it fails with an error `fall_back_on` accepts (default
`should_fall_back`: a retryable provider error, a refused key or missing model, a
context window overflow, a content filter refusal); then the next one is asked, and so
on. When every model failed, the first model's error is raised, with a note per model
that failed after it. A stream falls back only before its first event reaches you;
after that an error reaches you as it is.

Models given as strings are built on first use by the one resolver's cache
(`conduit.api.resolve.cached_model`), so a missing key for one model is a failure to
fall back from, not an error when the `FallbackModel` is made. The answer's
`metadata["route"]` says which model answered: `{"model", "tries"}`.

For groups of deployments with strategies, limits and cooldowns, use `Router`.

Example:
    >>> import asyncio
    >>> from conduit.errors import ServerError
    >>> from conduit.providers.fake import MockModel
    >>> model = FallbackModel([MockModel([ServerError("down")]), MockModel(["backup"])])
    >>> answer = asyncio.run(model.chat("hi"))
    >>> answer.text, answer.metadata["route"]
    ('backup', {'model': 'fake/mock', 'tries': 2})
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

from conduit.core.protocols import BaseChatModel, Capabilities, ChatModel, ModelInfo
from conduit.errors import APIConnectionError, ConduitError, ValidationError
from conduit.routing.deployment import Deployment
from conduit.routing.failures import should_fall_back
from conduit.schema import ChatOptions, Done, Message, Response, StreamEvent

__all__ = ["FallbackModel"]

_ANY = Capabilities(vision=True, audio=True)


async def _aclose(events: AsyncIterator[StreamEvent]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


class FallbackModel(BaseChatModel):
    """Try `models` in turn (strings or `ChatModel`s) until one answers.

    `fall_back_on(error)` says which errors move on to the next model (default
    `should_fall_back`); any other error is raised at once. Only `Exception`s are
    considered: a cancellation always propagates.

    Example:
        >>> FallbackModel(["fake/echo", "openai/gpt-4o-mini"]).model_info.ref
        'fallback/fake/echo,openai/gpt-4o-mini'
    """

    def __init__(
        self,
        models: Sequence[str | ChatModel],
        *,
        fall_back_on: Callable[[BaseException], bool] | None = None,
    ) -> None:
        if isinstance(models, str) or not isinstance(models, Sequence) or not models:
            raise ValidationError(
                f"models must be a non-empty list of model strings or ChatModels, not {models!r}"
            )
        if fall_back_on is not None and not callable(fall_back_on):
            raise ValidationError(f"fall_back_on must be a function, not {fall_back_on!r}")
        self._deployments = [Deployment(m) for m in models]
        self.fall_back_on = fall_back_on or should_fall_back
        refs = ",".join(d.ref for d in self._deployments)
        self._info = ModelInfo(provider="fallback", name=refs, capabilities=_ANY)

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    @property
    def models(self) -> tuple[ChatModel, ...]:
        """The models, in the order they are tried (strings built on first use)."""
        return tuple(d.chat_model for d in self._deployments)

    @staticmethod
    def _mark(response: Response, deployment: Deployment, tries: int) -> Response:
        # A new dict: a model may hand out shallow copies of one answer (fakes, caches).
        response.metadata = {
            **response.metadata,
            "route": {"model": deployment.ref, "tries": tries},
        }
        return response

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        first: Exception | None = None
        for tries, deployment in enumerate(self._deployments, 1):
            try:
                response = await deployment.chat_model.chat(messages, options)
            except Exception as exc:
                if not self.fall_back_on(exc):
                    raise
                first = self._note(first, exc, deployment)
                continue
            return self._mark(response, deployment, tries)
        assert first is not None
        raise first

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        first: Exception | None = None
        for tries, deployment in enumerate(self._deployments, 1):
            events = None
            try:
                events = deployment.chat_model.stream(messages, options)
                try:
                    event = await events.__anext__()
                except StopAsyncIteration:
                    raise APIConnectionError(
                        f"{deployment.ref}: the stream ended before its first event"
                    ) from None
            except Exception as exc:
                if events is not None:
                    await _aclose(events)
                if not self.fall_back_on(exc):
                    raise
                first = self._note(first, exc, deployment)
                continue
            try:
                while not isinstance(event, Done):
                    yield event
                    event = await events.__anext__()
                self._mark(event.response, deployment, tries)
                yield event
                return
            except StopAsyncIteration:
                raise ConduitError(
                    f"{deployment.ref}: the stream ended without a Done event"
                ) from None
            finally:
                await _aclose(events)
        assert first is not None
        raise first

    @staticmethod
    def _note(first: Exception | None, exc: Exception, deployment: Deployment) -> Exception:
        if first is None:
            return exc
        first.add_note(f"fallback {deployment.ref!r} failed too: {exc!r}")
        return first

    def __repr__(self) -> str:
        return f"FallbackModel([{', '.join(repr(d.ref) for d in self._deployments)}])"
