"""Tool call ids for Gemini, and what a call must carry when it is sent back.

Gemini's `functionCall` parts usually have no id (https://ai.google.dev/api/caching#FunctionCall),
while Conduit's `ToolCall` needs one to pair a result with its call. `tool_call_id`
derives one from the answer's `responseId`, the call's position and its content, so
the same answer always yields the same ids, streamed or not. When Gemini does send an
id, that id is used as it is.

Thinking models attach a `thoughtSignature` to function call parts, and Gemini 3 refuses
a conversation whose earlier calls come back without it
(https://ai.google.dev/gemini-api/docs/thought-signatures). `ToolCall` has no field for
it, so each model keeps a bounded `CallMemory`: call id → signature (and whether the id
came from Gemini, so it is echoed only then). A call the memory does not know (history
from another process or provider) gets Google's documented placeholder signature
(`request.SKIP_SIGNATURE`) on the first call of its turn instead.

Example:
    >>> tool_call_id("resp-1", 0, "get_weather", {"city": "Paris"})
    'call_...'
    >>> memory = CallMemory()
    >>> memory.remember("call_1", signature="c2ln", from_wire=False)
    >>> memory.recall("call_1")
    ('c2ln', False)
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import orjson

__all__ = ["CallMemory", "tool_call_id"]


def tool_call_id(response_id: str, index: int, name: str, args: Any) -> str:
    """A stable id for the `index`-th function call of the answer `response_id`."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(f"{response_id}\x00{index}\x00{name}\x00".encode())
    digest.update(orjson.dumps(args, option=orjson.OPT_SORT_KEYS))
    # 29 characters: short enough for every provider's id limit (OpenAI's is 40), so a
    # conversation can move to another model mid-way.
    return f"call_{digest.hexdigest()}"


class CallMemory:
    """Bounded map of tool call id → (thought signature, id came from Gemini).

    Only calls with something to remember are stored; the oldest are forgotten first.
    """

    __slots__ = ("_items", "_lock", "size")

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[str | None, bool]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, call_id: str, *, signature: str | None, from_wire: bool) -> None:
        """Keep what the call must carry when it is sent back."""
        if not signature and not from_wire:
            return
        with self._lock:
            self._items[call_id] = (signature or None, from_wire)
            self._items.move_to_end(call_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def recall(self, call_id: str) -> tuple[str | None, bool] | None:
        """(signature, from_wire) for a remembered call, else None."""
        with self._lock:
            return self._items.get(call_id)

    def __len__(self) -> int:
        return len(self._items)
