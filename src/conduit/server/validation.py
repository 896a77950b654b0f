"""Every chat request checked against OpenAI's request schema before anything goes
upstream, on the forwarding path and the typed path alike.

The rules follow OpenAI's API reference for "Create chat completion" (the request body):
each parameter's type, its range (`temperature` 0-2, `top_p` 0-1, penalties -2-2,
`n` 1-128, `top_logprobs` 0-20, `logit_bias` values -100-100, at most 4 `stop`
sequences), its allowed values (`reasoning_effort`, `service_tier`, `verbosity`,
`modalities`), and the shape of each message by role, of tools, `tool_choice`,
`response_format`, `stream_options` and `prediction`. Numbers must be finite, and a
boolean is never a number. `null` is accepted wherever OpenAI accepts it (the field is
then as if absent).

A body that breaks a rule is refused with a 400 `invalid_request_error` whose `param`
names the field (`messages[1].content[0].image_url.url`), before any limit is counted or
anything is sent: a malformed body must not reach an upstream, which may answer it with
a 500, charge for it, or read `"stream": "no"` as true.

Example:
    >>> check_chat_body({"model": "m", "messages": [{"role": "user", "content": "hi"}],
    ...                  "temperature": "hot"})
    Traceback (most recent call last):
    ...
    conduit.server.errors.GatewayError: [HTTP 400] 'temperature' must be a number between 0 and 2, not 'hot'
"""  # noqa: E501

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from conduit.server.errors import GatewayError
from conduit.server.fields import bad_request

__all__ = ["check_chat_body", "check_embeddings_body"]

_Check = Callable[[Any, str], object]
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(where: str, need: str, value: Any) -> GatewayError:
    return bad_request(f"'{where}' must be {need}, not {_show(value)}", where)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _number(low: float, high: float) -> _Check:
    def check(value: Any, where: str) -> None:
        if not _is_number(value) or not low <= value <= high:
            raise _fail(where, f"a number between {low:g} and {high:g}", value)

    return check


def _whole(low: int, high: int | None = None) -> _Check:
    def check(value: Any, where: str) -> None:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
        if not ok or (high is not None and value > high):
            span = f"between {low} and {high}" if high is not None else f">= {low}"
            raise _fail(where, f"a whole number {span}", value)

    return check


def _any_whole(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, "a whole number", value)


def _flag(value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise _fail(where, "true or false", value)


def _text(value: Any, where: str) -> None:
    if not isinstance(value, str):
        raise _fail(where, "a string", value)


def _one_of(*choices: str) -> _Check:
    def check(value: Any, where: str) -> None:
        if value not in choices:
            raise _fail(where, "one of " + ", ".join(repr(c) for c in choices), value)

    return check


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "an object", value)
    return value


def _array(value: Any, where: str, *, empty: bool = True) -> list[Any]:
    if not isinstance(value, list) or (not empty and not value):
        raise _fail(where, "an array" if empty else "a non-empty array", value)
    return value


def _fields(value: Mapping[str, Any], where: str, checks: Mapping[str, _Check]) -> None:
    for name, check in checks.items():
        found = value.get(name)
        if found is not None:
            check(found, f"{where}.{name}")


def _stop(value: Any, where: str) -> None:
    if isinstance(value, str):
        return
    items = _array(value, where)
    if len(items) > 4 or not all(isinstance(s, str) for s in items):
        raise _fail(where, "a string or an array of at most 4 strings", value)


def _logit_bias(value: Any, where: str) -> None:
    for token, bias in _object(value, where).items():
        if not token.lstrip("-").isdigit():
            raise _fail(where, "an object of token ids (as strings) to numbers", value)
        if not _is_number(bias) or not -100 <= bias <= 100:
            raise _fail(f"{where}.{token}", "a number between -100 and 100", bias)


def _metadata(value: Any, where: str) -> None:
    for name, item in _object(value, where).items():
        if not isinstance(item, str):
            raise _fail(f"{where}.{name}", "a string", item)


