"""Streaming structured output: partial objects, fields filled as they arrive.

Each text piece is added to the answer so far, which pydantic-core's partial JSON parser
reads as far as it goes; a new snapshot is yielded whenever it says more than the last.
When the stream ends the whole answer is validated and yielded last; an invalid answer
is sent back with the error and streamed again, like `StructuredModel.run`.

Example:
    >>> import asyncio
    >>> from pydantic import BaseModel
    >>> from conduit.providers.fake import FunctionModel
    >>> from conduit.structured import with_structured_output
    >>> class Pet(BaseModel):
    ...     name: str
    ...     kind: str
    >>> async def pieces(messages, options):
    ...     for piece in ['{"name": "Re', 'x", "kind": "d', 'og"}']:
    ...         yield piece
    >>> model = FunctionModel(lambda m, o: "", stream_fn=pieces)
    >>> async def main():
    ...     return [p async for p in with_structured_output(model, Pet).stream("A pet?")]
    >>> for snapshot in asyncio.run(main()):
    ...     print(snapshot)
    name='Re' kind=None
    name='Rex' kind='d'
    name='Rex' kind='dog'
    name='Rex' kind='dog'
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, TypeVar

from conduit.schema import ChatOptions, Done, Message, Response, TextBlock, TextDelta
from conduit.structured.parser import Attempt

if TYPE_CHECKING:
    from conduit.structured.extract import StructuredModel

__all__ = ["stream_objects"]

T = TypeVar("T")

_NOTHING: Any = object()


async def stream_objects(
    structured: StructuredModel[T], messages: list[Message], options: ChatOptions
) -> AsyncIterator[T]:
    """Snapshots of the answer while it streams, then the validated object (the engine
    behind `StructuredModel.stream`; `messages` and `options` are already prepared).

    Example:
        >>> import asyncio
        >>> from conduit.providers.fake import MockModel
        >>> from conduit.structured import with_structured_output
        >>> s = with_structured_output(MockModel(['{"items": [1, 2]}']), list[int])
        >>> async def main():
        ...     return [x async for x in stream_objects(s, *s.request("?", None, {}))]
        >>> asyncio.run(main())[-1]
        [1, 2]
    """
    attempts: list[Attempt] = []
    parser = structured.parser
    for _ in range(structured.max_retries + 1):
        pieces: list[str] = []
        last: Any = _NOTHING
        response: Response | None = None
        async for event in structured.model.stream(messages, options):
            if isinstance(event, TextDelta):
                pieces.append(event.text)
                snapshot = parser.parse_partial("".join(pieces))
                if snapshot is not None and snapshot != last:
                    last = snapshot
                    yield snapshot
            elif isinstance(event, Done):
                response = event.response
        if response is None:  # a stream that ended without Done: what arrived is the answer
            response = Response(content=[TextBlock(text="".join(pieces))])
        done, value, messages = structured._check(response, messages, attempts)
        if done:
            yield value  # type: ignore[misc]  # a parsed T
            return
    raise structured._failed(attempts)
