"""What a model is known not to take is refused before anything is sent."""

from __future__ import annotations

import pytest

from conduit.catalog.registry import describe_model
from conduit.core.protocols import Capabilities, ModelInfo, check_capabilities
from conduit.errors import ValidationError
from conduit.providers.fake import MockModel
from conduit.schema import AudioBlock, ChatOptions, ImageBlock, ResponseFormat, Tool, user

TEXT_ONLY = ModelInfo(
    "x",
    "text-only",
    Capabilities(vision=False, audio=False, tools=False, json_mode=False, json_schema=False),
)
TOOL = Tool(name="f")


@pytest.mark.parametrize(
    ("messages", "options", "match"),
    [
        ([user("Hi", ImageBlock(url="https://x/a.png"))], ChatOptions(), "image input"),
        ([user("Hi", AudioBlock(data="AAAA", format="wav"))], ChatOptions(), "audio input"),
        ([user("Hi")], ChatOptions(tools=[TOOL]), "does not support tools"),
        (
            [user("Hi")],
            ChatOptions(response_format=ResponseFormat.from_schema("s", {"type": "object"})),
            "'json_schema'",
        ),
        ([user("Hi")], ChatOptions(response_format=ResponseFormat()), "'json_object'"),
    ],
)
def test_refused(messages: list, options: ChatOptions, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError, match=match):
        check_capabilities(TEXT_ONLY, messages, options)


def test_allowed() -> None:
    check_capabilities(TEXT_ONLY, [user("Hi")], ChatOptions(tools=[TOOL], tool_choice="none"))
    check_capabilities(
        TEXT_ONLY, [user("Hi")], ChatOptions(response_format=ResponseFormat(type="text"))
    )
    full = ModelInfo("x", "all", Capabilities(vision=True, audio=True))
    check_capabilities(full, [user("Hi", ImageBlock(url="https://x/a.png"))], ChatOptions())


async def test_base_chat_model_checks_before_calling() -> None:
    class Blind(MockModel):
        @property
        def model_info(self) -> ModelInfo:
            return TEXT_ONLY

    model = Blind(["never"])
    with pytest.raises(ValidationError):
        await model.chat([user("Hi", ImageBlock(url="https://x/a.png"))])
    with pytest.raises(ValidationError):
        model.stream([user("Hi", ImageBlock(url="https://x/a.png"))])
    assert model.calls == []


def test_describe_model_uses_the_catalog_for_listed_models() -> None:
    listed = describe_model("openai", "gpt-4o")
    assert listed.context_window == 128_000
    assert not listed.capabilities.audio
    unlisted = describe_model("openai", "my-finetune", fallback=Capabilities(vision=True))
    assert unlisted.capabilities == Capabilities(vision=True)
    assert describe_model("openai", "my-finetune").capabilities.audio
    forced = Capabilities(vision=False)
    assert describe_model("openai", "gpt-4o", capabilities=forced).capabilities is forced
