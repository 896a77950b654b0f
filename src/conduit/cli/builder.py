"""Build your own chat app: a model, a system prompt and slash commands, by decorators.

`ChatApp` is the framework's chat CLI builder on top of `conduit chat`'s own pieces: the
`ChatSession` (streamed answers, Ctrl-C stops an answer, the history store, every turn
in the usage ledger), the line reader and the built-in commands (`/help`, `/exit`,
`/model`, `/system`, `/history`, `/clear`, `/save`, `/usage`). Your commands come first
and may replace a built-in; `/help` lists them all.

    app = ChatApp("notes", model="anthropic/claude-haiku-4-5", system="Be brief.")

    @app.command("shout", help="say it louder")
    def shout(session, argument):
        session.print(argument.upper())

    if __name__ == "__main__":
        raise SystemExit(app.main())     # --model, --system, --no-save, --no-log

`main()` reads a `.env` file first (`conduit.framework.load_env`: variables already set
are kept, values are never shown).

Example:
    >>> import io
    >>> from conduit.providers.fake import FunctionModel
    >>> app = ChatApp("demo", model=FunctionModel(lambda m, i: "hello!"))
    >>> @app.command("twice", help="say it twice")
    ... def twice(session, argument):
    ...     session.print(f"{argument} {argument}")
    >>> out = io.StringIO()
    >>> lines = iter(["/twice hi", "Hi there", "/exit"])
    >>> app.run(read=lambda prompt: next(lines), out=out, save=False, log=False)
    >>> print(out.getvalue().strip())
    demo · function · /help for commands, Ctrl-D to leave
    hi hi
    hello!
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import click

from conduit.cli.chat import (
    REPL_COMMANDS,
    ChatSession,
    CommandFunction,
    ReplCommand,
    load_plugin_commands,
)
from conduit.cli.recording import usage_ledger
from conduit.errors import ValidationError

if TYPE_CHECKING:
    from conduit.core.protocols import ChatModel

__all__ = ["AppSession", "ChatApp"]


class AppSession(ChatSession):
    """A `ChatSession` that looks up its app's commands before the built-in ones.

    Example:
        >>> from conduit.providers.fake import MockModel
        >>> AppSession(ChatApp("x"), MockModel()).app.name
        'x'
    """

    def __init__(self, app: ChatApp, model: ChatModel, **settings: Any) -> None:
        super().__init__(model, **settings)
        self.app = app

    def handle(self, line: str) -> bool:
        """Run one of the app's commands, else what `ChatSession.handle` does."""
        text = line.strip()
        if text.startswith("/"):
            name, _, argument = text[1:].partition(" ")
            command = self.app.commands.get(name)
            if command is not None:
                return command.run(self, argument.strip()) is not False
        return super().handle(line)


class ChatApp:
    """A chat app: `name` (shown in the banner), the default `model` (a
    `"provider/name"`, a bare catalog name or a `ChatModel`; `$CONDUIT_MODEL` or the
    embedded model when None), a `system` prompt, and the commands added with
    `@app.command(...)`.

    Example:
        >>> app = ChatApp("notes", system="Be brief.")
        >>> _ = app.command("ping")(lambda session, argument: session.print("pong"))
        >>> sorted(app.commands), app.system
        (['help', 'ping'], 'Be brief.')
    """

    def __init__(
        self,
        name: str = "chat",
        *,
        model: str | ChatModel | None = None,
        system: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.system = system
        self.options = dict(options or {})
        self.commands: dict[str, ReplCommand] = {}
        self.command("help", help="list the commands")(self._help)

    def command(self, name: str, *, help: str = "") -> Callable[[CommandFunction], CommandFunction]:
        """Register `fn(session, argument)` as `/name` in this app (returning False
        from it ends the session); the help text defaults to the docstring's first line.
        """
        if not name or not name.isidentifier():
            raise ValidationError(f"a chat command name is one word, like 'shout', not {name!r}")

        def register(fn: CommandFunction) -> CommandFunction:
            text = help or (fn.__doc__ or "").strip().split("\n")[0]
            self.commands[name] = ReplCommand(name, text, fn)
            return fn

        return register

    def _help(self, session: ChatSession, argument: str) -> None:
        every = {**REPL_COMMANDS, **self.commands}
        for command in sorted(every.values(), key=lambda c: c.name):
            session.print(f"/{command.name:<10} {command.help}")

    def _chat_model(self, model: str | ChatModel | None) -> ChatModel:
        import os

        from conduit.cli.recording import build_model as build
        from conduit.cli.settings import default_model

        chosen = model if model is not None else self.model
        if chosen is None:
            chosen = default_model(os.environ)
        return build(chosen) if isinstance(chosen, str) else chosen

    def session(
        self,
        *,
        model: str | ChatModel | None = None,
        out: TextIO | None = None,
        save: bool = True,
        log: bool = True,
        store: str | None = None,
        ledger: Any = None,
    ) -> AppSession:
        """A session of this app (what `run` reads lines into)."""
        from conduit.memory import message_store

        return AppSession(
            self,
            self._chat_model(model),
            system=self.system,
            store=message_store(store) if save else None,
            options=dict(self.options),
            out=out,
            ledger=ledger if log else None,
        )

    def run(
        self,
        *,
        model: str | ChatModel | None = None,
        read: Callable[[str], str] = input,
        out: TextIO | None = None,
        save: bool = True,
        log: bool = True,
        store: str | None = None,
    ) -> None:
        """Chat until `/exit` or the end of input: `read` gives lines (`input` by
        default), answers go to `out` (standard output). `save` keeps the conversation
        in the history store (`store` names it, default the user's), `log` records each
        turn in the usage ledger."""
        from conduit.core.sync import run_sync

        with usage_ledger(no_log=not log) as ledger:
            session = self.session(
                model=model, out=out, save=save, log=log, store=store, ledger=ledger
            )
            try:
                load_plugin_commands()
                ref = session.model.model_info.name
                session.print(f"{self.name} · {ref} · /help for commands, Ctrl-D to leave")
                session.repl(read)
            finally:
                if session.store is not None:
                    run_sync(session.store.aclose())

    def main(self, argv: Sequence[str] | None = None) -> int:
        """The app as a command line program: `--model`, `--system`, `--no-save`,
        `--store`, `--no-log`; reads a `.env` file first. Returns the exit status.

        Example:
            >>> ChatApp("demo").main(["--help"])  # doctest: +ELLIPSIS
            Usage: demo [OPTIONS]
            ...
            0
        """
        from conduit.framework.env import load_env_once

        app = self

        @click.command(name=self.name, help=f"{self.name}: chat with a model in the terminal.")
        @click.option("--model", "-m", default=None, help="provider/name of the model")
        @click.option("--system", "-s", default=None, help="the system prompt")
        @click.option("--no-save", is_flag=True, help="do not keep the conversation")
        @click.option("--store", default=None, help="history store: a path or postgresql:// URL")
        @click.option("--no-log", is_flag=True, help="do not record usage in the ledger")
        def command(
            model: str | None, system: str | None, no_save: bool, store: str | None, no_log: bool
        ) -> None:
            if system is not None:
                app.system = system
            app.run(model=model, save=not no_save, log=not no_log, store=store)

        load_env_once()
        try:
            command.main(
                args=list(argv) if argv is not None else None,
                prog_name=self.name,
                standalone_mode=False,
            )
        except click.exceptions.Exit as done:
            return int(done.exit_code)
        except click.ClickException as exc:
            exc.show(file=sys.stderr)
            return exc.exit_code
        return 0
