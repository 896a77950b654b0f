"""Our messages → what a local model's chat template takes, and its output → tool calls.

Chat templates in GGUF files (SmolLM2's is plain ChatML) take `role` and a string
`content`, and most know nothing of tools. So tools are described in the system
message, a tool call is the JSON object `{"name": …, "arguments": {…}}`, and tool
results come back as user turns. When a call is required, llama.cpp's grammar holds
the output to exactly that object for the declared tools, so it always parses.

Example:
    >>> from conduit.schema import user
    >>> template_messages([user("Hi")])
    [{'role': 'user', 'content': 'Hi'}]
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from conduit.errors import ValidationError
from conduit.schema import (
    AudioBlock,
    ChatOptions,
    FunctionCall,
    ImageBlock,
    Message,
    TextBlock,
    Tool,
    ToolCall,
)

__all__ = [
    "StopMatcher",
    "forced_tool",
    "output_schema",
    "parse_tool_call",
    "template_messages",
    "tool_call_schema",
]


def _text_of(message: Message) -> str:
    if isinstance(message.content, str):
        return message.content
    parts: list[str] = []
    for block in message.content:
        if isinstance(block, TextBlock):
            parts.append(block.text)
        elif isinstance(block, ImageBlock | AudioBlock):
            raise ValidationError(
                f"the local model reads text only; this {message.role} message has an "
                f"{block.type} block. Use a vision or audio model for it."
            )
    return "\n".join(parts)


def _call_json(call: ToolCall) -> str:
    return json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)


def _tools_prompt(tools: list[Tool], forced: Tool | None, *, required: bool) -> str:
    lines = ["You can call these tools:"]
    for tool in tools:
        description = f": {tool.description}" if tool.description else ""
        lines.append(f"- {tool.name}{description}")
        lines.append(f"  arguments (JSON Schema): {json.dumps(tool.parameters)}")
    if forced is not None:
        lines.append(
            f"Call the tool {forced.name}: answer with only the JSON object "
            f'{{"name": "{forced.name}", "arguments": {{...}}}}.'
        )
    elif required:
        lines.append(
            'Call one of them: answer with only a JSON object {"name": "<tool name>", '
            '"arguments": {...}}.'
        )
    else:
        lines.append(
            'To call a tool, answer with only a JSON object: {"name": "<tool name>", '
            '"arguments": {...}}. Otherwise, answer the user normally.'
        )
    return "\n".join(lines)


def forced_tool(options: ChatOptions) -> Tool | bool | None:
    """What `tool_choice` demands: a specific `Tool`, `True` (any tool), or `None`.

    Example:
        >>> forced_tool(ChatOptions(tools=[Tool(name="f")], tool_choice="f")).name
        'f'
    """
    tools = options.tools or []
    choice = options.tool_choice
    if not tools or choice in (None, "auto", "none"):
        return None
    if choice == "required":
        return True if len(tools) > 1 else tools[0]
    for tool in tools:
        if tool.name == choice:
            return tool
    raise ValidationError(
        f"tool_choice {choice!r} names no declared tool; "
        f"declared: {', '.join(t.name for t in tools)}"
    )


def template_messages(
    messages: list[Message],
    *,
    tools: list[Tool] | None = None,
    forced: Tool | bool | None = None,
    extra_system: str | None = None,
) -> list[dict[str, str]]:
    """Messages as `{"role", "content"}` dicts with string content, tools folded in.

    Example:
        >>> from conduit.schema import system, user
        >>> template_messages([system("Be brief."), user("Hi")],
        ...                   extra_system="Answer in JSON.")[0]["content"]
        'Be brief.\\n\\nAnswer in JSON.'
    """
    names: dict[str, str] = {}
    out: list[dict[str, str]] = []
    for message in messages:
        text = _text_of(message)
        if message.role == "assistant" and message.tool_calls:
            for call in message.tool_calls:
                names[call.id] = call.name
            calls = "\n".join(_call_json(call) for call in message.tool_calls)
            text = f"{text}\n{calls}" if text else calls
            out.append({"role": "assistant", "content": text})
        elif message.role == "tool":
            name = message.name or names.get(message.tool_call_id or "", "the tool")
            out.append({"role": "user", "content": f"Result of {name}: {text}"})
        else:
            out.append({"role": message.role, "content": text})

    notes: list[str] = []
    if tools:
        notes.append(
            _tools_prompt(
                tools, forced if isinstance(forced, Tool) else None, required=forced is True
            )
        )
    if extra_system:
        notes.append(extra_system)
    if notes:
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": "\n\n".join([out[0]["content"], *notes])}
        else:
            out.insert(0, {"role": "system", "content": "\n\n".join(notes)})
    return out


def _call_schema(tool: Tool) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"name": {"const": tool.name}, "arguments": tool.parameters},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def tool_call_schema(tools: list[Tool]) -> dict[str, Any]:
    """The JSON Schema of one call to any of `tools` (the grammar for forced calls).

    Example:
        >>> tool_call_schema([Tool(name="f")])["properties"]["name"]
        {'const': 'f'}
    """
    if len(tools) == 1:
        return _call_schema(tools[0])
    return {"anyOf": [_call_schema(tool) for tool in tools]}


def output_schema(options: ChatOptions) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON Schema the output must match (`{}` = any JSON object), and the note that
    asks for it, from `response_format`.

    Example:
        >>> from conduit.schema import ResponseFormat
        >>> output_schema(ChatOptions(response_format=ResponseFormat(type="json_object")))[0]
        {'type': 'object'}
    """
    fmt = options.response_format
    if fmt is None or fmt.type == "text":
        return None, None
    if fmt.type == "json_object" or fmt.json_schema is None:
        return {"type": "object"}, "Answer with a JSON object."
    schema = fmt.json_schema
    return schema, f"Answer with a JSON object matching this JSON Schema: {json.dumps(schema)}"


