"""Our request → a Gemini `GenerateContentRequest` body.

Follows the API reference for `models.generateContent`
(https://ai.google.dev/api/generate-content#request-body) and its `Content`, `Part`,
`Tool`, `ToolConfig` and `GenerationConfig` objects:

- system messages → `systemInstruction` (text only); user → role `user`, assistant →
  role `model`; tool results → `functionResponse` parts in a `user` turn, named after
  the call they answer (Gemini pairs results by name, so the name is looked up from the
  call's id); consecutive turns of one role are merged into one (the results of parallel
  calls share a turn, and some models refuse turns that do not alternate);
- base64 images and audio → `inlineData`; an image URL → `fileData.fileUri` (a `data:`
  URL is unpacked into `inlineData`). Gemini fetches only URIs it supports (Files API
  uploads, YouTube, public HTTP(S) URLs on current models); others are refused by the
  API with a `BadRequestError`;
- tools → one `functionDeclarations` tool, `parameters` rewritten into Gemini's OpenAPI
  subset (`conduit.providers.gemini.schema`); a recursive schema goes as
  `parametersJsonSchema` instead; `tool_choice` → `toolConfig.functionCallingConfig`;
- a JSON `response_format` → `responseMimeType: application/json`, plus the schema as
  `responseJsonSchema` (full JSON Schema; Gemini 2.5 and later);
- `options.extra` is merged into the body last, dict into dict (so
  `extra={"generationConfig": {"topK": 40}}` adds to the generated config).

Example:
    >>> from conduit.schema import ChatOptions, system, user
    >>> body = build_generate_payload([system("Be brief."), user("Hi")],
    ...                               ChatOptions(temperature=0, max_tokens=64))
    >>> body["systemInstruction"], body["contents"]
    ({'parts': [{'text': 'Be brief.'}]}, [{'role': 'user', 'parts': [{'text': 'Hi'}]}])
    >>> body["generationConfig"]
    {'temperature': 0.0, 'maxOutputTokens': 64}
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping
from typing import Any

import orjson

from conduit.errors import ValidationError
from conduit.providers.gemini.calls import CallMemory
from conduit.providers.gemini.schema import RecursiveSchemaError, to_gemini_schema
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

__all__ = [
    "AUDIO_MIME_TYPES",
    "SKIP_SIGNATURE",
    "build_generate_payload",
    "image_part",
    "tool_to_wire",
]

log = logging.getLogger("conduit.providers.gemini")

# https://ai.google.dev/gemini-api/docs/audio#supported-formats
AUDIO_MIME_TYPES: dict[str, str] = {
    "wav": "audio/wav",
    "mp3": "audio/mp3",
    "mpeg": "audio/mp3",
    "aiff": "audio/aiff",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
}
# https://ai.google.dev/gemini-api/docs/thought-signatures: the placeholder Google
# documents for function calls whose real signature is not at hand.
SKIP_SIGNATURE = "skip_thought_signature_validator"
_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


def image_part(block: ImageBlock) -> dict[str, Any]:
    """An image as a `Part`: `inlineData` for base64 data, `fileData` for a URL.

    Example:
        >>> image_part(ImageBlock(url="https://example.com/cat.png"))
        {'fileData': {'mimeType': 'image/png', 'fileUri': 'https://example.com/cat.png'}}
        >>> image_part(ImageBlock(url="data:image/jpeg;base64,/9j/4AAQ"))
        {'inlineData': {'mimeType': 'image/jpeg', 'data': '/9j/4AAQ'}}
    """
    if block.data is not None:
        return {"inlineData": {"mimeType": block.media_type, "data": block.data}}
    url = block.url or ""
    if url.startswith("data:"):
        header, comma, data = url[5:].partition(",")
        mime, _, encoding = header.partition(";")
        if not comma or encoding != "base64" or not mime:
            raise ValidationError(
                "a data: URL image must be base64 with a media type, "
                "like 'data:image/png;base64,...'"
            )
        return {"inlineData": {"mimeType": mime, "data": data}}
    file_data: dict[str, Any] = {}
    guessed = block.media_type or mimetypes.guess_type(url.split("?", 1)[0])[0]
    if guessed:
        file_data["mimeType"] = guessed
    file_data["fileUri"] = url
    return {"fileData": file_data}


def _audio_part(block: AudioBlock) -> dict[str, Any]:
    fmt = block.format.lower()
    mime = fmt if "/" in fmt else AUDIO_MIME_TYPES.get(fmt, f"audio/{fmt}")
    return {"inlineData": {"mimeType": mime, "data": block.data}}


def _content_parts(message: Message) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"text": message.content}] if message.content else []
    parts: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, TextBlock):
            parts.append({"text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append(image_part(block))
        elif isinstance(block, AudioBlock):
            parts.append(_audio_part(block))
    return parts


def _call_part(call: ToolCall, first: bool, memory: CallMemory | None) -> dict[str, Any]:
    remembered = memory.recall(call.id) if memory is not None else None
    function: dict[str, Any] = {"name": call.function.name, "args": call.function.arguments}
    if remembered is not None and remembered[1]:
        function["id"] = call.id
    part: dict[str, Any] = {"functionCall": function}
    signature = remembered[0] if remembered is not None else None
    if signature:
        part["thoughtSignature"] = signature
    elif first and remembered is None:
        # Gemini 3 refuses an earlier call without its signature; for history it never
        # signed (another process, another provider) Google documents this placeholder.
        part["thoughtSignature"] = SKIP_SIGNATURE
    return part


def _function_response(message: Message, names: Mapping[str, str]) -> dict[str, Any]:
    call_id = message.tool_call_id or ""
    name = names.get(call_id) or message.name
    if not name:
        raise ValidationError(
            f"the tool result for call {call_id!r} answers no earlier tool call in these "
            "messages; Gemini pairs results with calls by function name, so include the "
            "assistant message that made the call (or set the tool message's name=)"
        )
    if not isinstance(message.content, str) and any(
        not isinstance(b, TextBlock) for b in message.content
    ):
        raise ValidationError("Gemini tool results are text (or JSON); images are not supported")
    text = message.text
    # `response` must be a JSON object; Google suggests an "output" key for plain results.
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        parsed = None
    response = parsed if isinstance(parsed, dict) else {"output": text}
    function: dict[str, Any] = {"name": name, "response": response}
    return function


def _append(contents: list[dict[str, Any]], role: str, parts: list[dict[str, Any]]) -> None:
    """Add a turn; a turn of the same role as the last one is merged into it (results
    of parallel calls share a turn, and some models refuse turns that do not alternate)."""
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    else:
        contents.append({"role": role, "parts": parts})


def _contents(
    messages: list[Message], memory: CallMemory | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(systemInstruction parts, contents)."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for message in messages:
        role = message.role
        if role == "tool":
            function = _function_response(message, names)
            remembered = memory.recall(message.tool_call_id or "") if memory else None
            if remembered is not None and remembered[1]:
                function["id"] = message.tool_call_id
            _append(contents, "user", [{"functionResponse": function}])
        elif role == "system":
            if not isinstance(message.content, str) and any(
                not isinstance(b, TextBlock) for b in message.content
            ):
                raise ValidationError("Gemini's system instruction takes text only")
            system.append({"text": message.text})
        elif role == "assistant":
            parts = _content_parts(message)
            for i, call in enumerate(message.tool_calls):
                names[call.id] = call.function.name
                parts.append(_call_part(call, i == 0, memory))
            if parts:
                _append(contents, "model", parts)
            else:
                # An empty answer (cut off, or filtered) has nothing to replay, and Gemini
                # refuses a turn without parts.
                log.debug("skipping an empty assistant message")
        else:
            _append(contents, "user", _content_parts(message))
    return system, contents


def tool_to_wire(tool: Tool) -> dict[str, Any]:
    """A tool as a `FunctionDeclaration`.

    A function without parameters leaves `parameters` out (Gemini refuses an `OBJECT`
    with no properties); a recursive schema, which the OpenAPI subset cannot express,
    goes unchanged as `parametersJsonSchema`. `Tool.strict` has no Gemini equivalent.

    Example:
        >>> tool_to_wire(Tool(name="now", description="The time"))
        {'name': 'now', 'description': 'The time'}
    """
    declaration: dict[str, Any] = {"name": tool.name}
    if tool.description:
        declaration["description"] = tool.description
    try:
        parameters = to_gemini_schema(tool.parameters)
    except RecursiveSchemaError:
        declaration["parametersJsonSchema"] = tool.parameters
        return declaration
    if parameters.get("type") != "OBJECT" or parameters.get("properties"):
        declaration["parameters"] = parameters
    return declaration


def _tool_config(choice: str, tools: list[Tool]) -> dict[str, Any]:
    mode = _MODES.get(choice)
    if mode is not None:
        return {"functionCallingConfig": {"mode": mode}}
    if choice not in {t.name for t in tools}:
        raise ValidationError(
            f"tool_choice {choice!r} names no tool in tools= ({', '.join(t.name for t in tools)})"
        )
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice]}}


def _response_format(fmt: ResponseFormat, config: dict[str, Any]) -> None:
    if fmt.type == "text":
        return
    config["responseMimeType"] = "application/json"
    if fmt.type == "json_schema" and fmt.json_schema is not None:
        config["responseJsonSchema"] = {k: v for k, v in fmt.json_schema.items() if k != "$schema"}


def _merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        current = into.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            _merge(current, value)
        else:
            into[key] = value


def build_generate_payload(
    messages: list[Message], options: ChatOptions, *, memory: CallMemory | None = None
) -> dict[str, Any]:
    """The JSON body for `generateContent` / `streamGenerateContent` (they take the same).

    `memory` supplies the thought signatures (and Gemini's own ids) of earlier calls.
    """
    system, contents = _contents(messages, memory)
    if not contents:
        raise ValidationError("Gemini needs at least one user or assistant message")
    payload: dict[str, Any] = {"contents": contents}
    if system:
        payload["systemInstruction"] = {"parts": system}
    if options.tools:
        payload["tools"] = [{"functionDeclarations": [tool_to_wire(t) for t in options.tools]}]
        if options.tool_choice is not None:
            payload["toolConfig"] = _tool_config(options.tool_choice, options.tools)
    elif options.tool_choice not in (None, "auto", "none"):
        raise ValidationError(f"tool_choice {options.tool_choice!r} needs tools=")
    config: dict[str, Any] = {}
    if options.temperature is not None:
        config["temperature"] = options.temperature
    if options.top_p is not None:
        config["topP"] = options.top_p
    if options.max_tokens is not None:
        config["maxOutputTokens"] = options.max_tokens
    if options.stop:
        config["stopSequences"] = options.stop
    if options.seed is not None:
        config["seed"] = options.seed
    if options.response_format is not None:
        _response_format(options.response_format, config)
    if config:
        payload["generationConfig"] = config
    if options.extra:
        _merge(payload, options.extra)
    return payload
