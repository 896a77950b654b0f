"""Our request → Anthropic Messages API payload.

Follows the API reference for `POST /v1/messages`
(https://docs.anthropic.com/en/api/messages):

- system messages go to the top-level `system` field (the API has no system role in
  `messages`); every system message is hoisted there, in order;
- the API wants user and assistant turns to alternate, so consecutive messages of the same
  role are merged into one turn, and our `role="tool"` messages become `tool_result` blocks
  of a user turn (several results in a row share one turn; inside a user turn the results
  come before any text, as the tool-use guide requires);
- `max_tokens` is required: the model's default fills it in when the call gives none.

JSON output: Anthropic's documented way to get JSON of a given shape is a tool whose
`input_schema` is the schema, with `tool_choice` forcing it ("JSON mode" in the tool-use
guide); the answer is that tool's input, which `response.py` turns back into text.

Prompt caching (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching):
`ChatOptions(extra={"cache_control": {"type": "ephemeral"}})` places that marker on the
last tool definition, the last system block and the last block of the last message
(3 of the 4 breakpoints the API allows), so tools, the system prompt and the conversation
so far are each cached.

Example:
    >>> from conduit.schema import system, user
    >>> body = build_messages_payload("claude-sonnet-4-5", [system("Be brief."), user("Hi")],
    ...                               ChatOptions())
    >>> body["system"], body["messages"], body["max_tokens"]
    ('Be brief.', [{'role': 'user', 'content': 'Hi'}], 4096)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from conduit.errors import ValidationError
from conduit.schema import (
    ChatOptions,
    ImageBlock,
    Message,
    TextBlock,
    Tool,
    ToolChoice,
)

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "IMAGE_MEDIA_TYPES",
    "JSONOutput",
    "JSON_TOOL_NAME",
    "build_messages_payload",
    "json_output",
    "messages_to_wire",
    "tool_choice_to_wire",
    "tool_to_wire",
]

DEFAULT_MAX_TOKENS = 4096
"""`max_tokens` when the call sets none (the API requires the field)."""

JSON_TOOL_NAME = "json_response"
"""The output tool's name when the response format has none."""

# The vision guide's supported formats; anything else is refused by the API with a 400.
IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

_CHOICES: dict[str, dict[str, Any]] = {
    "auto": {"type": "auto"},
    "required": {"type": "any"},
    "none": {"type": "none"},
}
_TOOL_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_JSON_TOOL_DESCRIPTION = "Give the final answer by calling this tool; its input is the answer."


# ---------------------------------------------------------------------------- content


def _image_to_wire(block: ImageBlock) -> dict[str, Any]:
    """An image block: a URL source, or base64 (a `data:` URL is unpacked into base64)."""
    if block.data is not None:
        media_type, data = block.media_type or "", block.data
    else:
        url = block.url or ""
        if not url.startswith("data:"):
            return {"type": "image", "source": {"type": "url", "url": url}}
        header, _, data = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if encoding != "base64":
            raise ValidationError("Anthropic takes data: URLs for images only in base64")
    if media_type not in IMAGE_MEDIA_TYPES:
        raise ValidationError(
            f"Anthropic accepts images as {', '.join(sorted(IMAGE_MEDIA_TYPES))}, "
            f"not {media_type!r}"
        )
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": data},
    }


def _blocks_to_wire(message: Message, *, images: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            # The API refuses empty text blocks; an empty one carries nothing anyway.
            if block.text:
                out.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            if not images:
                raise ValidationError(
                    f"Anthropic accepts images only in user and tool messages, "
                    f"not in {message.role} messages"
                )
            out.append(_image_to_wire(block))
        else:
            raise ValidationError("Anthropic's Messages API does not accept audio input")
    return out


def _tool_result_to_wire(message: Message) -> dict[str, Any]:
    content: str | list[dict[str, Any]] = (
        message.content
        if isinstance(message.content, str)
        else _blocks_to_wire(message, images=True)
    )
    return {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": content}


def _turn_blocks(message: Message) -> list[dict[str, Any]]:
    """The content blocks one (non-system) message contributes to its turn."""
    if message.role == "tool":
        return [_tool_result_to_wire(message)]
    if message.role == "user":
        return _blocks_to_wire(message, images=True)
    blocks = _blocks_to_wire(message, images=False)
    for call in message.tool_calls:
        # `input` must be an object: arguments that were not valid JSON go as `{}`.
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        )
    return blocks


def _system_text(message: Message) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"type": "text", "text": message.content}]
    return _blocks_to_wire(message, images=False)


