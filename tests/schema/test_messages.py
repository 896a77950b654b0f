"""Messages, the helpers that build them, and `normalize_messages`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest

from conduit.errors import ValidationError
from conduit.schema import (
    AudioBlock,
    FunctionCall,
    ImageBlock,
    Message,
    TextBlock,
    ToolCall,
    assistant,
    normalize_messages,
    system,
    tool_result,
    user,
)

CALL = ToolCall(id="call_1", function=FunctionCall.from_raw("add", '{"a": 1}'))


def test_system_helper() -> None:
    m = system("Be brief.")
    assert (m.role, m.content, m.text) == ("system", "Be brief.", "Be brief.")


def test_user_helper_with_one_string_keeps_a_string() -> None:
    m = user("Hi")
    assert m.role == "user"
    assert m.content == "Hi"
    assert m.blocks == [TextBlock(text="Hi")]


def test_user_helper_with_blocks_makes_a_block_list() -> None:
    image = ImageBlock(url="https://x.test/a.png")
    m = user("What is this?", image, "Be precise.")
    assert m.content == [TextBlock(text="What is this?"), image, TextBlock(text="Be precise.")]
    assert m.text == "What is this?Be precise."
    assert [b.type for b in m.blocks] == ["text", "image", "text"]


def test_user_helper_with_one_block() -> None:
    audio = AudioBlock.from_bytes(b"RIFF", "wav")
    assert user(audio).content == [audio]
    assert user(audio).text == ""


def test_user_helper_needs_content() -> None:
    with pytest.raises(ValidationError, match="user\\(\\) needs some content"):
        user()
    with pytest.raises(ValidationError, match="a user message needs content"):
        user("")


def test_assistant_helper() -> None:
    assert assistant("Paris.").text == "Paris."
    m = assistant(tool_calls=[CALL])
    assert m.content == ""
    assert m.tool_calls == [CALL]
    assert m.blocks == []
    both = assistant("Adding.", tool_calls=(CALL,))
    assert both.text == "Adding."
    assert both.tool_calls == [CALL]


def test_assistant_message_may_be_empty() -> None:
    # Models do give empty answers (cut off by max_tokens); they must fit in a history.
    assert assistant().content == ""
    assert Message(role="assistant", content=[]).text == ""


def test_tool_result_helper() -> None:
    m = tool_result("call_1", "22°C")
    assert (m.role, m.tool_call_id, m.text) == ("tool", "call_1", "22°C")
    assert tool_result("call_1", "").text == ""  # an empty result is still a result


def test_message_text_joins_text_blocks_only() -> None:
    m = Message(
        role="user",
        content=[TextBlock(text="a"), ImageBlock(url="u"), TextBlock(text="b")],
    )
    assert m.text == "ab"
    assert m.blocks is not m.content  # a copy: callers may not mutate the message through it


def test_image_block_helpers() -> None:
    by_url = ImageBlock(url="https://x.test/a.png")
    assert by_url.as_data_url() == "https://x.test/a.png"
    raw = ImageBlock.from_bytes(b"\x00\x01", "image/png")
    assert raw.data == "AAE="
    assert raw.as_data_url() == "data:image/png;base64,AAE="


def test_audio_block_from_bytes() -> None:
    a = AudioBlock.from_bytes(b"\x00\x01", "mp3")
    assert (a.data, a.format, a.type) == ("AAE=", "mp3", "audio")


class TestNormalizeMessages:
    def test_string_is_one_user_message(self) -> None:
        assert normalize_messages("hi") == [user("hi")]

    def test_message_is_wrapped(self) -> None:
        m = system("s")
        assert normalize_messages(m) == [m]

    def test_dict_in_openai_shape(self) -> None:
        assert normalize_messages({"role": "system", "content": "Be brief"}) == [system("Be brief")]

    def test_any_mapping_works(self) -> None:
        proxy: Mapping[str, Any] = MappingProxyType({"role": "user", "content": "hi"})
        assert normalize_messages(proxy) == [user("hi")]
        assert normalize_messages([proxy]) == [user("hi")]

    def test_list_of_mixed_items(self) -> None:
        got = normalize_messages(
            [
                {"role": "system", "content": "Be brief"},
                "hi",
                assistant("hello"),
                {"role": "tool", "content": "3", "tool_call_id": "c"},
            ]
        )
        assert [m.role for m in got] == ["system", "user", "assistant", "tool"]
        assert got[1] == user("hi")

    def test_tuple_and_generator(self) -> None:
        def gen() -> Iterator[str]:
            yield "a"
            yield "b"

        assert normalize_messages(("a", "b")) == normalize_messages(gen()) == [user("a"), user("b")]

    def test_dict_with_nested_blocks_and_tool_calls(self) -> None:
        got = normalize_messages(
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "adding"}],
                "tool_calls": [{"id": "c", "function": {"name": "add", "arguments": {"a": 1}}}],
            }
        )
        assert got[0].tool_calls[0].arguments == {"a": 1}

    def test_empty_list_is_an_error(self) -> None:
        with pytest.raises(ValidationError, match="messages is empty"):
            normalize_messages([])

    @pytest.mark.parametrize("bad", [None, 42, 3.5, object()])
    def test_bad_types(self, bad: Any) -> None:
        with pytest.raises(ValidationError, match=type(bad).__name__):
            normalize_messages(bad)

    @pytest.mark.parametrize("bad_item", [None, 42, ["nested"]])
    def test_bad_items_in_a_list(self, bad_item: Any) -> None:
        with pytest.raises(ValidationError, match="a message must be a Message, dict or str"):
            normalize_messages(["fine", bad_item])

    def test_bad_dict_is_a_validation_error(self) -> None:
        with pytest.raises(ValidationError, match=r"Message\.role"):
            normalize_messages([{"role": "robot", "content": "x"}])
        with pytest.raises(ValidationError, match=r"Message\.role"):
            normalize_messages({"content": "x"})
