"""`conduit chat`: an interactive conversation in the terminal.

Answers stream as they are written. Ctrl-C stops the current answer and keeps the
session; Ctrl-D or `/exit` leaves. End a line with `\\` to continue on the next one,
or wrap a block in `\"\"\"` lines. Each exchange is saved to the history store (unless
`--no-save`), so `conduit chat --continue` picks the last conversation up again. Every
turn is recorded in the one usage ledger, labelled with the conversation's id (unless
`--no-log` or `$CONDUIT_NO_LOG=1`), so `conduit usage --by conversation` shows it.

Slash commands: /model NAME, /system TEXT, /history, /clear, /save [TITLE], /usage,
/help, /exit. Add your own with the `repl_command` decorator (in code, or from a package
through the `conduit.repl_commands` entry-point group):

    @repl_command("shout", help="say it louder")
    def shout(session: ChatSession, argument: str) -> None:
        session.print(argument.upper())

Example:
    >>> import io
    >>> from conduit.providers.fake import FunctionModel
    >>> out = io.StringIO()
    >>> session = ChatSession(FunctionModel(lambda m, i: "hi!"), out=out)
    >>> session.handle("hello")
    True
    >>> session.handle("/exit")
    False
    >>> out.getvalue().strip()
    'hi!'
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any, TextIO

import click

from conduit.cli.conversations import kept_options, merge_options, remember_options
from conduit.cli.recording import command_model, no_log_option, timeout_option, usage_ledger
from conduit.cli.voice import plural
from conduit.errors import ConduitError, ValidationError

if TYPE_CHECKING:
    from conduit.core.protocols import ChatModel
    from conduit.memory import MessageStore
    from conduit.odometer import Odometer
    from conduit.schema import Message
    from conduit.storage.events import EventStore
    from conduit.storage.recorder import UsageRecorder

__all__ = [
    "ChatSession",
    "ENTRY_POINT_GROUP",
    "REPL_COMMANDS",
    "ReplCommand",
    "chat_command",
    "load_plugin_commands",
    "read_input",
    "repl_command",
]

ENTRY_POINT_GROUP = "conduit.repl_commands"


@dataclass(frozen=True, slots=True)
class ReplCommand:
    """A slash command: `run(session, argument)`; returning False ends the session."""

    name: str
    help: str
    run: Callable[[ChatSession, str], bool | None]


REPL_COMMANDS: dict[str, ReplCommand] = {}


CommandFunction = Callable[["ChatSession", str], bool | None]


def repl_command(name: str, *, help: str = "") -> Callable[[CommandFunction], CommandFunction]:
    """Register a function as `/name` in `conduit chat`.

    Example:
        >>> @repl_command("echo", help="print the argument")
        ... def echo(session, argument):
        ...     session.print(argument)
        >>> REPL_COMMANDS["echo"].help
        'print the argument'
    """
    if not name or not name.isidentifier():
        raise ValidationError(f"a chat command name is one word, like 'shout', not {name!r}")

    def register(fn: CommandFunction) -> CommandFunction:
        text = help or (fn.__doc__ or "").strip().split("\n")[0]
        REPL_COMMANDS[name] = ReplCommand(name, text, fn)
        return fn

    return register


def load_plugin_commands(
    entry_points: Iterable[metadata.EntryPoint] | None = None, *, err: TextIO | None = None
) -> list[str]:
    """Import the `conduit.repl_commands` entry points (each registers its commands when
    imported, or is a function to register); a broken one is reported, not fatal."""
    found = (
        entry_points if entry_points is not None else metadata.entry_points(group=ENTRY_POINT_GROUP)
    )
    loaded = []
    for entry in found:
        try:
            value = entry.load()
            if callable(value) and entry.name not in REPL_COMMANDS:
                repl_command(entry.name)(value)
            loaded.append(entry.name)
        except Exception as exc:
            print(
                f"conduit: chat command plugin {entry.name!r} failed: {exc}", file=err or sys.stderr
            )
    return loaded


class ChatSession:
    """One interactive conversation: the model, the messages, where they are saved.

    `conversation_id` names the conversation (a new id unless one is resumed); it labels
    every turn recorded in `ledger` (an `EventStore` or `UsageRecorder`; None records
    nothing) and is the id it is saved under in `store`. `timeout` bounds each answer,
    in seconds. `odometer` counts this session's answers for `/usage`. `options` go with
    every call and are kept on the conversation in `store` (`kept` are those a resumed
    conversation had kept), so `--continue` goes on with them.
    """

    def __init__(
        self,
        model: ChatModel,
        *,
        system: str | None = None,
        store: MessageStore | None = None,
        conversation_id: str | None = None,
        messages: list[Message] | None = None,
        odometer: Odometer | None = None,
        options: dict[str, Any] | None = None,
        kept: dict[str, Any] | None = None,
        out: TextIO | None = None,
        ledger: EventStore | UsageRecorder | None = None,
        timeout: float | None = None,
    ) -> None:
        from conduit.odometer import Odometer
        from conduit.storage.recorder import UsageRecorder

        self.model = model
        self.system = system
        self.store = store
        self.conversation_id: str = conversation_id or uuid.uuid4().hex
        self.saved = conversation_id is not None  # resumed: it is in the store already
        self.ledger = (
            ledger if ledger is None or isinstance(ledger, UsageRecorder) else UsageRecorder(ledger)
        )
        self.timeout = timeout
        self.messages: list[Message] = list(messages or [])
        self.odometer = odometer if odometer is not None else Odometer()
        self.options = dict(options or {})
        self.kept = dict(kept or {})
        self.out = out if out is not None else sys.stdout

    def print(self, text: str = "", *, end: str = "\n") -> None:
        """Write to the session's output."""
        self.out.write(text + end)
        self.out.flush()

    def _request(self) -> list[Message]:
        from conduit.schema import system

        rest = [m for m in self.messages if m.role != "system"]
        return [system(self.system), *rest] if self.system else rest

    def handle(self, line: str) -> bool:
        """Run a slash command or send a message; False when the session should end."""
        text = line.strip()
        if not text:
            return True
        if text.startswith("/"):
            name, _, argument = text[1:].partition(" ")
            command = REPL_COMMANDS.get(name)
            if command is None:
                self.print(f"unknown command /{name}; /help lists them")
                return True
            return command.run(self, argument.strip()) is not False
        self.send(line)
        return True

    def send(self, text: str) -> None:
        """Send a message and stream the answer; Ctrl-C stops the answer (nothing of the
        unfinished exchange is kept)."""
        from conduit.core.sync import iterate_sync
        from conduit.schema import Done, TextDelta, user

        message = user(text)
        model = command_model(
            self.model,
            self.ledger,
            command="chat",
            timeout=self.timeout,
            conversation_id=self.conversation_id,
        )
        events = iterate_sync(model.stream([*self._request(), message], **self.options))
        assert isinstance(events, Generator)
        done = None
        try:
            for event in events:
                if isinstance(event, TextDelta):
                    self.out.write(event.text)
                    self.out.flush()
                elif isinstance(event, Done):
                    done = event.response
        except KeyboardInterrupt:
            events.close()
            self.print("\n[stopped]")
            return
        except ConduitError as exc:
            self.print(f"\nerror: {exc}")
            return
        self.print()
        if done is None:  # pragma: no cover - every stream ends with Done
            return
        self.messages += [message, done.to_message()]
        self.odometer.record_response(done)
        self._save(message, done)

    def _save(self, *items: Any) -> None:
        if self.store is None:
            return
        from conduit.core.sync import run_sync

        store = self.store

        async def append() -> None:
            setup: list[Message] = []
            if not self.saved:
                first = next((m.text for m in self.messages if m.role == "user"), "chat")
                await self.create(store, first[:60])
                setup = self.setup_messages()
            else:
                await remember_options(store, self.conversation_id, self.kept, self.options)
                self.kept = kept_options(self.options)
            await store.append(self.conversation_id, *setup, *items)

        run_sync(append())

    async def create(self, store: MessageStore, title: str) -> None:
        """Start this session's conversation in `store`, keeping its options."""
        self.kept = kept_options(self.options)
        await store.create(title, id=self.conversation_id, options=self.kept)
        self.saved = True

    def setup_messages(self) -> list[Message]:
        """What a conversation starts with in the store: its system prompt, so that
        `--continue` keeps it."""
        from conduit.schema import system

        return [system(self.system)] if self.system else []

    def new_conversation(self) -> None:
        """Forget the messages and start a new conversation (a new id).

        Example:
            >>> from conduit.providers.fake import MockModel
            >>> session = ChatSession(MockModel(), conversation_id="c1")
            >>> session.new_conversation()
            >>> session.conversation_id != "c1", session.saved
            (True, False)
        """
        self.messages.clear()
        self.conversation_id = uuid.uuid4().hex
        self.saved = False

    def repl(self, read: Callable[[str], str] = input) -> None:
        """Read, answer, repeat, until /exit or end of input."""
        while True:
            try:
                line = read_input(read)
            except EOFError:
                self.print()
                return
            except KeyboardInterrupt:
                self.print("\n(Ctrl-D or /exit to leave)")
                continue
            if not self.handle(line):
                return


