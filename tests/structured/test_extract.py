"""extract / classify / with_structured_output on the test doubles."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

import pytest

from conduit.core.protocols import BaseChatModel, Capabilities, ModelInfo
from conduit.errors import RateLimitError, ValidationError
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import ChatOptions, Message, Response, system
from conduit.structured import (
    Parser,
    StructuredOutputError,
    classify,
    extract,
    with_structured_output,
)
from tests.structured.models import Color, Employee, Person, Tree

ADA = '{"name": "Ada Lovelace", "born": 1815}'


async def test_valid_first_time_sends_the_native_format() -> None:
    seen: list[ChatOptions] = []

    def fn(messages: list[Message], options: ChatOptions) -> str:
        seen.append(options)
        return ADA

    person = await extract(FunctionModel(fn), "Ada Lovelace, born 1815.", Person)
    assert person == Person(name="Ada Lovelace", born=1815)
    fmt = seen[0].response_format
    assert fmt is not None
    assert fmt.type == "json_schema"
    assert fmt.name == "Person"
    assert fmt.strict is True
    assert fmt.json_schema == Parser(Person).json_schema


async def test_invalid_then_valid_sends_the_error_back() -> None:
    replies = iter(['{"name": "Ada"}', "Sorry, I cannot.", ADA])
    model = FunctionModel(lambda m, o: next(replies))
    person = await extract(model, "Ada Lovelace, born 1815.", Person, max_retries=2)
    assert person.born == 1815
    assert len(model.calls) == 3
    second = model.calls[1].messages
    assert second[-2].role == "assistant"
    assert second[-2].text == '{"name": "Ada"}'
    assert second[-1].role == "user"
    assert "Person.born: Field required" in second[-1].text
    third = model.calls[2].messages
    assert "holds no JSON" in third[-1].text
    # the conversation grows; the original request stays first
    assert third[: len(second)] == second


async def test_never_valid_raises_with_every_attempt() -> None:
    model = MockModel(["nope", '{"name": 1}', '{"born": "x"}'])
    with pytest.raises(StructuredOutputError) as info:
        await extract(model, "text", Person, max_retries=2)
    err = info.value
    assert isinstance(err, ValidationError)
    assert [a.text for a in err.attempts] == ["nope", '{"name": 1}', '{"born": "x"}']
    assert all(a.response is not None for a in err.attempts)
    assert "3 attempt(s)" in str(err)
    assert err.provider == "fake"
    assert "Person.born" in err.attempts[-1].error


async def test_no_retries() -> None:
    with pytest.raises(StructuredOutputError) as info:
        await extract(MockModel(["nope"]), "t", Person, max_retries=0)
    assert len(info.value.attempts) == 1


async def test_provider_errors_are_not_retried_here() -> None:
    with pytest.raises(RateLimitError):
        await extract(MockModel([RateLimitError("slow")]), "t", Person)


async def test_nested_list_enum_optional() -> None:
    employee = {
        "name": "Bo",
        "address": {"city": "Oslo", "zip": None},
        "skills": ["sql", "go"],
        "level": "senior",
        "favourite": None,
        "nickname": None,
    }
    value = await extract(MockModel([json.dumps(employee)]), "...", Employee)
    assert value.address.city == "Oslo"
    assert value.level == "senior"
    assert value.nickname == "none"  # null → the default
    people = await extract(MockModel(['{"items": [' + ADA + "]}"]), "...", list[Person])
    assert people == [Person(name="Ada Lovelace", born=1815)]
    color = await extract(MockModel(['{"value": "green"}']), "...", Color)
    assert color is Color.GREEN
    bad_enum = MockModel(['{"value": "blue"}', '{"value": "red"}'])
    assert await extract(bad_enum, "...", Color) is Color.RED
    assert "Input should be 'red' or 'green'" in bad_enum.calls[1].messages[-1].text


async def test_recursive_schema() -> None:
    tree = {"label": "a", "children": [{"label": "b", "children": None}]}
    value = await extract(MockModel([json.dumps(tree)]), "...", Tree)
    assert value.children[0].children == []


async def test_extract_messages_and_extra_instructions() -> None:
    model = MockModel([ADA])
    await extract(model, "Ada...", Person, instructions="Years as integers.", temperature=0)
    call = model.calls[0]
    assert [m.role for m in call.messages] == ["system", "user"]
    assert "Extract the requested information" in call.messages[0].text
    assert "Years as integers." in call.messages[0].text
    assert call.messages[1].text == "Ada..."
    assert call.options.temperature == 0


class _Limited(BaseChatModel):
    """A model without JSON Schema (and optionally without JSON mode)."""

    def __init__(self, reply: str, *, json_mode: bool) -> None:
        caps = Capabilities(json_schema=False, json_mode=json_mode)
        self._info = ModelInfo("limited", "m", caps)
        self.reply = reply
        self.seen: list[tuple[list[Message], ChatOptions]] = []

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        self.seen.append((messages, options))
        return await MockModel([self.reply])._chat(messages, options)

    def _stream(self, messages: list[Message], options: ChatOptions) -> Any:
        return MockModel([self.reply])._stream(messages, options)


async def test_auto_mode_falls_back_to_json_mode_then_prose() -> None:
    json_only = _Limited(ADA, json_mode=True)
    assert await extract(json_only, "t", Person) == Person(name="Ada Lovelace", born=1815)
    messages, options = json_only.seen[0]
    assert options.response_format is not None
    assert options.response_format.type == "json_object"
    assert "JSON Schema" in messages[0].text
    assert '"born"' in messages[0].text

    prose = _Limited(
        f"Sure! Here is the JSON:\n```json\n{ADA}\n```\nAnything else?", json_mode=False
    )
    assert (await extract(prose, "t", Person)).born == 1815
    messages, options = prose.seen[0]
    assert options.response_format is None
    assert "JSON Schema" in messages[0].text


async def test_explicit_modes_and_instructions_after_system_messages() -> None:
    model = MockModel([ADA], repeat_last=True)
    s = with_structured_output(model, Person, mode="prompt", instructions="Be exact.")
    assert s.resolved_mode == "prompt"
    await s.run([system("You are a historian."), "Who?"])
    roles = [m.role for m in model.calls[0].messages]
    assert roles == ["system", "user"]
    assert model.calls[0].messages[0].text.startswith("You are a historian.\n\nBe exact.")
    assert model.calls[0].options.response_format is None
    native = with_structured_output(model, Person, mode="native", instructions="Be exact.")
    await native.run("Who?")
    assert model.calls[1].messages[0].text == "Be exact."
    assert "JSON Schema" not in model.calls[1].messages[0].text


def test_bad_settings() -> None:
    with pytest.raises(ValidationError, match="mode must be one of"):
        with_structured_output(MockModel(), Person, mode="xml")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="max_retries"):
        with_structured_output(MockModel(), Person, max_retries=-1)


def test_sync_twin() -> None:
    s = with_structured_output(MockModel([ADA]), Person)
    assert s.run_sync("Who?", temperature=0).born == 1815


async def test_a_parser_can_be_passed() -> None:
    parser = Parser(Person, name="human")
    model = MockModel([ADA])
    await extract(model, "t", parser)
    fmt = model.calls[0].options.response_format
    assert fmt is not None
    assert fmt.name == "human"


class Mood(Enum):
    HAPPY = "happy"
    SAD = "sad"


class Numbered(Enum):
    ONE = 1
    TWO = 2


async def test_classify_labels_enums_and_multi_label() -> None:
    model = MockModel(['{"label": "spam"}'])
    assert await classify(model, "WIN $$$", ["spam", "ham", "spam"]) == "spam"
    fmt = model.calls[0].options.response_format
    assert fmt is not None
    assert fmt.json_schema is not None
    assert fmt.json_schema["properties"]["label"]["enum"] == ["spam", "ham"]
    assert "spam, ham" in model.calls[0].messages[0].text

    assert await classify(MockModel(['{"label": "sad"}']), "rain", Mood) is Mood.SAD
    assert await classify(MockModel(['{"label": "TWO"}']), "2", Numbered) is Numbered.TWO
    multi = MockModel(['{"labels": ["sad", "happy"]}'])
    assert await classify(multi, "bittersweet", Mood, multi_label=True) == [Mood.HAPPY, Mood.SAD]
    assert "every label" in multi.calls[0].messages[0].text
    tags = MockModel(['{"labels": ["b"]}'])
    assert await classify(tags, "t", ["a", "b"], multi_label=True, instructions="Be strict.") == [
        "b"
    ]
    retried = MockModel(['{"label": "maybe"}', '{"label": "ham"}'])
    assert await classify(retried, "t", ["spam", "ham"]) == "ham"


async def test_classify_bad_labels() -> None:
    with pytest.raises(ValidationError, match="at least one label"):
        await classify(MockModel(), "t", [])
    with pytest.raises(ValidationError, match="list of strings"):
        await classify(MockModel(), "t", "ab")
    with pytest.raises(ValidationError, match="list of strings"):
        await classify(MockModel(), "t", [1, 2])  # type: ignore[list-item]
