"""Hypothesis strategies for Conduit's data model (valid values only)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from conduit.schema import (
    AudioBlock,
    ChatOptions,
    Done,
    FunctionCall,
    ImageBlock,
    Message,
    Response,
    ResponseFormat,
    TextBlock,
    TextDelta,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)

# JSON cannot carry lone surrogates; everything else in Unicode is fair game.
text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
nonempty_text = text.filter(lambda s: s != "")
identifier = st.from_regex(r"[A-Za-z0-9_.\-]{1,20}", fullmatch=True)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(text, json_values, max_size=5)

text_blocks = st.builds(TextBlock, text=text)
image_blocks = st.one_of(
    st.builds(
        ImageBlock,
        url=nonempty_text,
        detail=st.sampled_from([None, "auto", "low", "high"]),
    ),
    st.builds(
        ImageBlock,
        data=st.binary(max_size=16).map(lambda b: b.hex()),
        media_type=st.sampled_from(["image/png", "image/jpeg", "image/webp"]),
    ),
)
audio_blocks = st.builds(
    AudioBlock, data=st.binary(max_size=16).map(lambda b: b.hex()), format=st.just("wav")
)
content_blocks = st.one_of(text_blocks, image_blocks, audio_blocks)

usages = st.builds(
    Usage,
    input_tokens=st.integers(0, 10**9),
    output_tokens=st.integers(0, 10**9),
    total_tokens=st.integers(0, 10**9),
    cache_read_tokens=st.integers(0, 10**9),
    cache_creation_tokens=st.integers(0, 10**9),
)

function_calls = st.one_of(
    st.builds(FunctionCall.from_arguments, identifier, json_objects),
    st.builds(FunctionCall.from_raw, identifier, st.none() | text),
)
tool_calls = st.builds(ToolCall, id=nonempty_text, function=function_calls)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    role = draw(st.sampled_from(["system", "user", "assistant", "tool"]))
    content: str | list[Any] = draw(
        nonempty_text | st.lists(content_blocks, min_size=1, max_size=3)
    )
    if role == "assistant":
        return Message(
            role=role,
            content=draw(st.just("") | st.just(content)),
            tool_calls=draw(st.lists(tool_calls, max_size=3)),
            name=draw(st.none() | identifier),
        )
    if role == "tool":
        return Message(role=role, content=draw(text), tool_call_id=draw(nonempty_text))
    return Message(role=role, content=content, name=draw(st.none() | identifier))


responses = st.builds(
    Response,
    id=text,
    model=text,
    provider=st.none() | identifier,
    content=st.lists(content_blocks, max_size=3),
    tool_calls=st.lists(tool_calls, max_size=3),
    stop_reason=st.sampled_from(
        [None, "end_turn", "tool_use", "max_tokens", "stop_sequence", "content_filter"]
    ),
    usage=usages,
    duration=st.none() | st.floats(min_value=0, max_value=1e6, allow_nan=False),
)

tools = st.builds(
    Tool,
    name=identifier,
    description=text,
    parameters=st.just({"type": "object", "properties": {}}) | json_objects,
    strict=st.none() | st.booleans(),
)
response_formats = st.one_of(
    st.builds(ResponseFormat, type=st.sampled_from(["text", "json_object"])),
    st.builds(
        ResponseFormat.from_schema,
        identifier,
        json_objects,
        strict=st.none() | st.booleans(),
    ),
)

chat_options = st.builds(
    ChatOptions,
    temperature=st.none() | st.floats(min_value=0, max_value=2),
    max_tokens=st.none() | st.integers(min_value=1, max_value=10**6),
    top_p=st.none() | st.floats(min_value=0, max_value=1),
    stop=st.none() | st.lists(text, max_size=3),
    seed=st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
    tools=st.none() | st.lists(tools, max_size=2),
    tool_choice=st.none() | st.sampled_from(["auto", "none", "required"]) | identifier,
    response_format=st.none() | response_formats,
    extra=json_objects,
)

stream_events = st.one_of(
    st.builds(TextDelta, text=text),
    st.builds(
        ToolCallDelta,
        index=st.integers(0, 100),
        id=st.none() | nonempty_text,
        name=st.none() | identifier,
        arguments=text,
    ),
    st.builds(UsageEvent, usage=usages),
    st.builds(Done, response=responses),
)
