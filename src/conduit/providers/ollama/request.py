"""Our request → Ollama's native `POST /api/chat` body.

Follows Ollama's API reference (docs/api.md, "Generate a chat completion"): messages
with `content`, base64 `images`, `tool_calls` (arguments as an object, no ids) and
`tool_name` on tool results; sampling settings inside `options` (Modelfile parameter
names: `num_predict` is the output-token limit); `format` is `"json"` or a JSON schema.

Example:
    >>> from conduit.schema import user
    >>> body = build_chat_payload("llama3.2", [user("Hi")], ChatOptions(max_tokens=5))
    >>> body["options"], body["stream"]
    ({'num_predict': 5}, False)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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

__all__ = ["build_chat_payload", "message_to_wire", "messages_to_wire", "tool_to_wire"]


def _image_data(block: ImageBlock) -> str:
    """The image as Ollama wants it: bare base64 (a `data:` URL is unwrapped)."""
    if block.data is not None:
        return block.data
    url = block.url or ""
    header, comma, data = url.partition(",")
    if url.startswith("data:") and comma and header.endswith(";base64") and data:
        return data
    raise ValidationError(
        f"Ollama takes images as base64 data, not URLs ({url[:80]!r}); download the image "
        "and pass ImageBlock.from_bytes(raw, media_type) instead"
    )


def _tool_call_to_wire(call: ToolCall) -> dict[str, Any]:
    # Ollama's ToolCall is only {"function": {"name", "arguments"}}: no id, and the
    # arguments as an object. Arguments that were not valid JSON go back empty.
    return {"function": {"name": call.function.name, "arguments": call.function.arguments}}


def message_to_wire(message: Message, tool_name: str | None = None) -> dict[str, Any]:
    """One message in Ollama's shape; `tool_name` names the tool a tool result answers.

    Example:
        >>> from conduit.schema import ImageBlock, user
        >>> message_to_wire(user("What is this?", ImageBlock(data="iVBORw0KGgo=",
        ...                                                   media_type="image/png")))
        {'role': 'user', 'content': 'What is this?', 'images': ['iVBORw0KGgo=']}
    """
    content = message.content
    images: list[str] = []
    if isinstance(content, str):
        text = content
    else:
        parts = []
        for block in content:
            if isinstance(block, TextBlock):
                parts.append(block.text)
            elif isinstance(block, ImageBlock):
                images.append(_image_data(block))
            elif isinstance(block, AudioBlock):
                raise ValidationError("Ollama's chat API does not take audio input")
        text = "".join(parts)
    wire: dict[str, Any] = {"role": message.role, "content": text}
    if images:
        wire["images"] = images
    if message.role == "assistant" and message.tool_calls:
        wire["tool_calls"] = [_tool_call_to_wire(c) for c in message.tool_calls]
    if message.role == "tool":
        name = tool_name or message.name
        if name:
            wire["tool_name"] = name
    return wire


def messages_to_wire(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """All messages; each tool result gets the name of the call it answers, looked up by
    `tool_call_id` among the assistant's earlier calls (Ollama matches results by name).

    Example:
        >>> from conduit.schema import FunctionCall, assistant, tool_result
        >>> call = ToolCall(id="call_1", function=FunctionCall.from_arguments("add", {"a": 1}))
        >>> messages_to_wire([assistant(tool_calls=[call]), tool_result("call_1", "2")])[1]
        {'role': 'tool', 'content': '2', 'tool_name': 'add'}
    """
    names: dict[str, str] = {}
    wire = []
    for message in messages:
        if message.role == "assistant":
            for call in message.tool_calls:
                names[call.id] = call.function.name
        name = names.get(message.tool_call_id or "") if message.role == "tool" else None
        wire.append(message_to_wire(message, name))
    return wire


def tool_to_wire(tool: Tool) -> dict[str, Any]:
    """A tool definition in the `{"type": "function", "function": {...}}` shape Ollama
    shares with OpenAI (Ollama has no `strict`).

    Example:
        >>> tool_to_wire(Tool(name="now"))["function"]["name"]
        'now'
    """
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
    if tool.description:
        function["description"] = tool.description
    return {"type": "function", "function": function}


def _format(fmt: ResponseFormat) -> str | dict[str, Any] | None:
    if fmt.type == "json_object":
        return "json"
    if fmt.type == "json_schema":
        return fmt.json_schema
    return None  # "text": Ollama's default


def build_chat_payload(
    model: str, messages: list[Message], options: ChatOptions, *, stream: bool = False
) -> dict[str, Any]:
    """The JSON body for `POST /api/chat`.

    `options.extra` is merged in last (`keep_alive`, `think`, ...); its `options` dict,
    if any, is merged into the Modelfile options (`num_ctx`, `top_k`, ...) rather than
    replacing them.

    Ollama cannot force a tool call, so `tool_choice` may only be `"auto"` (its default)
    or `"none"` (the tools are then left out).

    Example:
        >>> from conduit.schema import user
        >>> build_chat_payload("llama3.2", [user("Hi")], ChatOptions(
        ...     temperature=0, extra={"keep_alive": "10m", "options": {"num_ctx": 8192}}))
        {'model': 'llama3.2', 'messages': [{'role': 'user', 'content': 'Hi'}], 'stream': False, \
'options': {'temperature': 0.0, 'num_ctx': 8192}, 'keep_alive': '10m'}
    """
    payload: dict[str, Any] = {
        "model": model,
        "messages": messages_to_wire(messages),
        "stream": stream,
    }
    wire_options: dict[str, Any] = {}
    if options.temperature is not None:
        wire_options["temperature"] = options.temperature
    if options.top_p is not None:
        wire_options["top_p"] = options.top_p
    if options.seed is not None:
        wire_options["seed"] = options.seed
    if options.stop:
        wire_options["stop"] = options.stop
    if options.max_tokens is not None:
        wire_options["num_predict"] = options.max_tokens
    choice = options.tool_choice
    if choice not in (None, "auto", "none"):
        raise ValidationError(
            f"Ollama cannot force a tool call (tool_choice={choice!r}); use 'auto' (the "
            "default) or 'none'"
        )
    if options.tools and choice != "none":
        payload["tools"] = [tool_to_wire(t) for t in options.tools]
    if options.response_format is not None:
        fmt = _format(options.response_format)
        if fmt is not None:
            payload["format"] = fmt
    extra = dict(options.extra)
    more = extra.pop("options", None)
    if more is not None:
        if not isinstance(more, Mapping):
            raise ValidationError(
                "extra['options'] must be a dict of Ollama model options, e.g. {'num_ctx': 8192}"
            )
        wire_options.update(more)
    if wire_options:
        payload["options"] = wire_options
    payload.update(extra)
    return payload
