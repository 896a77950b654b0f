"""OpenAI's Responses API wire shapes and Conduit's types, both ways, for the gateway's
`POST /v1/responses`.

In (`check_responses`, `input_messages`): `input` (a string, or a list of items: messages
with `input_text`/`output_text`/`input_image` parts, `function_call` and
`function_call_output` items) becomes Conduit `Message`s; `instructions` a system
message for this call only (as OpenAI does, it is not carried to the next response);
`tools` (function tools), `tool_choice`, `text.format` (`text`, `json_object`,
`json_schema`: structured output), `max_output_tokens`, `temperature`, `top_p`, `user`
become `ChatOptions`. Every field is checked (400 naming it).

Out: a `Response` becomes a `response` object (`response_object`: a `message` output
item with its `output_text`, one `function_call` item per tool call, the usage), and
stream events become the Responses API's events
(`conduit.server.responses_stream.ResponsesEncoder`:
`response.created`, `response.in_progress`, `response.output_item.added`,
`response.content_part.added`, `response.output_text.delta`/`.done`,
`response.function_call_arguments.delta`/`.done`, `response.content_part.done`,
`response.output_item.done`, `response.completed`; `error` when the stream breaks).

Example:
    >>> request = check_responses({"model": "m", "input": "Hi", "instructions": "Be brief.",
    ...                            "max_output_tokens": 20})
    >>> [m.role for m in request.messages], request.instructions, request.options.max_tokens
    (['user'], 'Be brief.', 20)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic

from conduit.errors import ValidationError
from conduit.schema import (
    ChatOptions,
    ContentBlock,
    FunctionCall,
    ImageBlock,
    Message,
    Response,
    ResponseFormat,
    TextBlock,
    Tool,
    ToolCall,
    Usage,
)
from conduit.server.fields import bad_request

__all__ = [
    "RESPONSES_FIELDS",
    "ResponsesCall",
    "answer_message",
    "call_item",
    "check_responses",
    "input_messages",
    "message_item",
    "response_object",
    "text_part",
    "usage_object",
]

RESPONSES_FIELDS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "text",
        "max_output_tokens",
        "temperature",
        "top_p",
        "stream",
        "stream_options",
        "previous_response_id",
        "store",
        "user",
        "metadata",
        "parallel_tool_calls",
        "include",
        "reasoning",
        "truncation",
        "service_tier",
        "prompt_cache_key",
        "safety_identifier",
        "top_logprobs",
        "max_tool_calls",
        "background",
    }
)
"""The fields a Responses body may have (those the gateway reads, and OpenAI's that
change nothing here)."""

_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_CHOICES = frozenset({"auto", "none", "required"})


@dataclass(slots=True)
class ResponsesCall:
    """A checked Responses body: the new `messages` of this turn (without the
    instructions), the `instructions`, `options`, and what the answer echoes back.

    Example:
        >>> ResponsesCall([], ChatOptions()).id.startswith("resp_")
        True
    """

    messages: list[Message]
    options: ChatOptions
    instructions: str | None = None
    stream: bool = False
    store: bool = True
    previous: str | None = None
    user: str | None = None
    echo: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: f"resp_{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))


# -- in ---------------------------------------------------------------------------------


def _text_part(part: Mapping[str, Any], where: str) -> TextBlock:
    text = part.get("text") if part.get("type") != "refusal" else part.get("refusal")
    if not isinstance(text, str):
        raise bad_request(f"{where}.text must be a string", f"{where}.text")
    return TextBlock(text=text)


def _image_part(part: Mapping[str, Any], where: str) -> ImageBlock:
    url = part.get("image_url")
    if not isinstance(url, str) or not url:
        raise bad_request(
            f"{where}: an input_image needs an image_url (file_id is not served here)",
            f"{where}.image_url",
        )
    detail = part.get("detail")
    block = ImageBlock(url=url)  # a data: URL as it came; fetched by the provider
    return block.model_copy(update={"detail": detail}) if detail in ("low", "high") else block


def _parts(content: Any, where: str) -> str | list[ContentBlock]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise bad_request(f"{where} must be a string or a list of content parts", where)
    out: list[ContentBlock] = []
    for j, part in enumerate(content):
        at = f"{where}[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "refusal") and isinstance(part, dict):
            out.append(_text_part(part, at))
        elif kind == "input_image" and isinstance(part, dict):
            out.append(_image_part(part, at))
        else:
            raise bad_request(f"{at}: unsupported content part type {kind!r}", at)
    return out


def _function_call(item: Mapping[str, Any], where: str) -> ToolCall:
    call_id, name, arguments = item.get("call_id"), item.get("name"), item.get("arguments")
    if not isinstance(call_id, str) or not isinstance(name, str):
        raise bad_request(f"{where}: a function_call needs a call_id and a name", where)
    if not isinstance(arguments, str):
        raise bad_request(f"{where}.arguments must be a string", f"{where}.arguments")
    return ToolCall(id=call_id, function=FunctionCall.from_raw(name, arguments))


def _output(item: Mapping[str, Any], where: str) -> Message:
    call_id, output = item.get("call_id"), item.get("output")
    if not isinstance(call_id, str):
        raise bad_request(f"{where}.call_id is required", f"{where}.call_id")
    content = _parts(output, f"{where}.output")
    if isinstance(content, list) and all(isinstance(b, TextBlock) for b in content):
        content = "".join(b.text for b in content if isinstance(b, TextBlock))
    return Message(role="tool", tool_call_id=call_id, content=content)


def _item(item: Any, i: int, out: list[Message]) -> None:
    where = f"input[{i}]"
    if not isinstance(item, dict):
        raise bad_request(f"{where} must be an object", where)
    kind = item.get("type", "message")
    if kind == "message":
        given = item.get("role")
        role = _ROLES.get(given) if isinstance(given, str) else None
        if role is None:
            raise bad_request(f"{where}.role is not valid: {given!r}", f"{where}.role")
        out.append(Message(role=role, content=_parts(item.get("content"), f"{where}.content")))
    elif kind == "function_call":
        call = _function_call(item, where)
        last = out[-1] if out else None
        if last is not None and last.role == "assistant":
            out[-1] = last.model_copy(update={"tool_calls": [*last.tool_calls, call]})
        else:
            out.append(Message(role="assistant", content="", tool_calls=[call]))
    elif kind == "function_call_output":
        out.append(_output(item, where))
    elif kind == "reasoning":
        return  # no counterpart in Conduit's messages
    else:
        raise bad_request(f"{where}: input items of type {kind!r} are not served here", where)


def input_messages(value: Any) -> list[Message]:
    """`input` (a string or a list of items) as Conduit messages.

    Example:
        >>> [m.role for m in input_messages([
        ...     {"role": "user", "content": "Weather?"},
        ...     {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{}"},
        ...     {"type": "function_call_output", "call_id": "c1", "output": "Sunny"}])]
        ['user', 'assistant', 'tool']
    """
    if isinstance(value, str) and value:
        return [Message(role="user", content=value)]
    if not isinstance(value, list) or not value:
        raise bad_request("'input' must be a string or a non-empty list of items", "input")
    out: list[Message] = []
    try:
        for i, item in enumerate(value):
            _item(item, i, out)
    except (ValidationError, pydantic.ValidationError) as exc:
        raise bad_request(f"input: {exc}", "input") from None
    return out


def _tools(value: Any) -> list[Tool] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise bad_request("'tools' must be a list", "tools")
    out = []
    for j, tool in enumerate(value):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else tool
            raise bad_request(
                f"tools[{j}]: only function tools are served here, not {kind!r}", f"tools[{j}]"
            )
        try:
            out.append(
                Tool(
                    name=tool.get("name"),
                    description=tool.get("description") or "",
                    parameters=tool.get("parameters") or {"type": "object", "properties": {}},
                    strict=tool.get("strict"),
                )
            )
        except (ValidationError, pydantic.ValidationError) as exc:
            raise bad_request(f"tools[{j}]: {exc}", f"tools[{j}]") from None
    return out


def _tool_choice(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value in _CHOICES):
        return value
    if isinstance(value, dict) and value.get("type") == "function":
        name = value.get("name")
        if isinstance(name, str) and name:
            return name
    raise bad_request(f"'tool_choice' is not valid: {str(value)[:80]}", "tool_choice")


def _format(text: Any) -> ResponseFormat | None:
    if text is None:
        return None
    fmt = text.get("format") if isinstance(text, dict) else None
    if fmt is None and isinstance(text, dict):
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat(type="json_object")
    if kind == "json_schema" and isinstance(fmt, dict) and isinstance(fmt.get("schema"), dict):
        name = fmt.get("name") or "response"
        return ResponseFormat.from_schema(str(name), fmt["schema"], strict=fmt.get("strict"))
    raise bad_request(f"'text.format' is not valid: {str(fmt)[:80]}", "text.format")


def _whole(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise bad_request(f"'{name}' must be a whole number >= 1, not {value!r}", name)
    return value


def _number(body: Mapping[str, Any], name: str, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
        raise bad_request(f"'{name}' must be a number from 0 to {high:g}, not {value!r}", name)
    return float(value)


def _flag(body: Mapping[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_request(f"'{name}' must be true or false, not {value!r}", name)
    return value


def _string(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"'{name}' must be a string, not {value!r}", name)
    return value or None


def check_responses(body: Mapping[str, Any]) -> ResponsesCall:
    """A Responses body as a `ResponsesCall` (400 naming the field when one is wrong).
    Its `messages` are this turn's, after the instructions."""
    unknown = sorted(set(body) - RESPONSES_FIELDS)
    if unknown:
        raise bad_request(f"'{unknown[0]}': unknown field", unknown[0])
    if "input" not in body:
        raise bad_request("'input' is required", "input")
    if _flag(body, "background", False):
        raise bad_request("background responses are not served here", "background")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise bad_request("'metadata' must be an object", "metadata")
    instructions = _string(body, "instructions")
    messages = input_messages(body["input"])
    max_tokens = _whole(body, "max_output_tokens")
    options = ChatOptions(
        max_tokens=max_tokens,
        temperature=_number(body, "temperature", 2.0),
        top_p=_number(body, "top_p", 1.0),
        tools=_tools(body.get("tools")),
        tool_choice=_tool_choice(body.get("tool_choice")),
        response_format=_format(body.get("text")),
    )
    echo = {
        "instructions": instructions,
        "max_output_tokens": max_tokens,
        "metadata": metadata or {},
        "parallel_tool_calls": body.get("parallel_tool_calls", True) is not False,
        "temperature": options.temperature,
        "top_p": options.top_p,
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") or [],
        "text": body.get("text") or {"format": {"type": "text"}},
    }
    return ResponsesCall(
        messages,
        options,
        instructions=instructions,
        stream=_flag(body, "stream", False),
        store=_flag(body, "store", True),
        previous=_string(body, "previous_response_id"),
        user=_string(body, "user"),
        echo=echo,
    )


# -- out --------------------------------------------------------------------------------


def usage_object(usage: Usage) -> dict[str, Any]:
    """`Usage` as the Responses API's usage object.

    Example:
        >>> usage_object(Usage(input_tokens=3, output_tokens=2))["total_tokens"]
        5
    """
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cache_read_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


def message_item(rid: str, text: str, status: str) -> dict[str, Any]:
    """The `message` output item of response `rid` with `text`.

    Example:
        >>> message_item("resp_1", "Hi", "completed")["id"]
        'msg_1'
    """
    content = [] if status == "in_progress" else [text_part(text)]
    return {
        "type": "message",
        "id": "msg_" + rid.removeprefix("resp_"),
        "status": status,
        "role": "assistant",
        "content": content,
    }


def text_part(text: str) -> dict[str, Any]:
    """An `output_text` content part.

    Example:
        >>> text_part("Hi")["type"]
        'output_text'
    """
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def call_item(
    rid: str, index: int, call_id: str, name: str, arguments: str, status: str
) -> dict[str, Any]:
    """The `function_call` output item of response `rid`'s `index`th tool call.

    Example:
        >>> call_item("resp_1", 0, "call_1", "w", "{}", "completed")["id"]
        'fc_1_0'
    """
    return {
        "type": "function_call",
        "id": f"fc_{rid.removeprefix('resp_')}_{index}",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def response_object(
    request: ResponsesCall,
    model: str,
    response: Response | None = None,
    *,
    previous: str | None = None,
) -> dict[str, Any]:
    """The `response` object of `request`, named `model`: `response`'s output and usage,
    or, with None, one still in progress.

    Example:
        >>> request = ResponsesCall([], ChatOptions(), id="resp_1", created=0)
        >>> out = response_object(request, "chat", Response(content=[TextBlock(text="Hi")]))
        >>> out["status"], out["output"][0]["content"][0]["text"]
        ('completed', 'Hi')
    """
    output: list[dict[str, Any]] = []
    status, incomplete = "in_progress", None
    usage = None
    if response is not None:
        status = "completed"
        if response.stop_reason in ("max_tokens", "content_filter"):
            status = "incomplete"
            reason = (
                "max_output_tokens" if response.stop_reason == "max_tokens" else "content_filter"
            )
            incomplete = {"reason": reason}
        if response.text or not response.tool_calls:
            output.append(message_item(request.id, response.text, "completed"))
        for i, call in enumerate(response.tool_calls):
            raw = call.function.raw_arguments
            output.append(call_item(request.id, i, call.id, call.name, raw, "completed"))
        usage = usage_object(response.usage)
    return {
        "id": request.id,
        "object": "response",
        "created_at": request.created,
        "status": status,
        "error": None,
        "incomplete_details": incomplete,
        "model": model,
        "output": output,
        "previous_response_id": previous if previous is not None else request.previous,
        "store": request.store,
        "usage": usage,
        "user": request.user,
        **request.echo,
    }


def answer_message(response: Response) -> Message:
    """`response` as the assistant message a next response's conversation carries.

    Example:
        >>> answer_message(Response(content=[TextBlock(text="Hi")])).text
        'Hi'
    """
    return Message(role="assistant", content=response.text, tool_calls=response.tool_calls)