def parse_tool_call(text: str, tools: list[Tool]) -> ToolCall | None:
    """The tool call in `text` when it is exactly one call to a declared tool, else `None`.

    Example:
        >>> parse_tool_call('{"name": "f", "arguments": {"x": 1}}', [Tool(name="f")]).arguments
        {'x': 1}
        >>> parse_tool_call("Paris.", [Tool(name="f")]) is None
        True
    """
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(data, dict) or set(data) - {"name", "arguments"}:
        return None
    name, arguments = data.get("name"), data.get("arguments", {})
    if name not in {tool.name for tool in tools} or not isinstance(arguments, dict):
        return None
    return ToolCall(
        id=f"call_{uuid.uuid4().hex[:24]}",
        function=FunctionCall.from_arguments(name, arguments),
    )


class StopMatcher:
    """Cuts streamed text at the first stop sequence, holding back only what could be
    the start of one, so no stop text ever reaches the caller.

    Example:
        >>> m = StopMatcher(["END"])
        >>> m.feed("Hello E"), m.feed("ND more"), m.stopped
        ('Hello ', '', True)
    """

    def __init__(self, stops: list[str] | None) -> None:
        self._stops = [s for s in stops or [] if s]
        self._longest = max((len(s) for s in self._stops), default=0)
        self._held = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Text that is safe to pass on now."""
        if not self._stops:
            return text
        if self.stopped:
            return ""
        buffer = self._held + text
        cut = min((i for i in (buffer.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._held = ""
            return buffer[:cut]
        keep = 0
        for size in range(min(self._longest - 1, len(buffer)), 0, -1):
            if any(s.startswith(buffer[-size:]) for s in self._stops):
                keep = size
                break
        self._held = buffer[len(buffer) - keep :]
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        """What was held back, once the text has ended without a stop sequence."""
        held, self._held = self._held, ""
        return "" if self.stopped else held