def _parts(value: Any, where: str, kinds: frozenset[str]) -> None:
    for i, part in enumerate(_array(value, where)):
        here = f"{where}[{i}]"
        kind = _object(part, here).get("type")
        if kind not in kinds:
            raise _fail(f"{here}.type", "one of " + ", ".join(sorted(kinds)), kind)
        if kind == "text":
            _text(part.get("text"), f"{here}.text")
        elif kind == "refusal":
            _text(part.get("refusal"), f"{here}.refusal")
        elif kind == "image_url":
            image = part.get("image_url")
            if isinstance(image, str):  # a shorthand several clients send
                continue
            image = _object(image, f"{here}.image_url")
            _text(image.get("url"), f"{here}.image_url.url")
            if image.get("detail") is not None:
                _one_of("auto", "low", "high")(image["detail"], f"{here}.image_url.detail")
        elif kind == "input_audio":
            audio = _object(part.get("input_audio"), f"{here}.input_audio")
            _text(audio.get("data"), f"{here}.input_audio.data")
            _text(audio.get("format"), f"{here}.input_audio.format")
        elif kind == "file":
            _fields(
                _object(part.get("file"), f"{here}.file"),
                f"{here}.file",
                {"file_data": _text, "file_id": _text, "filename": _text},
            )


_TEXT_PARTS = frozenset({"text"})
_USER_PARTS = frozenset({"text", "image_url", "input_audio", "file"})
_ASSISTANT_PARTS = frozenset({"text", "refusal"})


def _content(value: Any, where: str, kinds: frozenset[str]) -> None:
    if isinstance(value, str):
        return
    _parts(value, where, kinds)


def _tool_calls(value: Any, where: str) -> None:
    for i, call in enumerate(_array(value, where)):
        here = f"{where}[{i}]"
        _object(call, here)
        _text(call.get("id"), f"{here}.id")
        if call.get("type", "function") != "function":
            raise _fail(f"{here}.type", "'function'", call.get("type"))
        function = _object(call.get("function"), f"{here}.function")
        _text(function.get("name"), f"{here}.function.name")
        _text(function.get("arguments"), f"{here}.function.arguments")


def _message(value: Any, where: str) -> None:
    message = _object(value, where)
    role = message.get("role")
    if role not in ("system", "developer", "user", "assistant", "tool", "function"):
        raise _fail(f"{where}.role", "one of system, developer, user, assistant, tool", role)
    content = message.get("content")
    name = message.get("name")
    if name is not None:
        _text(name, f"{where}.name")
    if role in ("system", "developer"):
        if content is None:
            raise _fail(f"{where}.content", "a string or an array of text parts", content)
        _content(content, f"{where}.content", _TEXT_PARTS)
    elif role == "user":
        if content is None:
            raise _fail(f"{where}.content", "a string or an array of content parts", content)
        _content(content, f"{where}.content", _USER_PARTS)
    elif role == "assistant":
        if content is not None:
            _content(content, f"{where}.content", _ASSISTANT_PARTS)
        _fields(message, where, {"refusal": _text, "tool_calls": _tool_calls})
        if message.get("audio") is not None:
            _text(_object(message["audio"], f"{where}.audio").get("id"), f"{where}.audio.id")
    elif role == "tool":
        if content is None:
            raise _fail(f"{where}.content", "a string or an array of text parts", content)
        _content(content, f"{where}.content", _TEXT_PARTS)
        _text(message.get("tool_call_id"), f"{where}.tool_call_id")
    elif content is not None:  # function (deprecated): a string
        _text(content, f"{where}.content")


def _messages(value: Any, where: str) -> None:
    for i, message in enumerate(_array(value, where, empty=False)):
        _message(message, f"{where}[{i}]")


def _tool(value: Any, where: str) -> None:
    tool = _object(value, where)
    kind = tool.get("type", "function")
    if kind == "custom":
        custom = _object(tool.get("custom"), f"{where}.custom")
        _text(custom.get("name"), f"{where}.custom.name")
        return
    if kind != "function":
        raise _fail(f"{where}.type", "'function' or 'custom'", kind)
    function = _object(tool.get("function"), f"{where}.function")
    name = function.get("name")
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise _fail(f"{where}.function.name", "1-64 letters, digits, _ or -", name)
    _fields(
        function,
        f"{where}.function",
        {"description": _text, "parameters": _object, "strict": _flag},
    )


def _tools(value: Any, where: str) -> None:
    for i, tool in enumerate(_array(value, where)):
        _tool(tool, f"{where}[{i}]")


def _tool_choice(value: Any, where: str) -> None:
    if isinstance(value, str):
        _one_of("none", "auto", "required")(value, where)
        return
    choice = _object(value, where)
    kind = choice.get("type")
    if kind == "function":
        function = _object(choice.get("function"), f"{where}.function")
        _text(function.get("name"), f"{where}.function.name")
    elif kind == "custom":
        _text(_object(choice.get("custom"), f"{where}.custom").get("name"), f"{where}.custom")
    elif kind == "allowed_tools":
        allowed = _object(choice.get("allowed_tools"), f"{where}.allowed_tools")
        _one_of("auto", "required")(allowed.get("mode"), f"{where}.allowed_tools.mode")
        _array(allowed.get("tools"), f"{where}.allowed_tools.tools")
    else:
        raise _fail(f"{where}.type", "one of 'function', 'custom', 'allowed_tools'", kind)


