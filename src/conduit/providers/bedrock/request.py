"""Our request → a Bedrock Converse / ConverseStream body.

https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html:
`system` text blocks, alternating `messages` of content blocks (`text`, `image`,
`toolUse`, `toolResult`), `inferenceConfig`, and `toolConfig` with `toolSpec`s and a
`toolChoice`. JSON output goes through a forced tool, as for Anthropic (Converse has no
response format that every model family honours).

Example:
    >>> from conduit.schema import system, user
    >>> body = build_converse_payload([system("Be brief."), user("Hi")], ChatOptions(max_tokens=9))
    >>> body["system"], body["messages"], body["inferenceConfig"]
    ([{'text': 'Be brief.'}], [{'role': 'user', 'content': [{'text': 'Hi'}]}], {'maxTokens': 9})
"""

from __future__ import annotations

from typing import Any

from conduit.errors import ValidationError
from conduit.providers.anthropic.request import JSONOutput, json_output
from conduit.schema import ChatOptions, ImageBlock, Message, TextBlock, Tool

__all__ = ["IMAGE_FORMATS", "build_converse_payload", "messages_to_wire", "tool_to_wire"]

# Converse's ImageBlock formats, by media type.
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}


def _image(block: ImageBlock) -> dict[str, Any]:
    if block.data is not None:
        media_type, data = block.media_type or "", block.data
    else:
        url = block.url or ""
        if not url.startswith("data:"):
            raise ValidationError(
                "Bedrock takes images as bytes, not URLs: download the image and pass "
                "ImageBlock.from_bytes(...)"
            )
        header, _, data = url[5:].partition(",")
        media_type = header.partition(";")[0]
    fmt = IMAGE_FORMATS.get(media_type)
    if fmt is None:
        raise ValidationError(
            f"Bedrock accepts png, jpeg, gif and webp images, not {media_type or 'unknown'!r}"
        )
    # The JSON protocol carries blob members base64-encoded.
    return {"image": {"format": fmt, "source": {"bytes": data}}}


def _blocks(message: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            if block.text:
                out.append({"text": block.text})
        elif isinstance(block, ImageBlock):
            if message.role == "assistant":
                raise ValidationError("Bedrock accepts images only in user and tool messages")
            out.append(_image(block))
        else:
            raise ValidationError("Bedrock's Converse API does not take audio input")
    return out


def _turn(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        content = _blocks(message) or [{"text": ""}]
        return [{"toolResult": {"toolUseId": message.tool_call_id, "content": content}}]
    blocks = _blocks(message)
    if message.role == "assistant":
        for call in message.tool_calls:
            blocks.append(
                {"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.arguments}}
            )
    return blocks


def messages_to_wire(messages: list[Message]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Our messages → (`system` blocks, alternating `messages`); tool results join the
    user turn that follows the assistant's calls."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            system.extend(_blocks(message))
            continue
        blocks = _turn(message)
        if not blocks:
            continue
        role = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return system, turns


def tool_to_wire(tool: Tool) -> dict[str, Any]:
    """A tool as a Converse `toolSpec`.

    Example:
        >>> tool_to_wire(Tool(name="add", parameters={"type": "object"}))
        {'toolSpec': {'name': 'add', 'inputSchema': {'json': {'type': 'object'}}}}
    """
    spec: dict[str, Any] = {"name": tool.name, "inputSchema": {"json": tool.parameters}}
    if tool.description:
        spec["description"] = tool.description
    return {"toolSpec": spec}


def _tool_choice(choice: str) -> dict[str, Any]:
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        return {"any": {}}
    if choice == "none":
        raise ValidationError(
            "Bedrock's Converse API has no tool_choice 'none': leave the tools out instead"
        )
    return {"tool": {"name": choice}}


def _tool_config(options: ChatOptions, output: JSONOutput | None) -> dict[str, Any] | None:
    tools = [tool_to_wire(t) for t in options.tools or ()]
    if output is not None:
        tools.append(
            {
                "toolSpec": {
                    "name": output.tool,
                    "description": "Give the final answer by calling this tool; its input "
                    "is the answer.",
                    "inputSchema": {"json": output.schema},
                }
            }
        )
    if not tools:
        return None
    config: dict[str, Any] = {"tools": tools}
    if output is not None:
        config["toolChoice"] = {"tool": {"name": output.tool}}
    elif options.tool_choice is not None:
        config["toolChoice"] = _tool_choice(options.tool_choice)
    return config


def build_converse_payload(
    messages: list[Message], options: ChatOptions, *, output: JSONOutput | None = None
) -> dict[str, Any]:
    """The Converse body (the model id travels in the URL); ConverseStream takes the same."""
    system, turns = messages_to_wire(messages)
    payload: dict[str, Any] = {"messages": turns}
    if system:
        payload["system"] = system
    inference: dict[str, Any] = {}
    if options.max_tokens is not None:
        inference["maxTokens"] = options.max_tokens
    if options.temperature is not None:
        inference["temperature"] = options.temperature
    if options.top_p is not None:
        inference["topP"] = options.top_p
    if options.stop:
        inference["stopSequences"] = list(options.stop)
    if inference:
        payload["inferenceConfig"] = inference
    config = _tool_config(options, output if output is not None else json_output(options))
    if config is not None:
        payload["toolConfig"] = config
    if options.extra:
        payload.update(options.extra)
    return payload
