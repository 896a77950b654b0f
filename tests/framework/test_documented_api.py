"""The framework face, one test per row of issue 25's table, each written from the
framework's documented signatures (shared/reference/framework-api.md) with the arguments
passed by name, as its users pass them."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from rich.console import Console

import conduit
from conduit import (
    AsyncConduit,
    AudioMessage,
    ConduitError,
    ImageMessage,
    Messages,
    MessageStore,
    Model,
    ModelAsync,
    OdometerRegistry,
    Parser,
    Prompt,
    Request,
    Response,
    SyncConduit,
    TextMessage,
    TokenEvent,
    Verbosity,
)
from conduit.errors import ErrorDetail, ErrorInfo, ValidationError
from conduit.media.fake import solid_png, tone_wav
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import ChatOptions, Message, TextBlock, Usage


class Capital(BaseModel):
    city: str
    country: str


class Town(BaseModel):
    name: str


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[OdometerRegistry]:
    """Each test gets its own registry (the class attribute is process-wide) and no
    shared console."""
    registry = OdometerRegistry(ledger=False)
    monkeypatch.setattr(ModelAsync, "_odometer_registry", registry)
    monkeypatch.setattr(ModelAsync, "_console", None)
    monkeypatch.setattr(Model, "_console", None)
    monkeypatch.setattr(SyncConduit, "console", None)
    monkeypatch.setattr(SyncConduit, "message_store", None)
    return registry


def _usage(text: str, n_in: int = 3, n_out: int = 2) -> Response:
    return Response(
        model="mock",
        content=[TextBlock(text=text)],
        usage=Usage(input_tokens=n_in, output_tokens=n_out),
    )


# ---- row 1: Model(model, console=None); Model.models/validate_model/from_server/stats;
# ----        tokenize(text) -> int; the console property


def test_row_model_class_methods_tokenize_and_console() -> None:
    console = Console(file=io.StringIO())
    model = Model(model="fake/echo", console=console)
    assert model.console is console
    assert Model(model="fake/echo").console is None
    shared = Console(file=io.StringIO())
    SyncConduit.console = shared  # the conduits' console: the last resort
    assert Model(model="fake/echo").console is shared
    Model._console = Console(file=io.StringIO())  # the class's: before the conduits'
    assert Model(model="fake/echo").console is Model._console
    assert model.console is console  # the instance's own: first

    by_provider = Model.models()
    assert isinstance(by_provider, dict)
    assert "openai" in by_provider
    assert "gpt-4o" in by_provider["openai"]
    assert Model.validate_model(model="openai/gpt-4o") is True
    assert Model.validate_model(model="nobody/nothing") is False
    served = Model.from_server(model="chat", url="http://127.0.0.1:4000", api_key="sk-cnd-x")
    assert served.ref == "openai/chat"

    count = Model(model="openai/gpt-4o", ledger=False).tokenize(text="hello world")
    assert isinstance(count, int)
    assert count == 2

    echo = Model(model="fake/echo", ledger=False)
    echo.query(query_input="one")
    echo.query(query_input="two")
    out = io.StringIO()
    Model._console = Console(file=out, width=100)
    report = Model.stats()  # on the class: the session's usage, shown
    assert report.total().events == 2
    assert "fake" in out.getvalue()
    assert "echo" in out.getvalue()
    assert echo.stats().total().events == 2  # on an object: that model's


# ---- row 2: query(...) -> Response | ConduitError; ConduitError(info, detail),
# ----        from_exception, simple; ErrorInfo, ErrorDetail


def test_row_query_returns_a_response_or_a_conduit_error_value() -> None:
    model = Model(model=MockModel([_usage("Paris")]), ledger=False)
    answer = model.query(
        query_input="Capital of France?",
        response_model=None,
        cache=True,
        temperature=0.2,
        verbose=Verbosity.SILENT,
        stream=False,
        max_tokens=20,
        output_type="text",
        index=1,
        total=1,
        request=None,
    )
    assert isinstance(answer, Response)
    assert answer.content == "Paris"

    def boom(messages: list[Message], options: ChatOptions) -> str:
        raise RuntimeError("the backend fell over")

    failed = Model(model=FunctionModel(boom), ledger=False).query(query_input="hi")
    assert isinstance(failed, ConduitError)
    assert failed.info.code == "runtime"
    assert failed.info.category == "internal"
    assert failed.detail.exception_type == "RuntimeError"
    assert "Traceback" in failed.detail.stack_trace

    info = ErrorInfo(code="quota", message="out of credit", category="fix_setup")
    detail = ErrorDetail(
        exception_type="QuotaError",
        stack_trace="",
        raw_response='{"error": "quota"}',
        request_params={"model": "m", "api_key": "sk-live-123"},
        retry_count=2,
    )
    made = ConduitError(info=info, detail=detail)
    assert (made.info.code, made.info.message, made.info.category) == (
        "quota",
        "out of credit",
        "fix_setup",
    )
    assert made.info.timestamp == info.timestamp
    assert made.detail.request_params == {"model": "m", "api_key": "[REDACTED]"}
    assert str(made) == "out of credit"
    assert made.category == "fix_setup"

    try:
        raise ValueError("bad number")
    except ValueError as exc:
        wrapped = ConduitError.from_exception(
            exc=exc, code="parse", category="fix_input", request_params={"n": "x"}, retry_count=1
        )
    assert wrapped.info.code == "parse"
    assert wrapped.detail.retry_count == 1
    assert wrapped.detail.exception_type == "ValueError"
    assert isinstance(wrapped.__cause__, ValueError)
    simple = ConduitError.simple(code="empty", message="nothing to ask", category="fix_input")
    assert simple.info.message == "nothing to ask"
    assert simple.detail.exception_type == "ConduitError"


# ---- row 3: ModelAsync.query_async(query_input, verbose, response_model, cache, **kwargs)


def test_row_query_async() -> None:
    async def main() -> tuple[Any, Any]:
        model = ModelAsync(
            model=MockModel(['{"city": "Paris", "country": "France"}']), ledger=False
        )
        parsed = await model.query_async(
            query_input="Capital of France?",
            verbose=Verbosity.SILENT,
            response_model=Capital,
            cache=False,
            temperature=0,
        )
        failed = await ModelAsync(model="fake/echo", ledger=False).query_async(query_input=[])
        return parsed, failed

    parsed, failed = asyncio.run(main())
    assert isinstance(parsed, Response)
    assert parsed.content == Capital(city="Paris", country="France")
    assert isinstance(failed, ConduitError)
    assert failed.info.category == "fix_input"


# ---- row 4: SyncConduit(model, prompt, parser); message_store, console; run(...)


def test_row_sync_conduit() -> None:
    assert SyncConduit.message_store is None
    assert SyncConduit.console is None
    SyncConduit.message_store = MessageStore()
    seen: list[list[str]] = []

    def reply(messages: list[Message], options: ChatOptions) -> str:
        seen.append([m.text for m in messages if m.role != "system"])
        if options.response_format is not None:  # the parser's structured request
            return '{"city": "Paris", "country": "France"}'
        return "Bonjour"

    model = Model(model=FunctionModel(reply), ledger=False)
    conduit_ = SyncConduit(model=model, prompt=Prompt("Say hello in {{ language }}"), parser=None)
    first = conduit_.run(
        input_variables={"language": "French"},
        messages=None,
        parser=None,
        verbose=Verbosity.SILENT,
        stream=False,
        cache=True,
        index=1,
        total=2,
        include_history=True,
        save=True,
    )
    assert isinstance(first, Response)
    assert first.content == "Bonjour"
    assert [m.role for m in SyncConduit.message_store] == ["user", "assistant"]
    second = conduit_.run(
        input_variables={"language": "French"}, parser=Parser(pydantic_model=Capital), cache=False
    )
    assert isinstance(second, Response)
    assert second.content == Capital(city="Paris", country="France")
    assert seen[1][:2] == ["Say hello in French", "Bonjour"]  # the history went first
    assert len(SyncConduit.message_store) == 4

    out = io.StringIO()
    SyncConduit.console = Console(file=out)
    streamed = SyncConduit(model=Model(model="fake/echo", ledger=False)).run(
        messages=[Message(role="user", content="stream me")],
        stream=True,
        include_history=False,
        save=False,
    )
    assert isinstance(streamed, Response)
    assert streamed.content == "stream me"
    assert "stream me" in out.getvalue()

    failed = SyncConduit(model=Model(model="fake/echo", ledger=False)).run(
        include_history=False, save=False
    )
    assert isinstance(failed, ConduitError)
    assert failed.info.category == "fix_input"


# ---- row 5: AsyncConduit(model, prompt, parser).run(...) -> list[Response]


def test_row_async_conduit() -> None:
    model = ModelAsync(model=FunctionModel(lambda m, o: m[-1].text.upper()), ledger=False)
    batch = AsyncConduit(model=model, prompt=Prompt("name a {{ animal }}"), parser=None)
    out = io.StringIO()
    SyncConduit.console = Console(file=out)
    answers = batch.run(
        input_variables_list=[{"animal": "cat"}, {"animal": "owl"}],
        prompt_strings=None,
        semaphore=asyncio.Semaphore(2),
        cache=True,
        verbose=Verbosity.SILENT,
        print_response=True,
    )
    assert [a.content for a in answers if isinstance(a, Response)] == ["NAME A CAT", "NAME A OWL"]
    assert "NAME A OWL" in out.getvalue()
    strings = AsyncConduit(model=model).run(prompt_strings=["x", "y"], verbose=False)
    assert [a.content for a in strings if isinstance(a, Response)] == ["X", "Y"]


# ---- row 6: Request(...), from_query_input, generate_cache_key, to/from_cache_dict,
# ----        to_openai/to_anthropic/to_google/to_ollama/to_perplexity


def test_row_request() -> None:
    from conduit.interceptors.cache import cache_key
    from conduit.providers.anthropic.request import build_messages_payload
    from conduit.providers.gemini.request import build_generate_payload
    from conduit.providers.ollama.request import build_chat_payload as ollama_payload
    from conduit.providers.openai.request import build_chat_payload

    request = Request(
        model="openai/gpt-4o-mini",
        messages=Messages(
            [Message(role="system", content="Be brief."), Message(role="user", content="Hi")]
        ),
        temperature=0.3,
        stream=False,
        verbose=Verbosity.SILENT,
        response_model=Capital,
        max_tokens=50,
        output_type="text",
        client_params={"seed": 7, "logprobs": True},
    )
    options = request.options()
    assert (options.temperature, options.max_tokens, options.seed) == (0.3, 50, 7)
    assert options.extra == {"logprobs": True}
    assert options.response_format is not None
    messages = request.messages
    assert request.to_openai() == build_chat_payload("gpt-4o-mini", messages, options)
    assert request.to_anthropic() == build_messages_payload("gpt-4o-mini", messages, options)
    assert request.to_google() == build_generate_payload(messages, options)
    assert request.to_ollama() == ollama_payload("gpt-4o-mini", messages, options)
    assert request.to_perplexity()["max_tokens"] == 50  # Perplexity's field name
    assert request.generate_cache_key() == cache_key("openai/gpt-4o-mini", messages, options)

    again = Request.from_cache_dict(cache_dict=request.to_cache_dict())
    assert again.generate_cache_key() == request.generate_cache_key()
    assert again.response_model is Capital

    quick = Request.from_query_input(query_input="Hi", model="fake/echo")
    assert quick.messages[0].role == "user"
    with pytest.raises(ValidationError, match="temperature"):
        Request(model="fake/echo", messages=[Message(role="user", content="Hi")], temperature=5)
    answered = Model(model="fake/echo", ledger=False).query(request=quick)
    assert isinstance(answered, Response)
    assert answered.content == "Hi"


# ---- row 7: Response: content (str | object | list), prompt, messages, total_tokens,
# ----        model, duration, display(), play(), to/from_cache_dict


def test_row_response(tmp_path: Path) -> None:
    model = Model(model=MockModel([_usage("Paris", 10, 4)]), ledger=False)
    answer = model.query(query_input="Capital of France?")
    assert isinstance(answer, Response)
    assert answer.content == "Paris"
    assert answer.prompt == "Capital of France?"
    assert [m.role for m in answer.messages] == ["user", "assistant"]
    assert answer.total_tokens == 14
    assert answer.model == "mock"
    assert answer.duration is None or answer.duration >= 0

    towns = Model(model=MockModel(['{"items": [{"name": "Ely"}, {"name": "Rye"}]}']), ledger=False)
    listed = towns.query(query_input="Two towns", response_model=list[Town])
    assert isinstance(listed, Response)
    assert listed.content == [Town(name="Ely"), Town(name="Rye")]
    back = Response.from_cache_dict(cache_dict=listed.to_cache_dict())
    assert back.content == listed.content
    assert back.prompt == "Two towns"

    picture = Model(model="fake/image", ledger=False).query(
        query_input="a red boat", output_type="image"
    )
    assert isinstance(picture, Response)
    shown = io.StringIO()
    picture.display(out=shown, chafa="no-such-chafa")
    assert shown.getvalue().startswith("[image/png image, ")

    speech = Model(model="fake/speech", ledger=False).query(
        query_input="hello", output_type="audio"
    )
    assert isinstance(speech, Response)
    frames = speech.play(sink=tmp_path / "hello.wav")
    with wave.open(str(tmp_path / "hello.wav")) as file:
        assert file.getnframes() == frames > 0


# ---- row 8: Messages: add_new, last, get_by_role, user/assistant/system_messages,
# ----        system_message, turn-order validation


def test_row_messages() -> None:
    chat = Messages(messages=[Message(role="system", content="Be brief.")])
    chat.add_new(role="user", content="Hi")
    chat.add_new(role="assistant", content="Hello!")
    chat.add_new(role="user", content="Bye")
    assert chat.last().text == "Bye"
    assert [m.text for m in chat.get_by_role(role="user")] == ["Hi", "Bye"]
    assert [m.text for m in chat.user_messages()] == ["Hi", "Bye"]
    assert [m.text for m in chat.assistant_messages()] == ["Hello!"]
    assert [m.text for m in chat.system_messages()] == ["Be brief."]
    assert chat.system_message.text == "Be brief."
    with pytest.raises(ValidationError, match="system message may only come first"):
        chat.add_new(role="system", content="late")
    chat.append(TextMessage(role="assistant", content="See you"))
    assert len(chat) == 5
    assert chat.pop().text == "See you"


# ---- row 9: TextMessage, ImageMessage, AudioMessage; every message's to_* and cache dict


def test_row_message_types(tmp_path: Path) -> None:
    text = TextMessage(role="assistant", content=Capital(city="Oslo", country="Norway"))
    assert text.parsed == Capital(city="Oslo", country="Norway")
    assert TextMessage(role="assistant", content=[Town(name="Ely")]).parsed == [Town(name="Ely")]
    back = TextMessage.from_cache_dict(cache_dict=text.to_cache_dict())
    assert isinstance(back, TextMessage)
    assert back.parsed == text.parsed

    from PIL import Image

    Image.new("RGB", (3000, 1000), "teal").save(tmp_path / "wide.bmp")
    image = ImageMessage.from_image_file(
        image_file=tmp_path / "wide.bmp", text_content="What colour?", role="user"
    )
    assert image.mime_type == "image/png"
    assert image.text_content == "What colour?"
    with Image.open(io.BytesIO(base64.b64decode(image.image_content))) as decoded:
        assert decoded.format == "PNG"
        assert max(decoded.size) <= 2048
    raw = base64.b64encode(solid_png(8, 8, (255, 0, 0))).decode()
    same = ImageMessage.from_base64(
        image_content=raw, text_content="Which colour?", mime_type="image/png", role="user"
    )
    assert same.mime_type == "image/png"

    clip = AudioMessage.from_audio_file(
        audio_file=_wav(tmp_path), text_content="Transcribe this", role="user"
    )
    assert clip.format == "wav"
    assert clip.text_content == "Transcribe this"
    again = AudioMessage.from_base64(
        audio_content=clip.audio_content, text_content="Again", format="wav", role="user"
    )
    assert again.audio_content == clip.audio_content

    for message in (text, image, clip):
        openai = message.to_openai()
        assert openai["role"] == message.role
        assert message.to_perplexity() == openai
        assert message.to_google()["role"] == ("model" if message.role == "assistant" else "user")
        revived = type(message).from_cache_dict(cache_dict=message.to_cache_dict())
        assert type(revived) is type(message)
        assert revived.blocks == message.blocks
    assert text.to_anthropic() == {"role": "assistant", "content": text.content}
    assert [b["type"] for b in image.to_anthropic()["content"]] == ["text", "image"]
    with pytest.raises(ValidationError, match="audio"):
        clip.to_anthropic()  # Anthropic takes no audio: its adapter says so
    with pytest.raises(ValidationError, match="audio"):
        clip.to_ollama()  # nor does Ollama's chat API
    assert image.to_ollama()["images"] == [image.image_content]


def _wav(folder: Path) -> Path:
    path = folder / "tone.wav"
    path.write_bytes(tone_wav(0.05))
    return path


# ---- row 10: MessageStore(messages, console, history_file, log_file, pruning, auto_save)


def test_row_message_store(tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite3"
    log = tmp_path / "chat.log"
    store = MessageStore(
        messages=None,
        console=None,
        history_file=history,
        log_file=log,
        pruning=False,
        auto_save=True,
    )
    store.add_new(role="system", content="Be brief.")
    store.add_new(role="user", content="2+2?")
    store.add_response(
        Response(content="4", request_messages=[Message(role="user", content="2+2?")])
    )
    assert [m.role for m in store] == ["system", "user", "assistant"]
    assert store.get(1).text == "Be brief."
    assert store.get(3).text == "4"
    assert store.get(9) is None
    assert store.system_message.text == "Be brief."
    store.add_new(role="user", content="and 3+3?")
    store.query_failed()  # that query failed: its question goes
    assert store[-1].role == "assistant"
    store.close()

    reopened = MessageStore(history_file=history)
    assert [m.text for m in reopened] == ["Be brief.", "2+2?", "4"]
    assert "user: 2+2?" in log.read_text()
    copy = reopened.copy()
    copy.clear()
    assert len(copy) == 0
    assert len(reopened) == 3
    reopened.insert(1, Message(role="user", content="hello"))
    reopened.insert(2, Message(role="assistant", content="hi"))
    reopened.close()
    assert [m.text for m in MessageStore(history_file=history)][:3] == ["Be brief.", "hello", "hi"]

    manual = MessageStore(history_file=tmp_path / "manual.sqlite3", auto_save=False)
    manual.add_new(role="user", content="not yet saved")
    manual.close()
    assert len(MessageStore(history_file=tmp_path / "manual.sqlite3")) == 0

    pruned = MessageStore(pruning=True)
    pruned.add_new(role="system", content="rules")
    for n in range(15):
        pruned.add_new(role="user", content=f"q{n}")
        pruned.add_new(role="assistant", content=f"a{n}")
    assert len(pruned) == 21
    assert pruned[0].text == "rules"
    assert pruned[-1].text == "a14"
    shown = io.StringIO()
    MessageStore(
        messages=[Message(role="user", content="hi")], console=Console(file=shown)
    ).view_history()
    assert "1. user: hi" in shown.getvalue()


# ---- row 11: Parser(pydantic_model) with the class registry, as_string, to_perplexity


def test_row_parser() -> None:
    class Planet(BaseModel):
        name: str

    class Planets(BaseModel):
        planets: list[str]

    parser = Parser(pydantic_model=Planet)
    assert parser.pydantic_model is Planet
    assert Planet in Parser._response_models
    assert Parser.as_string(pydantic_model=Planet) == Parser.as_string(Planet)
    assert '"title":"Planet"' in Parser.as_string(pydantic_model=Planet)
    assert Parser.to_perplexity(pydantic_model=Planets) == list[str]
    assert Parser.to_perplexity(pydantic_model=Planet) is Planet
    stored = Response(content=Planet(name="Mars")).to_cache_dict()
    assert Response.from_cache_dict(stored).content == Planet(name="Mars")


# ---- row 12: Verbosity SILENT..DEBUG, from_input; Rich and plain progress; a decorator


def test_row_verbosity_and_progress() -> None:
    assert [v.name for v in Verbosity] == [
        "SILENT",
        "PROGRESS",
        "SUMMARY",
        "DETAILED",
        "COMPLETE",
        "DEBUG",
    ]
    assert Verbosity.from_input(True) is Verbosity.PROGRESS
    assert Verbosity.from_input("v") is Verbosity.PROGRESS
    assert Verbosity.from_input("vv") is Verbosity.SUMMARY
    assert Verbosity.from_input("vvvvv") is Verbosity.DEBUG
    from conduit.batch import PlainProgress, RichProgress, progress_display

    plain = io.StringIO()
    bar = PlainProgress(2, stream=plain)
    bar.advance(ok=True)
    bar.advance(ok=False)
    bar.close()
    assert "[2/2] 1 failed" in plain.getvalue()
    rich_out = io.StringIO()
    fancy = RichProgress(1, stream=rich_out)
    fancy.advance(ok=True)
    fancy.close()
    assert "1/1" in rich_out.getvalue()

    shown = io.StringIO()

    @progress_display(label="work", stream=shown)
    def work(x: int, verbose: Any = Verbosity.PROGRESS) -> int:
        return x * 2

    assert work(2) == 4
    assert shown.getvalue() == ""
    assert work(3, verbose="vv") == 6
    assert shown.getvalue().startswith("✓ work · ")


# ---- row 13: TokenEvent, SessionOdometer, ConversationOdometer, PersistentOdometer,
# ----         OdometerRegistry as Model._odometer_registry, persisting automatically


def test_row_odometers(tmp_path: Path) -> None:
    from conduit.odometer import (
        ConversationOdometer,
        PersistentOdometer,
        SessionOdometer,
        SQLiteEventStore,
    )
    from conduit.storage.ledger import LEDGER_ENV

    ledger = tmp_path / "usage.sqlite3"
    registry = OdometerRegistry(ledger=str(ledger))
    assert isinstance(registry.session_odometer, SessionOdometer)
    assert isinstance(registry.persistent_odometer, PersistentOdometer)
    chat = registry.register_conversation_odometer(conversation_id="c1")
    assert isinstance(chat, ConversationOdometer)
    assert registry.conversation_odometers["c1"] is chat
    registry.emit_token_event(
        event=TokenEvent(
            provider="openai", model="gpt-4o", input_tokens=5, output_tokens=1, conversation_id="c1"
        )
    )
    assert chat.total().events == 1
    assert registry.session_odometer.total().input_tokens == 5
    registry.close()

    # Model's answers persist by themselves: RecordUsage writes the one ledger.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(LEDGER_ENV, str(tmp_path / "one.sqlite3"))
        with Model(model="fake/echo") as model:
            model.query(query_input="counted and kept")
    assert Model._odometer_registry.session_odometer.total().events == 1

    async def count(path: Path) -> int:
        store = SQLiteEventStore(path)
        try:
            return await store.count()
        finally:
            await store.aclose()

    assert asyncio.run(count(ledger)) == 1
    assert asyncio.run(count(tmp_path / "one.sqlite3")) == 1


# ---- row 14: the chat CLI builder


def test_row_chat_cli_builder() -> None:
    from conduit.cli.builder import ChatApp

    app = ChatApp(
        "notes", model=FunctionModel(lambda m, o: f"noted: {m[-1].text}"), system="Be brief."
    )

    @app.command("shout", help="say it louder")
    def shout(session: Any, argument: str) -> None:
        session.print(argument.upper())

    @app.command("stop")
    def stop(session: Any, argument: str) -> bool:
        """leave now"""
        return False

    out = io.StringIO()
    lines = iter(["/help", "/shout hey", "buy milk", "/stop", "never read"])
    app.run(read=lambda prompt: next(lines), out=out, save=False, log=False)
    text = out.getvalue()
    assert "/shout      say it louder" in text
    assert "/stop       leave now" in text
    assert "/history" in text  # the built-in commands are there too
    assert "HEY" in text
    assert "noted: buy milk" in text
    assert "never read" not in text


# ---- row 15: the environment from a .env file


def test_row_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from conduit.framework import load_env

    secret = "sk-from-dotenv-0123456789"
    (tmp_path / ".env").write_text(
        f'# keys\nDEMO_PROVIDER_API_KEY={secret}\nexport DEMO_OTHER="quoted value"\nDEMO_SET=file\n'
    )
    monkeypatch.setenv("DEMO_SET", "shell")
    monkeypatch.delenv("DEMO_PROVIDER_API_KEY", raising=False)
    monkeypatch.delenv("DEMO_OTHER", raising=False)
    monkeypatch.chdir(tmp_path)
    caplog.set_level("DEBUG")
    assert load_env() == ["DEMO_OTHER", "DEMO_PROVIDER_API_KEY"]  # names, never values
    assert os.environ["DEMO_PROVIDER_API_KEY"] == secret
    assert os.environ["DEMO_OTHER"] == "quoted value"
    assert os.environ["DEMO_SET"] == "shell"  # already set: not overridden
    assert secret not in caplog.text
    monkeypatch.delenv("DEMO_PROVIDER_API_KEY")
    monkeypatch.delenv("DEMO_OTHER")


def test_everything_is_importable_from_conduit() -> None:
    names = [
        "Model",
        "SyncConduit",
        "AsyncConduit",
        "Request",
        "Response",
        "ConduitError",
        "Parser",
        "Prompt",
        "MessageStore",
        "Messages",
        "TextMessage",
        "ImageMessage",
        "AudioMessage",
        "Verbosity",
        "OdometerRegistry",
        "TokenEvent",
    ]
    for name in names:
        assert getattr(conduit, name) is not None, name
    assert conduit.Response is conduit.schema.Response
    assert conduit.ConduitError is conduit.errors.ConduitError