def messages_to_wire(
    messages: list[Message],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Our messages → (system text blocks, alternating `messages` turns).

    Example:
        >>> from conduit.schema import assistant, system, tool_result, user
        >>> from conduit.schema import FunctionCall, ToolCall
        >>> call = ToolCall(id="toolu_1", function=FunctionCall.from_raw("add", '{"a": 1}'))
        >>> sys, turns = messages_to_wire([system("Be brief."), user("1+?"),
        ...     assistant(tool_calls=[call]), tool_result("toolu_1", "2"), user("Thanks")])
        >>> sys
        [{'type': 'text', 'text': 'Be brief.'}]
        >>> [t["role"] for t in turns], [b["type"] for b in turns[2]["content"]]
        (['user', 'assistant', 'user'], ['tool_result', 'text'])
    """
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            system.extend(_system_text(message))
            continue
        blocks = _turn_blocks(message)
        if not blocks:
            # An empty assistant turn (a reply cut off before any text): the API refuses
            # empty content, and there is nothing in it to send.
            continue
        role = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        content = turn["content"]
        if turn["role"] == "user" and len(content) > 1:
            # tool_result blocks must open the user turn (stable: order kept otherwise).
            content.sort(key=lambda block: block["type"] != "tool_result")
        if len(content) == 1 and content[0]["type"] == "text":
            turn["content"] = content[0]["text"]  # the API's shorthand for one text block
    return system, turns


# ---------------------------------------------------------------------------- tools


def tool_to_wire(tool: Tool) -> dict[str, Any]:
    """A tool definition: `name`, `description`, and the JSON Schema as `input_schema`.

    Example:
        >>> tool_to_wire(Tool(name="add", parameters={"type": "object"}))
        {'name': 'add', 'input_schema': {'type': 'object'}}
    """
    wire: dict[str, Any] = {"name": tool.name, "input_schema": tool.parameters}
    if tool.description:
        wire["description"] = tool.description
    if tool.strict is not None:
        wire["strict"] = tool.strict
    return wire


def tool_choice_to_wire(choice: ToolChoice) -> dict[str, Any]:
    """Our `tool_choice` → Anthropic's: auto → auto, required → any, none → none, a tool's
    name → that tool.

    Example:
        >>> tool_choice_to_wire("required"), tool_choice_to_wire("get_weather")
        ({'type': 'any'}, {'type': 'tool', 'name': 'get_weather'})
    """
    wire = _CHOICES.get(choice)
    return dict(wire) if wire is not None else {"type": "tool", "name": choice}


# ---------------------------------------------------------------------------- JSON output


@dataclass(frozen=True, slots=True)
class JSONOutput:
    """How a JSON answer is asked for: through the tool `tool`, whose input schema wraps the
    caller's schema in a `value` property when that schema is not an object (`wrapped`):
    a tool's input must be a JSON object.

    Example:
        >>> json_output(ChatOptions(response_format={"type": "json_object"}))
        JSONOutput(tool='json_response', schema={'type': 'object'}, wrapped=False)
    """

    tool: str
    schema: dict[str, Any]
    wrapped: bool = False


def json_output(options: ChatOptions) -> JSONOutput | None:
    """The output tool for the call's `response_format`, or None when it asks for text.

    Example:
        >>> fmt = {"type": "json_schema", "name": "numbers",
        ...        "schema": {"type": "array", "items": {"type": "integer"}}}
        >>> out = json_output(ChatOptions(response_format=fmt))
        >>> out.tool, out.wrapped, out.schema["required"]
        ('numbers', True, ['value'])
    """
    fmt = options.response_format
    if fmt is None or fmt.type == "text":
        return None
    name = _TOOL_NAME_UNSAFE.sub("_", fmt.name or "")[:64] or JSON_TOOL_NAME
    schema = fmt.json_schema if fmt.type == "json_schema" else None
    if schema is None:
        return JSONOutput(name, {"type": "object"})
    if schema.get("type") == "object":
        return JSONOutput(name, schema)
    inner = {k: v for k, v in schema.items() if k not in ("$defs", "definitions")}
    wrapper: dict[str, Any] = {
        "type": "object",
        "properties": {"value": inner},
        "required": ["value"],
    }
    # `$ref`s point at the document root: the definitions stay there.
    for key in ("$defs", "definitions"):
        if key in schema:
            wrapper[key] = schema[key]
    return JSONOutput(name, wrapper, wrapped=True)


def _json_tool_choice(options: ChatOptions, output: JSONOutput) -> dict[str, Any]:
    choice = options.tool_choice
    if choice not in (None, "auto", "required"):
        raise ValidationError(
            f"response_format JSON on Anthropic works through a forced tool call, so it "
            f"cannot be combined with tool_choice={choice!r}"
        )
    if options.tools:
        # The model may still call the caller's tools; whatever it calls, it calls a tool.
        return {"type": "any"}
    return {"type": "tool", "name": output.tool}


# ---------------------------------------------------------------------------- caching


def _place_cache_control(payload: dict[str, Any], marker: Any) -> None:
    """Mark the last tool, the last system block and the last message block."""
    tools = payload.get("tools")
    if tools:
        tools[-1] = {**tools[-1], "cache_control": marker}
    system = payload.get("system")
    if system:
        if isinstance(system, str):
            system = [{"type": "text", "text": system}]
        system[-1] = {**system[-1], "cache_control": marker}
        payload["system"] = system
    turns = payload["messages"]
    if turns:
        last = turns[-1]
        content = last["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        content[-1] = {**content[-1], "cache_control": marker}
        last["content"] = content


# ---------------------------------------------------------------------------- payload


def build_messages_payload(
    model: str,
    messages: list[Message],
    options: ChatOptions,
    *,
    stream: bool = False,
    default_max_tokens: int = DEFAULT_MAX_TOKENS,
) -> dict[str, Any]:
    """The JSON body for `POST /v1/messages`.

    `seed` has no Anthropic counterpart and is not sent. `extra` is merged last, except its
    `cache_control`, which is placed on blocks (see the module docstring).

    Example:
        >>> from conduit.schema import user
        >>> body = build_messages_payload("claude-haiku-4-5", [user("Hi")],
        ...     ChatOptions(max_tokens=50, stop=["END"], temperature=0.2), stream=True)
        >>> body["max_tokens"], body["stop_sequences"], body["temperature"], body["stream"]
        (50, ['END'], 0.2, True)
    """
    system, turns = messages_to_wire(messages)
    payload: dict[str, Any] = {
        "model": model,
        "max_tokens": options.max_tokens or default_max_tokens,
    }
    if system:
        only_text = len(system) == 1
        payload["system"] = system[0]["text"] if only_text else system
    payload["messages"] = turns
    if options.temperature is not None:
        payload["temperature"] = options.temperature
    if options.top_p is not None:
        payload["top_p"] = options.top_p
    if options.stop:
        payload["stop_sequences"] = options.stop
    tools = [tool_to_wire(t) for t in options.tools or ()]
    output = json_output(options)
    if output is not None:
        if any(t["name"] == output.tool for t in tools):
            raise ValidationError(
                f"the JSON output tool is named {output.tool!r} like one of the tools; "
                f"give the response format another name"
            )
        tools.append(
            {
                "name": output.tool,
                "description": _JSON_TOOL_DESCRIPTION,
                "input_schema": output.schema,
            }
        )
        payload["tool_choice"] = _json_tool_choice(options, output)
    elif options.tool_choice is not None:
        payload["tool_choice"] = tool_choice_to_wire(options.tool_choice)
    if tools:
        payload["tools"] = tools
    if stream:
        payload["stream"] = True
    if options.extra:
        extra = dict(options.extra)
        marker = extra.pop("cache_control", None)
        if marker:
            _place_cache_control(payload, marker)
        payload.update(extra)
    return payload