def read_input(read: Callable[[str], str] = input) -> str:
    """One message: a line; lines ending in `\\` continue; `\"\"\"` opens and closes a block.

    Example:
        >>> lines = iter(['first \\\\', 'second'])
        >>> read_input(lambda prompt: next(lines))
        'first \\nsecond'
    """
    line = read(">>> ")
    if line.strip() == '"""':
        block = []
        while (line := read("... ")).strip() != '"""':
            block.append(line)
        return "\n".join(block)
    parts = []
    while line.endswith("\\"):
        parts.append(line[:-1])
        line = read("... ")
    parts.append(line)
    return "\n".join(parts)


# ---- built-in commands


@repl_command("help", help="list the commands")
def _help(session: ChatSession, argument: str) -> None:
    for command in sorted(REPL_COMMANDS.values(), key=lambda c: c.name):
        session.print(f"/{command.name:<10} {command.help}")


@repl_command("exit", help="leave (also Ctrl-D)")
def _exit(session: ChatSession, argument: str) -> bool:
    return False


@repl_command("quit", help="leave")
def _quit(session: ChatSession, argument: str) -> bool:
    return False


@repl_command("model", help="show the model, or switch: /model provider/name")
def _model(session: ChatSession, argument: str) -> None:
    if argument:
        from conduit.cli.recording import build_model

        try:
            session.model = build_model(argument)
        except ConduitError as exc:
            session.print(f"error: {exc}")
            return
    session.print(f"model: {session.model.model_info.ref}")


