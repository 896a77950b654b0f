"""Memory strategies: which part of a long conversation to send to the model.

Every strategy has `await strategy.select(messages) -> list[Message]`, keeps the system
message, and never separates a tool call from its results:

- `BufferMemory`: everything.
- `LastTurnsMemory(k)`: the last `k` turns (a turn starts at a user message and holds
  the replies, tool calls and tool results that follow it).
- `TokenWindowMemory(model, max_tokens)`: the newest messages that fit in
  `max_tokens` by the catalog's token counter (`conduit.catalog.count_tokens`).
- `SummaryMemory(model, keep_last=k)`: the last `k` turns as they are, everything
  older folded into a summary that `model` (any `ChatModel`) writes; the summary is
  extended, not rewritten, as the conversation grows.

Example:
    >>> import asyncio
    >>> from conduit.schema import assistant, system, user
    >>> chat = [system("Be brief."), user("1"), assistant("a"), user("2"), assistant("b")]
    >>> [m.text for m in asyncio.run(LastTurnsMemory(1).select(chat))]
    ['Be brief.', '2', 'b']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from conduit.errors import ValidationError
from conduit.schema import Message, system, user

if TYPE_CHECKING:
    from conduit.core.protocols import ChatModel

__all__ = [
    "BufferMemory",
    "LastTurnsMemory",
    "Memory",
    "SUMMARY_HEADING",
    "SUMMARY_PROMPT",
    "SummaryMemory",
    "TokenCounter",
    "TokenWindowMemory",
    "blocks",
    "split_system",
    "turns",
]

TokenCounter = Callable[[Sequence[Message]], int]

SUMMARY_PROMPT = (
    "You keep the memory of a conversation. Write a short summary of the conversation "
    "below that keeps every fact, decision, name and number a later reply may need. "
    "When a summary so far is given, extend it with the new messages. Answer with the "
    "summary only."
)
SUMMARY_HEADING = "Summary of the earlier conversation:"


@runtime_checkable
class Memory(Protocol):
    """Chooses what of a conversation to send: `await memory.select(messages)`."""

    async def select(self, messages: Sequence[Message]) -> list[Message]:
        """The messages to send, the system message first."""
        ...


def split_system(messages: Sequence[Message]) -> tuple[Message | None, list[Message]]:
    """The system message (or None) and the rest.

    Example:
        >>> from conduit.schema import user
        >>> split_system([user("hi")])[0] is None
        True
    """
    if messages and messages[0].role == "system":
        return messages[0], list(messages[1:])
    return None, list(messages)


def turns(messages: Sequence[Message]) -> list[list[Message]]:
    """Group messages (no system message) into turns, each starting at a user message;
    messages before the first user message form a turn of their own.

    Example:
        >>> from conduit.schema import assistant, user
        >>> [len(t) for t in turns([assistant("hello"), user("a"), assistant("b"), user("c")])]
        [1, 2, 1]
    """
    out: list[list[Message]] = []
    for message in messages:
        if message.role == "user" or not out:
            out.append([message])
        else:
            out[-1].append(message)
    return out


def blocks(messages: Sequence[Message]) -> list[list[Message]]:
    """The smallest pieces a window may cut between: an assistant message that calls
    tools together with the results that follow it, any other message alone.

    Example:
        >>> from conduit.schema import FunctionCall, ToolCall, assistant, tool_result, user
        >>> call = ToolCall(id="c1", function=FunctionCall(name="f"))
        >>> msgs = [user("q"), assistant(tool_calls=[call]), tool_result("c1", "r"), user("z")]
        >>> [len(b) for b in blocks(msgs)]
        [1, 2, 1]
    """
    out: list[list[Message]] = []
    for message in messages:
        if message.role == "tool" and out and (out[-1][0].tool_calls):
            out[-1].append(message)
        else:
            out.append([message])
    return out


def _with_system(head: Message | None, rest: list[Message]) -> list[Message]:
    return [head, *rest] if head is not None else rest


class BufferMemory:
    """Keep the whole conversation.

    Example:
        >>> import asyncio
        >>> from conduit.schema import user
        >>> len(asyncio.run(BufferMemory().select([user("a"), user("b")])))
        2
    """

    async def select(self, messages: Sequence[Message]) -> list[Message]:
        """All the messages."""
        return list(messages)

    def __repr__(self) -> str:
        return "BufferMemory()"


class LastTurnsMemory:
    """Keep the system message and the last `k` turns (`k >= 0`).

    Example:
        >>> LastTurnsMemory(3)
        LastTurnsMemory(k=3)
    """

    def __init__(self, k: int) -> None:
        if k < 0:
            raise ValidationError(f"k must be 0 or more, not {k}")
        self.k = k

    async def select(self, messages: Sequence[Message]) -> list[Message]:
        """The system message and the last `k` turns."""
        head, rest = split_system(messages)
        kept = turns(rest)[-self.k :] if self.k else []
        return _with_system(head, [m for turn in kept for m in turn])

    def __repr__(self) -> str:
        return f"LastTurnsMemory(k={self.k})"


def _catalog_counter(model: str) -> tuple[TokenCounter, int]:
    # count_tokens frames a list of messages: a fixed cost per message plus the reply
    # primer once (OpenAI cookbook, "How to count tokens with tiktoken"). Counting each
    # block without the primer and adding it once gives the same total as counting all.
    from conduit.api import count_tokens
    from conduit.catalog.tokens import REPLY_PRIMER

    def counter(group: Sequence[Message]) -> int:
        return count_tokens(model, list(group)) - REPLY_PRIMER

    return counter, REPLY_PRIMER


class TokenWindowMemory:
    """Keep the system message and the newest messages that fit in `max_tokens`.

    Tokens are counted for `model` (a `"provider/name"` reference) by
    `conduit.catalog.count_tokens`, or by `counter(messages) -> int` when given (it must
    be additive: the tokens of a list are the sum over its parts). The window is a
    contiguous run of the newest blocks; a tool call and its results go in or out
    together. The system message is always kept; when it and the newest message do not
    fit together, `ValidationError` says so rather than sending a question-less prompt.

    Example:
        >>> import asyncio
        >>> from conduit.schema import system, user
        >>> memory = TokenWindowMemory(max_tokens=3, counter=lambda ms: len(ms))
        >>> [m.text for m in asyncio.run(memory.select([system("s"), user("a"), user("b"),
        ...                                             user("c")]))]
        ['s', 'b', 'c']
    """

    def __init__(
        self,
        model: str = "openai/gpt-4o",
        max_tokens: int = 4096,
        *,
        counter: TokenCounter | None = None,
    ) -> None:
        if max_tokens < 1:
            raise ValidationError(f"max_tokens must be 1 or more, not {max_tokens}")
        self.model = model
        self.max_tokens = max_tokens
        self._counter = counter

    def _count(self) -> tuple[TokenCounter, int]:
        if self._counter is not None:
            return self._counter, 0
        return _catalog_counter(self.model)

    async def select(self, messages: Sequence[Message]) -> list[Message]:
        """The system message and the newest blocks within the budget."""
        counter, overhead = self._count()
        head, rest = split_system(messages)
        used = overhead + (counter([head]) if head is not None else 0)
        pieces = blocks(rest)
        start = len(pieces)
        while start > 0:
            cost = counter(pieces[start - 1])
            if used + cost > self.max_tokens:
                break
            used += cost
            start -= 1
        if pieces and start == len(pieces):
            raise ValidationError(
                f"the newest message does not fit in {self.max_tokens} tokens"
                + (" beside the system message" if head is not None else "")
                + "; raise max_tokens"
            )
        return _with_system(head, [m for piece in pieces[start:] for m in piece])

    def __repr__(self) -> str:
        return f"TokenWindowMemory({self.model!r}, max_tokens={self.max_tokens})"


def _transcript(messages: Sequence[Message]) -> str:
    lines = []
    for m in messages:
        text = m.text
        if m.tool_calls:
            calls = ", ".join(f"{c.name}({c.arguments})" for c in m.tool_calls)
            text = f"{text} [called {calls}]".strip()
        lines.append(f"{m.role}: {text}")
    return "\n".join(lines)


class SummaryMemory:
    """Keep the last `keep_last` turns; fold older ones into a summary by `model`.

    The summary goes into the system message (after the original instructions, under
    "Summary of the earlier conversation:"). It is remembered: later calls on the same,
    longer conversation only ask `model` to extend it with the newly folded turns.

    Example:
        >>> import asyncio
        >>> from conduit.providers.fake import MockModel
        >>> from conduit.schema import assistant, user
        >>> memory = SummaryMemory(MockModel(["They said hi."]), keep_last=1)
        >>> out = asyncio.run(memory.select([user("hi"), assistant("hey"), user("bye")]))
        >>> [m.role for m in out], out[0].text.splitlines()[-1]
        (['system', 'user'], 'They said hi.')
    """

    def __init__(
        self, model: ChatModel, *, keep_last: int = 4, prompt: str = SUMMARY_PROMPT
    ) -> None:
        if keep_last < 0:
            raise ValidationError(f"keep_last must be 0 or more, not {keep_last}")
        self.model = model
        self.keep_last = keep_last
        self.prompt = prompt
        self.summary = ""
        self._folded: list[Message] = []

    async def _summarize(self, older: list[Message]) -> str:
        known = len(self._folded)
        if known and older[:known] == self._folded:
            new, previous = older[known:], self.summary
        else:
            new, previous = older, ""
        if not new:
            return self.summary
        request = _transcript(new)
        if previous:
            request = f"Summary so far:\n{previous}\n\nNew messages:\n{request}"
        answer = await self.model.chat([system(self.prompt), user(request)])
        self.summary = answer.text.strip()
        self._folded = list(older)
        return self.summary

    async def select(self, messages: Sequence[Message]) -> list[Message]:
        """The system message with the summary, then the last `keep_last` turns."""
        head, rest = split_system(messages)
        grouped = turns(rest)
        cut = len(grouped) - self.keep_last
        if cut <= 0:
            return list(messages)
        older = [m for turn in grouped[:cut] for m in turn]
        recent = [m for turn in grouped[cut:] for m in turn]
        summary = await self._summarize(older)
        intro = f"{head.text}\n\n" if head is not None else ""
        return [system(f"{intro}{SUMMARY_HEADING}\n{summary}"), *recent]

    def __repr__(self) -> str:
        return f"SummaryMemory(keep_last={self.keep_last})"
