"""Real inference on the embedded SmolLM2-135M-Instruct: answers, streams, seeds, JSON,
tool calls, cancellation, concurrency and bad model files."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pydantic
import pytest

import conduit
from conduit.catalog.tokens import count_tokens
from conduit.errors import (
    ContextWindowExceededError,
    MissingDependencyError,
    ModelLoadError,
    ValidationError,
)
from conduit.providers.local import LocalChatModel
from conduit.providers.local.files import DEFAULT_CHAT_MODEL
from conduit.schema import (
    Done,
    ImageBlock,
    Message,
    ResponseFormat,
    TextBlock,
    TextDelta,
    Tool,
    ToolCallDelta,
    UsageEvent,
    tool_result,
    user,
)

WEATHER = Tool(
    name="get_weather",
    description="Get the current weather for a city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)


async def test_a_simple_question_gets_a_sensible_answer(smol: LocalChatModel) -> None:
    response = await smol.chat("What is 2+2?", temperature=0, max_tokens=40)
    assert "4" in response.text
    assert response.stop_reason == "end_turn"
    assert response.provider == "local"
    assert response.model == "smollm2-135m-instruct"
    assert response.duration is not None
    assert response.duration > 0


async def test_usage_comes_from_the_model_tokenizer(smol: LocalChatModel) -> None:
    messages = [user("Name three colors.")]
    response = await smol.chat(messages, temperature=0, max_tokens=30)
    assert response.usage.input_tokens == count_tokens(smol, messages)
    assert response.usage.output_tokens == smol.engine().count_text(response.text)
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens


async def test_stream_yields_tokens_then_usage_then_done(smol: LocalChatModel) -> None:
    events = [e async for e in smol.stream("Name three colors.", temperature=0, max_tokens=30)]
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3  # token by token, not one block
    assert isinstance(events[-2], UsageEvent)
    assert isinstance(events[-1], Done)
    streamed = "".join(d.text for d in deltas)
    assert streamed == events[-1].response.text
    whole = await smol.chat("Name three colors.", temperature=0, max_tokens=30)
    assert streamed == whole.text


async def test_same_seed_same_text(smol: LocalChatModel) -> None:
    prompt = "Write one sentence about the sea."
    greedy = [
        (await smol.chat(prompt, temperature=0, seed=7, max_tokens=25)).text for _ in range(2)
    ]
    assert greedy[0] == greedy[1]
    sampled = [
        (await smol.chat(prompt, temperature=1.0, seed=1234, max_tokens=25)).text for _ in range(2)
    ]
    assert sampled[0] == sampled[1]


async def test_max_tokens_stops_generation(smol: LocalChatModel) -> None:
    response = await smol.chat("Tell me a long story about a dragon.", max_tokens=5)
    assert response.stop_reason == "max_tokens"
    assert 1 <= response.usage.output_tokens <= 6


async def test_stop_sequences_cut_the_answer(smol: LocalChatModel) -> None:
    response = await smol.chat("Count from 1 to 10.", temperature=0, max_tokens=60, stop=["5"])
    assert response.stop_reason == "stop_sequence"
    assert "5" not in response.text
    assert "4" in response.text


class Person(pydantic.BaseModel):
    name: str
    age: int


async def test_json_schema_output_parses_into_a_model(smol: LocalChatModel) -> None:
    response = await smol.chat(
        "Ann is 30 years old. Describe her as JSON.",
        temperature=0,
        max_tokens=60,
        response_format=ResponseFormat.from_schema("person", Person.model_json_schema()),
    )
    person = Person.model_validate_json(response.text)
    assert isinstance(person.age, int)


async def test_json_object_output_is_an_object(smol: LocalChatModel) -> None:
    response = await smol.chat(
        "Give me a JSON object with a key 'color'.",
        temperature=0,
        max_tokens=40,
        response_format=ResponseFormat(type="json_object"),
    )
    import json

    assert isinstance(json.loads(response.text), dict)


async def test_a_forced_tool_call_parses(smol: LocalChatModel) -> None:
    response = await smol.chat(
        "What's the weather in Paris?",
        tools=[WEATHER],
        tool_choice="get_weather",
        temperature=0,
        max_tokens=60,
    )
    assert response.stop_reason == "tool_use"
    [call] = response.tool_calls
    assert call.name == "get_weather"
    assert not call.function.invalid_arguments
    assert isinstance(call.arguments["city"], str)
    assert response.text == ""


async def test_required_tool_choice_picks_a_declared_tool(smol: LocalChatModel) -> None:
    clock = Tool(name="get_time", description="The current time", parameters={"type": "object"})
    response = await smol.chat(
        "What's the weather in Oslo?",
        tools=[WEATHER, clock],
        tool_choice="required",
        temperature=0,
        max_tokens=60,
    )
    [call] = response.tool_calls
    assert call.name in {"get_weather", "get_time"}


async def test_a_tool_call_streams_as_tool_call_deltas(smol: LocalChatModel) -> None:
    events = [
        e
        async for e in smol.stream(
            "Weather in Rome?",
            tools=[WEATHER],
            tool_choice="required",
            temperature=0,
            max_tokens=60,
        )
    ]
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert calls[0].name == "get_weather"
    assert calls[0].id
    assert not [e for e in events if isinstance(e, TextDelta)]
    assert events[-1].response.tool_calls[0].name == "get_weather"  # type: ignore[union-attr]


async def test_a_tool_result_round_trip_answers(smol: LocalChatModel) -> None:
    first = await smol.chat(
        "What's the weather in Paris?",
        tools=[WEATHER],
        tool_choice="required",
        temperature=0,
        max_tokens=60,
    )
    history = [
        user("What's the weather in Paris?"),
        first.to_message(),
        tool_result(first.tool_calls[0].id, "18 C and sunny"),
    ]
    second = await smol.chat(history, tools=[WEATHER], temperature=0, max_tokens=60)
    assert second.text or second.tool_calls  # either way, the history was accepted


async def test_tool_choice_none_hides_the_tools(smol: LocalChatModel) -> None:
    response = await smol.chat(
        "What is 2+2?", tools=[WEATHER], tool_choice="none", temperature=0, max_tokens=30
    )
    assert response.tool_calls == []
    assert "4" in response.text


async def test_closing_a_stream_stops_generation(smol: LocalChatModel) -> None:
    engine = smol.engine()
    stream = smol.stream("Tell me a very long story about a dragon.", max_tokens=1500)
    seen = 0
    async for event in stream:
        if isinstance(event, TextDelta):
            seen += 1
            if seen == 3:
                break
    await stream.aclose()  # type: ignore[attr-defined]
    await asyncio.to_thread(engine.executor.submit(lambda: None).result)  # worker is free
    generated = engine.llama.n_tokens
    assert generated < 150, f"generation ran on after the stream closed ({generated} tokens)"


async def test_cancelling_the_task_stops_generation(smol: LocalChatModel) -> None:
    engine = smol.engine()
    started = asyncio.Event()

    async def consume() -> None:
        async for event in smol.stream("Tell me a very long story.", max_tokens=1500):
            if isinstance(event, TextDelta):
                started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.to_thread(engine.executor.submit(lambda: None).result)
    assert engine.llama.n_tokens < 150
    # The model is usable straight away.
    assert "4" in (await smol.chat("What is 2+2?", temperature=0, max_tokens=30)).text


async def test_concurrent_calls_each_get_their_own_answer(smol: LocalChatModel) -> None:
    prompts = ["What is 2+2?", "Name three colors.", "Say hello.", "What is 2+2?"]
    alone = [(await smol.chat(p, temperature=0, max_tokens=30)).text for p in prompts]
    together = await asyncio.gather(*(smol.chat(p, temperature=0, max_tokens=30) for p in prompts))
    assert [r.text for r in together] == alone


def test_sync_twin_and_string_resolution() -> None:
    response = conduit.chat_sync("local/default", "What is 2+2?", temperature=0, max_tokens=30)
    assert "4" in response.text
    text = "".join(
        e.text
        for e in conduit.stream_sync("local/default", "What is 2+2?", temperature=0, max_tokens=30)
        if isinstance(e, TextDelta)
    )
    assert text == response.text


def test_models_for_the_same_file_share_one_load() -> None:
    a, b = LocalChatModel("default"), LocalChatModel("smollm2")
    assert a.engine() is b.engine()
    assert a.path_on_disk == DEFAULT_CHAT_MODEL.path()
    assert a.model_info.context_window == 4096
    assert not a.model_info.capabilities.vision


async def test_images_are_refused_before_generation(smol: LocalChatModel) -> None:
    message = Message(
        role="user", content=[TextBlock(text="What is this?"), ImageBlock(url="https://x/y.png")]
    )
    with pytest.raises(ValidationError, match="does not take image input"):
        await smol.chat([message])


async def test_unknown_extra_settings_are_named(smol: LocalChatModel) -> None:
    with pytest.raises(ValidationError, match="logprobs"):
        await smol.chat("Hi", extra={"logprobs": True})
    response = await smol.chat(
        "What is 2+2?", temperature=0, max_tokens=20, extra={"repeat_penalty": 1.1, "top_k": 1}
    )
    assert response.text


async def test_json_and_a_tool_call_at_once_is_refused(smol: LocalChatModel) -> None:
    with pytest.raises(ValidationError, match="not both"):
        await smol.chat(
            "Hi",
            tools=[WEATHER],
            tool_choice="required",
            response_format=ResponseFormat(type="json_object"),
        )


async def test_a_prompt_beyond_the_context_window_is_a_clear_error() -> None:
    small = LocalChatModel("default", n_ctx=64)
    with pytest.raises(ContextWindowExceededError, match="context window is 64"):
        await small.chat("word " * 200)
    small.engine().close()


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"n_ctx": 8}, "n_ctx"), ({"n_threads": 0}, "n_threads")]
)
def test_bad_settings_are_refused(kwargs: dict[str, int], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        LocalChatModel("default", **kwargs)


async def test_a_truncated_model_file_is_a_clear_error(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.gguf"
    with DEFAULT_CHAT_MODEL.path().open("rb") as src:
        truncated.write_bytes(src.read(2_000_000))
    with pytest.raises(ModelLoadError, match="could not load"):
        await LocalChatModel(str(truncated)).chat("Hi")


async def test_a_file_that_is_not_gguf_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_text("definitely not a model")
    with pytest.raises(ModelLoadError, match="not a GGUF"):
        await LocalChatModel(str(bogus)).chat("Hi")


async def test_a_gguf_without_chat_template_needs_a_chat_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import llama_cpp

    real = llama_cpp.Llama

    class NoTemplate(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self.metadata = {k: v for k, v in self.metadata.items() if "chat_template" not in k}

    monkeypatch.setattr(llama_cpp, "Llama", NoTemplate)
    copy = tmp_path / "base-model.gguf"
    shutil.copyfile(DEFAULT_CHAT_MODEL.path(), copy)
    with pytest.raises(ModelLoadError, match="no chat template"):
        await LocalChatModel(str(copy), n_ctx=512).chat("Hi")
    model = LocalChatModel(str(copy), n_ctx=512, chat_format="chatml")
    response = await model.chat("What is 2+2?", temperature=0, max_tokens=20)
    assert "4" in response.text
    model.engine().close()


async def test_an_unknown_chat_format_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "m.gguf"
    shutil.copyfile(DEFAULT_CHAT_MODEL.path(), copy)
    with pytest.raises(ValidationError, match="unknown chat_format"):
        await LocalChatModel(str(copy), n_ctx=256, chat_format="klingon").chat("Hi")


async def test_missing_llama_cpp_is_a_one_line_install_instruction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "conduit\[local\]"'):
        await LocalChatModel("default", n_ctx=128).chat("Hi")