@repl_command("system", help="show the system prompt, or set it: /system TEXT")
def _system(session: ChatSession, argument: str) -> None:
    if argument:
        session.system = argument
    session.print(f"system: {session.system or '(none)'}")


@repl_command("history", help="the conversation so far")
def _history(session: ChatSession, argument: str) -> None:
    if not session.messages:
        session.print("(no messages yet)")
    for message in session.messages:
        session.print(f"{message.role}: {message.text}")


@repl_command("clear", help="start a new conversation")
def _clear(session: ChatSession, argument: str) -> None:
    session.new_conversation()
    session.print("(cleared: a new conversation)")


@repl_command("save", help="save the conversation (optionally titled): /save TITLE")
def _save(session: ChatSession, argument: str) -> None:
    from conduit.core.sync import run_sync

    if session.store is None:
        session.print("not saving: started with --no-save")
        return
    store = session.store

    async def save() -> str:
        if not session.saved:
            await session.create(store, argument or "chat")
            if session.messages:
                await store.append(
                    session.conversation_id, *session.setup_messages(), *session.messages
                )
        elif argument:
            await store.rename(session.conversation_id, argument)
        return session.conversation_id

    session.print(f"saved as {run_sync(save())}")


@repl_command("usage", help="tokens and cost of this session")
def _usage(session: ChatSession, argument: str) -> None:
    total = session.odometer.total()
    cost = f"${total.cost:.6f}" if total.priced else "unknown cost"
    session.print(
        f"{plural(total.events, 'answer')} · {total.input_tokens} in / "
        f"{total.output_tokens} out tokens · {cost}"
    )