def _response_format(value: Any, where: str) -> None:
    kind = _object(value, where).get("type")
    if kind in ("text", "json_object"):
        return
    if kind != "json_schema":
        raise _fail(f"{where}.type", "one of 'text', 'json_object', 'json_schema'", kind)
    spec = _object(value.get("json_schema"), f"{where}.json_schema")
    _text(spec.get("name"), f"{where}.json_schema.name")
    _fields(
        spec,
        f"{where}.json_schema",
        {"schema": _object, "strict": _flag, "description": _text},
    )


def _stream_options(value: Any, where: str) -> None:
    _fields(
        _object(value, where),
        where,
        {"include_usage": _flag, "include_obfuscation": _flag},
    )


def _prediction(value: Any, where: str) -> None:
    prediction = _object(value, where)
    if prediction.get("type") != "content":
        raise _fail(f"{where}.type", "'content'", prediction.get("type"))
    _content(prediction.get("content"), f"{where}.content", _TEXT_PARTS)


def _audio(value: Any, where: str) -> None:
    audio = _object(value, where)
    _text(audio.get("voice"), f"{where}.voice")
    _text(audio.get("format"), f"{where}.format")


def _modalities(value: Any, where: str) -> None:
    for i, item in enumerate(_array(value, where)):
        _one_of("text", "audio")(item, f"{where}[{i}]")


_CHAT: dict[str, _Check] = {
    "messages": _messages,
    "model": _text,
    "stream": _flag,
    "stream_options": _stream_options,
    "temperature": _number(0, 2),
    "top_p": _number(0, 1),
    "presence_penalty": _number(-2, 2),
    "frequency_penalty": _number(-2, 2),
    "max_tokens": _whole(1),
    "max_completion_tokens": _whole(1),
    "n": _whole(1, 128),
    "seed": _any_whole,
    "stop": _stop,
    "logit_bias": _logit_bias,
    "logprobs": _flag,
    "top_logprobs": _whole(0, 20),
    "tools": _tools,
    "tool_choice": _tool_choice,
    "parallel_tool_calls": _flag,
    "response_format": _response_format,
    "reasoning_effort": _one_of("none", "minimal", "low", "medium", "high"),
    "modalities": _modalities,
    "audio": _audio,
    "prediction": _prediction,
    "service_tier": _one_of("auto", "default", "flex", "scale", "priority"),
    "verbosity": _one_of("low", "medium", "high"),
    "web_search_options": _object,
    "user": _text,
    "metadata": _metadata,
    "store": _flag,
}


def check_chat_body(body: Mapping[str, Any]) -> None:
    """Check a Chat Completions body against OpenAI's request schema (see the module's
    text); a 400 naming the first field that breaks it. Fields the schema does not know
    are refused elsewhere (`conduit.server.fields.passed_on`).

    Example:
        >>> check_chat_body({"model": "m", "messages": [1, 2]})
        Traceback (most recent call last):
        ...
        conduit.server.errors.GatewayError: [HTTP 400] 'messages[0]' must be an object, not 1
    """
    if body.get("messages") is None:
        raise bad_request("'messages' is required: a non-empty array of messages", "messages")
    for name, check in _CHAT.items():
        value = body.get(name)
        if value is not None:
            check(value, name)


def _inputs(value: Any, where: str) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list) or not value or not all(isinstance(t, str) for t in value):
        raise _fail(where, "a string or a non-empty array of strings", value)


_EMBED: dict[str, _Check] = {
    "input": _inputs,
    "model": _text,
    "dimensions": _whole(1),
    "encoding_format": _one_of("float", "base64"),
    "user": _text,
}


def check_embeddings_body(body: Mapping[str, Any]) -> None:
    """Check an Embeddings body against OpenAI's request schema; a 400 naming the field.

    Example:
        >>> check_embeddings_body({"model": "e", "input": "hi", "dimensions": 0})
        Traceback (most recent call last):
        ...
        conduit.server.errors.GatewayError: [HTTP 400] 'dimensions' must be a whole number >= 1, not 0
    """  # noqa: E501
    if body.get("input") is None:
        raise bad_request("'input' is required", "input")
    for name, check in _EMBED.items():
        value = body.get(name)
        if value is not None:
            check(value, name)
