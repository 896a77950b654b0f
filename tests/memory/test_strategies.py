from __future__ import annotations

import pytest

from conduit.catalog.tokens import count_tokens
from conduit.errors import ValidationError
from conduit.memory import BufferMemory, LastTurnsMemory, Memory, SummaryMemory, TokenWindowMemory
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import FunctionCall, Response, TextBlock, ToolCall, assistant, system, user
from conduit.schema import tool_result as result


def call(cid: str) -> ToolCall:
    return ToolCall(id=cid, function=FunctionCall.from_arguments("f", {"x": 1}))


CHAT = [
    system("sys"),
    user("u1"), assistant("a1"),
    user("u2"), assistant(tool_calls=[call("c")]), result("c", "r"), assistant("a2"),
    user("u3"),
]  # fmt: skip


def texts(messages) -> list[str]:
    return [m.text or m.role for m in messages]


async def test_buffer_keeps_everything() -> None:
    assert await BufferMemory().select(CHAT) == CHAT
    assert isinstance(BufferMemory(), Memory)
    assert repr(BufferMemory()) == "BufferMemory()"


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (0, ["sys"]),
        (1, ["sys", "u3"]),
        (2, ["sys", "u2", "assistant", "r", "a2", "u3"]),
        (3, ["sys", "u1", "a1", "u2", "assistant", "r", "a2", "u3"]),
        (9, ["sys", "u1", "a1", "u2", "assistant", "r", "a2", "u3"]),
    ],
)
async def test_last_turns_boundaries(k: int, expected: list[str]) -> None:
    assert texts(await LastTurnsMemory(k).select(CHAT)) == expected


async def test_last_turns_without_system_and_leading_assistant() -> None:
    chat = [assistant("hello"), user("q")]
    assert texts(await LastTurnsMemory(1).select(chat)) == ["q"]
    assert texts(await LastTurnsMemory(2).select(chat)) == ["hello", "q"]
    with pytest.raises(ValidationError):
        LastTurnsMemory(-1)
    assert repr(LastTurnsMemory(2)) == "LastTurnsMemory(k=2)"


def one_each(messages) -> int:
    return len(messages)


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (2, ["sys", "u3"]),
        (3, ["sys", "a2", "u3"]),
        # the call and its result are one block of two: not enough room for both
        (4, ["sys", "a2", "u3"]),
        (5, ["sys", "assistant", "r", "a2", "u3"]),
        (100, texts(CHAT)),
    ],
)
async def test_token_window_boundaries(budget: int, expected: list[str]) -> None:
    memory = TokenWindowMemory(max_tokens=budget, counter=one_each)
    assert texts(await memory.select(CHAT)) == expected


async def test_token_window_refuses_when_the_newest_message_cannot_fit() -> None:
    with pytest.raises(ValidationError, match="beside the system message"):
        await TokenWindowMemory(max_tokens=1, counter=one_each).select(CHAT)
    with pytest.raises(ValidationError, match="does not fit in 1 tokens; raise"):
        await TokenWindowMemory(max_tokens=1, counter=lambda ms: 2).select([user("q")])
    with pytest.raises(ValidationError):
        TokenWindowMemory(max_tokens=0)
    assert await TokenWindowMemory(max_tokens=5).select([]) == []


async def test_token_window_with_the_catalog_counter_fits_the_real_count() -> None:
    model = "openai/gpt-4o"
    full = count_tokens(model, CHAT)
    memory = TokenWindowMemory(model, max_tokens=full - 1)
    kept = await memory.select(CHAT)
    assert count_tokens(model, kept) <= full - 1
    assert kept[0] == CHAT[0]
    assert kept[-1] == CHAT[-1]
    assert len(kept) < len(CHAT)
    assert await TokenWindowMemory(model, max_tokens=full).select(CHAT) == CHAT
    assert "gpt-4o" in repr(memory)


async def test_summary_folds_older_turns_and_extends_its_summary() -> None:
    seen: list[str] = []

    def summarize(messages, options):
        seen.append(messages[-1].text)
        return Response(content=[TextBlock(text=f"summary {len(seen)}")])

    memory = SummaryMemory(FunctionModel(summarize), keep_last=1)
    short = CHAT[:2]
    assert await memory.select(short) == short
    assert seen == []
    out = await memory.select(CHAT)
    assert out[0].text == "sys\n\nSummary of the earlier conversation:\nsummary 1"
    assert texts(out[1:]) == ["u3"]
    assert "user: u1" in seen[0]
    assert "[called f({'x': 1})]" in seen[0]
    # the same conversation again: no new call
    assert await memory.select(CHAT) == out
    assert len(seen) == 1
    # grown by a turn: only the newly folded turn is sent, with the summary so far
    longer = [*CHAT, assistant("a3"), user("u4")]
    out = await memory.select(longer)
    assert seen[1].startswith("Summary so far:\nsummary 1\n\nNew messages:\nuser: u3")
    assert texts(out) == [out[0].text, "u4"]
    assert out[0].text.endswith("summary 2")
    # a different conversation: summarized from scratch
    await memory.select([user("x"), user("y")])
    assert seen[2] == "user: x"
    assert memory.summary == "summary 3"


async def test_summary_without_a_system_message_and_bad_arguments() -> None:
    memory = SummaryMemory(MockModel(["S"]), keep_last=0)
    out = await memory.select([user("a"), assistant("b")])
    assert [m.role for m in out] == ["system"]
    assert out[0].text.endswith("\nS")
    with pytest.raises(ValidationError):
        SummaryMemory(MockModel(["S"]), keep_last=-1)
    assert repr(memory) == "SummaryMemory(keep_last=0)"
