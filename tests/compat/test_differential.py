"""Conduit's compat surface against LiteLLM itself, both pointed at the same local
OpenAI-compatible server: the same field names, types and (where deterministic) values,
and the same exception class names for the same error statuses.

LiteLLM stays offline: its local cost map is forced before it is imported, and the
suite's network guard refuses anything but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from types import ModuleType
from typing import Any

import pytest

import conduit.compat as compat
from conduit import errors
from tests.compat.conftest import ERRORS, CompatServer

pytestmark = [
    # LiteLLM's own code and dependencies warn (pydantic deprecations, unclosed
    # aiohttp sessions it keeps in its client cache); those are LiteLLM's, not ours.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
# Values that differ by nature: the time, and stream ids (LiteLLM passes the server's
# through; Conduit's stream events do not carry it, so chunks get a fresh chatcmpl- id).
NOT_DETERMINISTIC = {"created"}


@pytest.fixture(scope="module")
def litellm() -> ModuleType:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LiteLLM's import-time deprecation warnings
        import litellm
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


def _walk(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf (and empty container) by its dotted path."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(_walk(item, f"{path}.{key}" if path else str(key)))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            out.update(_walk(item, f"{path}[{i}]"))
    else:
        out[path] = value
    return out


def _compare(ours: Any, theirs: Any, *, skip: set[str] = NOT_DETERMINISTIC) -> None:
    # Token details are optional in OpenAI's schema; LiteLLM fills in estimates of its own
    # in rebuilt responses, Conduit reports only what the provider sent.
    mine = {k: v for k, v in _walk(ours.model_dump()).items() if "tokens_details" not in k}
    reference = _walk(theirs.model_dump())
    missing = sorted(set(mine) - set(reference))
    assert not missing, f"fields LiteLLM does not have: {missing}"
    for path, value in mine.items():
        other = reference[path]
        assert type(value) is type(other), (
            f"{path}: {type(value).__name__} vs {type(other).__name__}"
        )
        if path.rsplit(".", 1)[-1] not in skip:
            assert value == other, f"{path}: {value!r} vs {other!r}"


def _kw(server: CompatServer) -> dict[str, Any]:
    return {"api_base": server.base_url, "api_key": "sk-test-000", "num_retries": 0}


REQUIRED = {
    "id",
    "object",
    "created",
    "model",
    "choices[0].message.role",
    "choices[0].message.content",
    "choices[0].message.tool_calls",
    "choices[0].finish_reason",
    "usage.prompt_tokens",
    "usage.completion_tokens",
    "usage.total_tokens",
}


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="plain"),
        pytest.param({"tools": TOOLS, "tool_choice": "auto"}, id="tools"),
        pytest.param({"response_format": {"type": "json_object"}}, id="json"),
        pytest.param({"temperature": 0.0, "max_tokens": 20, "seed": 1}, id="options"),
    ],
)
def test_completion_matches_litellm(
    litellm: ModuleType, server: CompatServer, extra: dict[str, Any]
) -> None:
    theirs = litellm.completion(
        model="openai/gpt-4o-mini", messages=MESSAGES, **_kw(server), **extra
    )
    ours = compat.completion(model="openai/gpt-4o-mini", messages=MESSAGES, **_kw(server), **extra)
    _compare(ours, theirs)
    paths = set(_walk(ours.model_dump())) | {"choices[0].message.tool_calls"}
    assert {p for p in REQUIRED if not p.endswith("tool_calls")} <= paths
    assert ours.id.startswith("chatcmpl-")
    # attribute and item access alike
    assert ours.choices[0].message.content == ours["choices"][0]["message"]["content"]
    assert theirs.choices[0].message.content == ours.choices[0].message.content


def test_tool_call_objects_match(litellm: ModuleType, server: CompatServer) -> None:
    theirs = litellm.completion(
        model="openai/gpt-4o-mini", messages=MESSAGES, tools=TOOLS, **_kw(server)
    )
    ours = compat.completion(
        model="openai/gpt-4o-mini", messages=MESSAGES, tools=TOOLS, **_kw(server)
    )
    a, b = ours.choices[0].message.tool_calls[0], theirs.choices[0].message.tool_calls[0]
    assert (a.id, a.type, a.function.name, a.function.arguments) == (
        b.id,
        b.type,
        b.function.name,
        b.function.arguments,
    )


@pytest.mark.parametrize("extra", [{}, {"tools": TOOLS}], ids=["text", "tools"])
def test_stream_matches_litellm(
    litellm: ModuleType, server: CompatServer, extra: dict[str, Any]
) -> None:
    theirs = list(
        litellm.completion(
            model="openai/gpt-4o-mini", messages=MESSAGES, stream=True, **_kw(server), **extra
        )
    )
    ours = list(
        compat.completion(
            model="openai/gpt-4o-mini", messages=MESSAGES, stream=True, **_kw(server), **extra
        )
    )
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs, strict=True):
        _compare(mine, reference, skip={"created", "id"})
        assert mine.object == "chat.completion.chunk"
    assert len({c.id for c in ours}) == 1
    assert ours[0].id.startswith("chatcmpl-")
    built, reference = compat.stream_chunk_builder(ours), litellm.stream_chunk_builder(theirs)
    _compare(built, reference, skip={"created", "id"})


async def test_async_stream_matches_litellm(litellm: ModuleType, server: CompatServer) -> None:
    theirs = [
        c
        async for c in await litellm.acompletion(
            model="openai/gpt-4o-mini", messages=MESSAGES, stream=True, **_kw(server)
        )
    ]
    stream = await compat.acompletion(
        model="openai/gpt-4o-mini", messages=MESSAGES, stream=True, **_kw(server)
    )
    ours = [c async for c in stream]
    text = "".join(c.choices[0].delta.content or "" for c in ours)
    assert text == "".join(c.choices[0].delta.content or "" for c in theirs)
    await asyncio.sleep(0)


def test_embedding_matches_litellm(litellm: ModuleType, server: CompatServer) -> None:
    kw = {"api_base": server.base_url, "api_key": "sk-test-000"}
    theirs = litellm.embedding(model="openai/text-embedding-3-small", input=["a", "bb"], **kw)
    ours = compat.embedding(model="openai/text-embedding-3-small", input=["a", "bb"], **kw)
    _compare(ours, theirs)


# 403: LiteLLM's OpenAI path raises a bare APIError for it (its other providers raise
# PermissionDeniedError, as Conduit does for all); a documented difference.
@pytest.mark.parametrize("name", sorted(set(ERRORS) - {"403"}))
def test_errors_have_litellm_names(litellm: ModuleType, server: CompatServer, name: str) -> None:
    kw = {
        "api_base": server.error_base(name),
        "api_key": "sk-test-000",
        "num_retries": 0,
        "max_retries": 0,
    }
    with pytest.raises(Exception) as theirs:
        litellm.completion(model="openai/gpt-4o-mini", messages=MESSAGES, **kw)
    kw.pop("max_retries")
    with pytest.raises(errors.ConduitError) as ours:
        compat.completion(model="openai/gpt-4o-mini", messages=MESSAGES, **kw)
    assert type(ours.value).__name__ == type(theirs.value).__name__
    assert ours.value.status_code == theirs.value.status_code
    assert isinstance(ours.value, getattr(compat, type(ours.value).__name__))


def test_helpers_agree_with_litellm(litellm: ModuleType) -> None:
    messages = [{"role": "user", "content": "hello world"}]
    assert compat.token_counter(model="gpt-4o", messages=messages) == litellm.token_counter(
        model="gpt-4o", messages=messages
    )
    for name in ("gpt-4o", "gpt-4o-mini"):
        assert compat.supports_function_calling(name) == litellm.supports_function_calling(name)
        ours, theirs = compat.get_model_info(name), litellm.get_model_info(name)
        for key in ("max_input_tokens", "litellm_provider", "mode", "supports_function_calling"):
            assert ours[key] == theirs[key], key
