"""Our request → OpenAI Chat Completions payload.

Follows the API reference for `POST /v1/chat/completions`
(https://platform.openai.com/docs/api-reference/chat/create).
"""

from __future__ import annotations

from typing import Any

from conduit.errors import ValidationError
from conduit.schema import (
    AudioBlock,
    ChatOptions,
    ImageBlock,
    Message,
    ResponseFormat,
    TextBlock,
    Tool,
    ToolCall,
)

__all__ = ["build_chat_payload", "message_to_wire", "tool_to_wire"]

_CHOICES = frozenset({"auto", "none", "required"})


def _content_to_wire(message: Message) -> str | list[dict[str, Any]]:
    content = message.content
    if isinstance(content, str):
        return content
    if all(isinstance(b, TextBlock) for b in content):
        # Plain text as a string: accepted for every role, by every compatible server.
        return "".join(b.text for b in content if isinstance(b, TextBlock))
    if message.role != "user":
        raise ValidationError(
            f"OpenAI accepts images and audio only in user messages, not in {message.role} messages"
        )
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            image: dict[str, Any] = {"url": block.as_data_url()}
            if block.detail:
                image["detail"] = block.detail
            parts.append({"type": "image_url", "image_url": image})
        elif isinstance(block, AudioBlock):
            if block.format not in ("wav", "mp3"):
                raise ValidationError(
                    f"OpenAI input audio must be wav or mp3, not {block.format!r}"
                )
            parts.append(
                {"type": "input_audio", "input_audio": {"data": block.data, "format": block.format}}
            )
    return parts


def _tool_call_to_wire(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.function.name, "arguments": call.function.raw_arguments},
    }


def message_to_wire(message: Message) -> dict[str, Any]:
    """One message in OpenAI's shape.

    Example:
        >>> from conduit.schema import user
        >>> message_to_wire(user("Hi"))
        {'role': 'user', 'content': 'Hi'}
    """
    wire: dict[str, Any] = {"role": message.role}
    if message.role == "assistant" and message.tool_calls:
        wire["content"] = _content_to_wire(message) or None
        wire["tool_calls"] = [_tool_call_to_wire(c) for c in message.tool_calls]
    else:
        wire["content"] = _content_to_wire(message)
    if message.role == "tool":
        wire["tool_call_id"] = message.tool_call_id
    if message.name and message.role in ("user", "system", "assistant"):
        wire["name"] = message.name
    return wire


def tool_to_wire(tool: Tool) -> dict[str, Any]:
    """A tool definition in OpenAI's `{"type": "function", "function": {...}}` shape."""
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
    if tool.description:
        function["description"] = tool.description
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def _response_format(fmt: ResponseFormat) -> dict[str, Any]:
    if fmt.type != "json_schema":
        return {"type": fmt.type}
    spec: dict[str, Any] = {"name": fmt.name or "response", "schema": fmt.json_schema}
    if fmt.strict is not None:
        spec["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": spec}


def build_chat_payload(
    model: str,
    messages: list[Message],
    options: ChatOptions,
    *,
    stream: bool = False,
    max_tokens_field: str = "max_completion_tokens",
) -> dict[str, Any]:
    """The JSON body for a chat completion.

    OpenAI itself wants `max_completion_tokens` (`max_tokens` is deprecated and refused
    by reasoning models); most compatible servers want `max_tokens`: the provider entry
    says which.

    Example:
        >>> from conduit.schema import user
        >>> body = build_chat_payload("gpt-4o-mini", [user("Hi")], ChatOptions(max_tokens=5))
        >>> body["max_completion_tokens"]
        5
    """
    payload: dict[str, Any] = {"model": model, "messages": [message_to_wire(m) for m in messages]}
    if options.temperature is not None:
        payload["temperature"] = options.temperature
    if options.top_p is not None:
        payload["top_p"] = options.top_p
    if options.max_tokens is not None:
        payload[max_tokens_field] = options.max_tokens
    if options.stop:
        payload["stop"] = options.stop
    if options.seed is not None:
        payload["seed"] = options.seed
    if options.tools:
        payload["tools"] = [tool_to_wire(t) for t in options.tools]
    if options.tool_choice is not None:
        choice = options.tool_choice
        payload["tool_choice"] = (
            choice if choice in _CHOICES else {"type": "function", "function": {"name": choice}}
        )
    if options.response_format is not None:
        payload["response_format"] = _response_format(options.response_format)
    if stream:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    if options.extra:
        payload.update(options.extra)
    return payload