# ---- the click command


@click.command("chat")
@click.option(
    "-m",
    "--model",
    help="provider/model or an alias (default: $CONDUIT_MODEL, else 'conduit models default', "
    "else local/default)",
)
@click.option("-s", "--system", help="a system prompt")
@click.option("-c", "--continue", "continue_", is_flag=True, help="resume the last conversation")
@click.option("--cid", help="resume this conversation (an id from `conduit history list`)")
@click.option("--no-save", is_flag=True, help="do not save the conversation")
@click.option("--store", help="history store URL or file (default: user data folder)")
@click.option("--max-tokens", type=int, help="most tokens per answer")
@click.option("--temperature", type=float, help="sampling temperature, 0 to 2")
@click.option(
    "-t", "--template", metavar="NAME", help="use the saved template NAME's system, model, options"
)
@timeout_option
@no_log_option
def chat_command(
    model: str | None,
    system: str | None,
    continue_: bool,
    cid: str | None,
    no_save: bool,
    store: str | None,
    max_tokens: int | None,
    temperature: float | None,
    template: str | None,
    timeout: float | None,
    no_log: bool,
) -> int:
    """Chat with a model in the terminal (streaming; /help lists the commands).

    Every turn is recorded in the usage ledger under the conversation's id, unless
    --no-log (or $CONDUIT_NO_LOG=1).
    """
    from conduit.cli.recording import build_model as build
    from conduit.cli.settings import default_model
    from conduit.core.sync import run_sync
    from conduit.memory import message_store

    if no_save and (continue_ or cid):
        raise ValidationError("--continue and --cid read the history store: drop --no-save")
    history = None if no_save else message_store(store)
    conversation_id = cid
    messages: list[Message] = []
    saved: dict[str, Any] = {}
    kept: dict[str, Any] = {}
    if template:
        from conduit.cli.templates import load_template

        saved = load_template(template)
        system = system or saved.get("system")
        model = model or saved.get("model")
    if history is not None and (continue_ or cid):
        from conduit.cli.conversations import resume

        try:
            resumed = run_sync(resume(history, cid))
        except ValidationError:  # nothing saved yet: --continue starts the first one
            resumed = None
        if resumed is not None:
            conversation_id, messages = resumed.id, resumed.messages
            system = system or resumed.system
            model = model or resumed.model
            kept = resumed.options
    # The conversation's kept options, under the template's, under this call's flags.
    options = merge_options(
        merge_options(kept, saved.get("options") or {}),
        {
            k: v
            for k, v in (("max_tokens", max_tokens), ("temperature", temperature))
            if v is not None
        },
    )
    ref = model or default_model(os.environ)
    try:
        with usage_ledger(no_log) as ledger:
            session = ChatSession(
                build(ref),
                system=system,
                store=history,
                conversation_id=conversation_id,
                messages=messages,
                options=options,
                kept=kept,
                ledger=ledger,
                timeout=timeout,
            )
            load_plugin_commands()
            with contextlib.suppress(ImportError):  # line editing and history for input()
                import readline  # noqa: F401
            going_on = (
                f", continuing {conversation_id} ({plural(len(messages), 'message')})"
                if messages
                else ""
            )
            # The name /model shows too (local/default is local/smollm2-135m-instruct).
            shown = session.model.model_info.ref
            session.print(f"conduit chat · {shown}{going_on} · /help for commands, Ctrl-D to leave")
            session.repl()
    finally:
        if history is not None:
            run_sync(history.aclose())
    return 0
