"""Every field check of the gateway's request validation (`conduit.server.validation`),
one row each: a bad value is a 400 naming the field as the caller wrote it, and the good
bodies beside them pass untouched."""

from __future__ import annotations

from typing import Any

import pytest

from conduit.server.errors import GatewayError
from conduit.server.validation import check_chat_body, check_embeddings_body

HI = [{"role": "user", "content": "hi"}]
FN = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}

BAD_CHAT: list[tuple[dict[str, Any], str]] = [
    ({"messages": []}, "messages"),
    ({"messages": "hi"}, "messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "system"}]}, "messages[0].content"),
    ({"messages": [{"role": "user"}]}, "messages[0].content"),
    ({"messages": [{"role": "tool", "tool_call_id": "1"}]}, "messages[0].content"),
    (
        {"messages": [{"role": "user", "content": [{"type": "video"}]}]},
        "messages[0].content[0].type",
    ),
    (
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 5}]}]},
        "messages[0].content[0]",
    ),
    (
        {
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "1", "type": "web", "function": {"name": "f"}}],
                }
            ]
        },
        "messages[0].tool_calls[0].type",
    ),
    ({"messages": HI, "stream": "no"}, "stream"),
    ({"messages": HI, "stream_options": "x"}, "stream_options"),
    ({"messages": HI, "temperature": "hot"}, "temperature"),
    ({"messages": HI, "temperature": float("nan")}, "temperature"),
    ({"messages": HI, "top_p": 2}, "top_p"),
    ({"messages": HI, "max_tokens": -5}, "max_tokens"),
    ({"messages": HI, "max_tokens": 1.5}, "max_tokens"),
    ({"messages": HI, "n": 500}, "n"),
    ({"messages": HI, "seed": "x"}, "seed"),
    ({"messages": HI, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"messages": HI, "stop": 3}, "stop"),
    ({"messages": HI, "logit_bias": {"abc": 1}}, "logit_bias"),
    ({"messages": HI, "logit_bias": {"50256": 500}}, "logit_bias.50256"),
    ({"messages": HI, "logprobs": 1}, "logprobs"),
    ({"messages": HI, "top_logprobs": 50}, "top_logprobs"),
    ({"messages": HI, "tools": [{"type": "web"}]}, "tools[0].type"),
    ({"messages": HI, "tools": [{"type": "function", "function": {"name": "a b"}}]}, "name"),
    ({"messages": HI, "tool_choice": "sometimes"}, "tool_choice"),
    ({"messages": HI, "tool_choice": {"type": "magic"}}, "tool_choice.type"),
    ({"messages": HI, "response_format": {"type": "xml"}}, "response_format.type"),
    ({"messages": HI, "reasoning_effort": "extreme"}, "reasoning_effort"),
    ({"messages": HI, "service_tier": "gold"}, "service_tier"),
    ({"messages": HI, "verbosity": 3}, "verbosity"),
    ({"messages": HI, "web_search_options": "yes"}, "web_search_options"),
    ({"messages": HI, "user": 42}, "user"),
    ({"messages": HI, "metadata": {"team": 1}}, "metadata.team"),
    ({"messages": HI, "prediction": {"type": "guess"}}, "prediction.type"),
    ({"messages": HI, "modalities": "text"}, "modalities"),
    ({"messages": HI, "audio": "loud"}, "audio"),
    ({"messages": HI, "store": "yes"}, "store"),
    ({"model": "m"}, "messages"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CHAT, ids=[f for _, f in BAD_CHAT])
def test_a_bad_chat_field_is_a_400_naming_it(body: dict[str, Any], field: str) -> None:
    with pytest.raises(GatewayError) as caught:
        check_chat_body({"model": "m", **body})
    assert caught.value.status == 400
    assert field in str(caught.value)


GOOD_CHAT: list[dict[str, Any]] = [
    {"messages": HI},
    {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "low"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "1", "content": "sunny"},
        ],
        "tools": [FN],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "response_format": {"type": "json_object"},
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.5,
        "max_tokens": 10,
        "stop": ["\n"],
        "logit_bias": {"50256": -100},
        "metadata": {"team": "a"},
        "seed": -3,
    },
    {"messages": HI, "tool_choice": "auto", "stop": "END", "response_format": {"type": "text"}},
]


@pytest.mark.parametrize("body", GOOD_CHAT)
def test_good_chat_bodies_pass(body: dict[str, Any]) -> None:
    check_chat_body({"model": "m", **body})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "input"),
        ({"input": []}, "input"),
        ({"input": [1, 2]}, "input"),
        ({"input": "hi", "dimensions": 0}, "dimensions"),
        ({"input": "hi", "encoding_format": "hex"}, "encoding_format"),
        ({"input": "hi", "user": 7}, "user"),
    ],
)
def test_a_bad_embeddings_field_is_a_400_naming_it(body: dict[str, Any], field: str) -> None:
    with pytest.raises(GatewayError) as caught:
        check_embeddings_body({"model": "e", **body})
    assert caught.value.status == 400
    assert field in str(caught.value)


def test_good_embeddings_bodies_pass() -> None:
    check_embeddings_body({"model": "e", "input": ["a", "b"], "dimensions": 8})
    check_embeddings_body({"model": "e", "input": "a", "encoding_format": "base64"})
