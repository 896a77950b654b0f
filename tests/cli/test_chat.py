"""`conduit chat`: the session, its slash commands, CliRunner, and a real terminal."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conduit.cli.chat import (
    REPL_COMMANDS,
    ChatSession,
    chat_command,
    load_plugin_commands,
    read_input,
    repl_command,
)
from conduit.errors import RateLimitError, ValidationError
from conduit.memory import message_store
from conduit.providers.fake import FunctionModel, MockModel
from conduit.schema import ChatOptions, Message, Response, TextBlock, Usage
from tests.support.processes import SYSCALLS_READABLE, WAITS_FOR_INPUT, wait_until_blocked


def _session(model: Any = None, **kwargs: Any) -> tuple[ChatSession, io.StringIO]:
    out = io.StringIO()
    chosen = model or FunctionModel(lambda messages, options: f"#{len(messages)}")
    return ChatSession(chosen, out=out, **kwargs), out


def test_messages_stream_and_accumulate() -> None:
    session, out = _session()
    assert session.handle("one")
    assert session.handle("two")
    assert out.getvalue() == "#1\n#3\n"
    assert [m.text for m in session.messages] == ["one", "#1", "two", "#3"]


def test_system_prompt_goes_first() -> None:
    seen: list[list[str]] = []

    def reply(messages: list[Message], options: ChatOptions) -> str:
        seen.append([m.role for m in messages])
        return "ok"

    session, out = _session(FunctionModel(reply))
    session.handle("/system be terse")
    session.handle("hi")
    assert seen == [["system", "user"]]
    assert "system: be terse" in out.getvalue()


def test_slash_commands() -> None:
    session, out = _session(
        MockModel(
            [Response(content=[TextBlock(text="a")], usage=Usage(input_tokens=4, output_tokens=1))],
            repeat_last=True,
        )
    )
    session.handle("hello")
    session.handle("/history")
    session.handle("/usage")
    session.handle("/model")
    session.handle("/model fake/echo")
    session.handle("/nope")
    session.handle("/help")
    session.handle("/clear")
    session.handle("/history")
    text = out.getvalue()
    assert "user: hello\nassistant: a" in text
    assert "1 answer · 4 in / 1 out tokens" in text
    assert "model: fake/mock" in text
    assert "model: fake/echo" in text
    assert "unknown command /nope" in text
    assert "/exit" in text
    assert "/usage" in text
    assert "(cleared" in text
    assert "(no messages yet)" in text
    assert session.messages == []
    assert session.handle("/exit") is False
    assert session.handle("/quit") is False


def test_switching_to_an_unknown_model_keeps_the_current_one() -> None:
    session, out = _session()
    session.handle("/model nobody/nothing")
    assert "error:" in out.getvalue()
    assert session.model.model_info.ref == "fake/function"


def test_an_error_is_shown_and_the_session_goes_on() -> None:
    session, out = _session(MockModel([RateLimitError("slow down"), "fine"]))
    session.handle("first")
    session.handle("second")
    assert "error:" in out.getvalue()
    assert "slow down" in out.getvalue()
    assert [m.text for m in session.messages] == ["second", "fine"]


def test_ctrl_c_stops_the_answer_and_keeps_the_session() -> None:
    class InterruptedTerminal(io.StringIO):
        """Ctrl-C arrives in the main thread while the answer is being printed."""

        def write(self, text: str) -> int:
            if text == "story":
                raise KeyboardInterrupt
            return super().write(text)

    async def words(messages: list[Message], options: ChatOptions) -> AsyncIterator[str]:
        yield "a "
        yield "story"
        yield " never printed"

    out = InterruptedTerminal()
    session = ChatSession(FunctionModel(lambda m, o: "unused", stream_fn=words), out=out)
    session.handle("tell me a story")
    assert out.getvalue() == "a \n[stopped]\n"
    assert session.messages == []  # nothing of the unfinished exchange is kept
    session.handle("/history")
    assert "(no messages yet)" in out.getvalue()


def test_saved_and_continued_through_the_store(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    store = message_store(db)
    session, _ = _session(store=store)
    session.handle("remember the owl")
    session.handle("/save Owls")
    conversation = session.conversation_id
    assert conversation is not None

    async def check() -> list[str]:
        found = message_store(db)
        try:
            header = await found.get(conversation)
            assert header.title == "Owls"
            return [m.text for m in await found.messages(conversation)]
        finally:
            await found.aclose()

    assert asyncio.run(check()) == ["remember the owl", "#1"]


def test_save_without_a_store_says_so() -> None:
    session, out = _session()
    session.handle("/save")
    assert "not saving" in out.getvalue()


def test_save_creates_a_conversation_for_unsaved_messages(tmp_path: Path) -> None:
    store = message_store(tmp_path / "h.sqlite3")
    session, out = _session(store=store)
    session.messages = [*session.messages]
    session.store = None
    session.handle("hi")  # not saved: no store yet
    session.store = store
    session.handle("/save Later")
    assert "saved as" in out.getvalue()
    assert session.conversation_id is not None


def test_read_input_joins_continued_lines_and_blocks() -> None:
    lines = iter(['"""', "line one", "line two", '"""'])
    assert read_input(lambda prompt: next(lines)) == "line one\nline two"
    lines = iter(["a\\", "b\\", "c"])
    assert read_input(lambda prompt: next(lines)) == "a\nb\nc"


def test_repl_loop_handles_ctrl_c_at_the_prompt_and_ctrl_d() -> None:
    session, out = _session()
    script: Iterator[Any] = iter(["hi", KeyboardInterrupt(), EOFError()])

    def read(prompt: str) -> str:
        item = next(script)
        if isinstance(item, BaseException):
            raise item
        return str(item)

    session.repl(read)
    assert "#1" in out.getvalue()
    assert "Ctrl-D or /exit" in out.getvalue()


def test_user_commands_by_decorator_and_entry_point(tmp_path: Path) -> None:
    @repl_command("shout", help="say it louder")
    def shout(session: ChatSession, argument: str) -> None:
        session.print(argument.upper())

    session, out = _session()
    session.handle("/shout hello")
    assert "HELLO" in out.getvalue()

    module = tmp_path / "my_repl_plugin.py"
    module.write_text(
        "def whisper(session, argument):\n    session.print(argument.lower())\n"
        "def broken():\n    raise RuntimeError('bad plugin')\n"
    )
    sys.path.insert(0, str(tmp_path))
    err = io.StringIO()
    try:
        eps = [
            metadata.EntryPoint("whisper", "my_repl_plugin:whisper", "conduit.repl_commands"),
            metadata.EntryPoint("missing", "no_such_module_xyz:thing", "conduit.repl_commands"),
        ]
        assert load_plugin_commands(eps, err=err) == ["whisper"]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("my_repl_plugin", None)
    assert "plugin 'missing' failed" in err.getvalue()
    session.handle("/whisper QUIET")
    assert "quiet" in out.getvalue()
    REPL_COMMANDS.pop("shout")
    REPL_COMMANDS.pop("whisper")
    with pytest.raises(ValidationError):
        repl_command("two words")


def test_chat_command_through_cli_runner(tmp_path: Path) -> None:
    store = str(tmp_path / "h.sqlite3")
    runner = CliRunner()
    first = runner.invoke(chat_command, ["-m", "fake/echo", "--store", store], input="hello\n")
    assert first.exit_code == 0, first.output
    assert "conduit chat · fake/echo" in first.output
    assert "hello" in first.output
    again = runner.invoke(
        chat_command, ["-m", "fake/echo", "--store", store, "--continue"], input="/history\n"
    )
    assert again.exit_code == 0, again.output
    assert "continuing" in again.output
    assert "user: hello" in again.output
    unsaved = runner.invoke(chat_command, ["-m", "fake/echo", "--no-save"], input="/save\n")
    assert "not saving" in unsaved.output
    both = runner.invoke(chat_command, ["--no-save", "--continue"])
    assert isinstance(both.exception, ValidationError)


pexpect = pytest.importorskip("pexpect")


@pytest.mark.skipif(
    shutil.which("conduit") is None and not Path(sys.executable).with_name("conduit").exists(),
    reason="the conduit script is not installed",
)
@pytest.mark.skipif(
    not SYSCALLS_READABLE, reason="needs /proc/<pid>/syscall to know when the child waits"
)
def test_a_person_chats_with_the_local_model_in_a_real_terminal(tmp_path: Path) -> None:
    """Start `conduit chat` on the embedded model in a pseudo-terminal, type, read the
    streamed answer, use slash commands, Ctrl-C, and leave.

    Each Ctrl-C is sent only once the child is where the test means it to land (what it
    prints comes before it gets there): at the prompt, once it waits for a key; mid-answer,
    once the terminal's output is stopped (Ctrl-S) and the child is held writing the
    answer to it, so the answer cannot end first however slow the test is."""
    script = Path(sys.executable).with_name("conduit")
    env = {**os.environ, "CONDUIT_DATA_DIR": str(tmp_path), "TERM": "dumb"}
    child = pexpect.spawn(
        str(script),
        ["chat", "--temperature", "0", "--max-tokens", "40"],
        env=env,
        encoding="utf-8",
        timeout=120,
    )
    try:
        child.expect("conduit chat · local/smollm2-135m-instruct")
        child.expect(">>> ")
        child.sendline("What is 2+2?")
        child.expect("4")  # the streamed answer (SmolLM2 gets this one right at temp 0)
        child.expect(">>> ")
        child.sendline("/usage")
        child.expect(r"1 answer · \d+ in / \d+ out tokens")
        child.expect(">>> ")
        child.sendline("/history")
        child.expect("user: What is 2\\+2\\?")
        child.expect(">>> ")
        # The prompt is written before readline waits for a key: a Ctrl-C in between is
        # only noticed at the next key press.
        wait_until_blocked(child.pid, WAITS_FOR_INPUT)
        child.sendcontrol("c")  # at the prompt: a hint, the session goes on
        child.expect("Ctrl-D or /exit")
        child.expect(">>> ")
        child.sendline("Write a long story about a dragon.")
        child.expect("dragon\\.\r\n")  # the terminal's echo of the line
        child.sendcontrol("s")  # stop the terminal's output: the answer's first write waits
        wait_until_blocked(child.pid, {"write"}, fd=1)
        child.sendcontrol("c")  # mid-answer: stops the answer only (and restarts output)
        child.expect(r"\[stopped\]")
        child.expect(">>> ")
        child.sendline("/history")  # nothing of the stopped exchange is kept
        child.expect("user: What is 2\\+2\\?")
        child.expect(">>> ")
        assert "dragon" not in child.before
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    history = list(tmp_path.glob("history.sqlite3"))
    assert history, "the exchange was saved to the history store"
