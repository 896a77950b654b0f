"""`conduit ask "question"`: one answer, streamed to the terminal.

The model is `--model`, else `$CONDUIT_MODEL`, else the embedded local model
(`local/default`, SmolLM2-135M-Instruct), so it works with no key and no network.
Text piped on stdin comes before the question (`cat notes.txt | conduit ask "Summarise"`).
The call is recorded in the one usage ledger (`conduit usage` shows it) and the
exchange in the history store (`conduit logs` shows it) unless `--no-log` or
`$CONDUIT_NO_LOG=1`. `-c` continues the latest conversation, `--cid ID` another one,
keeping its model and system prompt unless `-m`/`-s` say otherwise.

Example:
    >>> import argparse
    >>> args = argparse.Namespace(model=None)
    >>> resolve_model(args, {})
    'local/default'
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import uuid
from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import click

from conduit.cli.recording import no_log_option, timeout_option
from conduit.errors import ValidationError

if TYPE_CHECKING:
    from conduit.cli.conversations import Resumed

__all__ = [
    "DEFAULT_MODEL",
    "MODEL_ENV",
    "ask_command",
    "build_prompt",
    "extract_code",
    "model_options",
    "resolve_model",
    "run",
]

DEFAULT_MODEL = "local/default"
MODEL_ENV = "CONDUIT_MODEL"


@click.command("ask")
@click.argument("question", nargs=-1)
@click.option(
    "-m",
    "--model",
    help=f"provider/model or an alias (default: ${MODEL_ENV}, else 'conduit models default', "
    f"else {DEFAULT_MODEL})",
)
@click.option("-s", "--system", help="a system prompt")
@click.option("--max-tokens", type=int, help="most tokens to generate")
@click.option("--temperature", type=float, help="sampling temperature, 0 to 2")
@click.option("--seed", type=int, help="seed, for repeatable sampling")
@click.option("--no-stream", is_flag=True, help="print the answer once it is complete")
@click.option(
    "-x", "--extract", is_flag=True, help="print only the first fenced code block of the answer"
)
@click.option(
    "-o",
    "--option",
    "model_options",
    type=(str, str),
    multiple=True,
    metavar="KEY VALUE",
    help="a model option, e.g. -o top_p 0.5 -o repeat_penalty 1.2 (repeatable)",
)
@click.option(
    "-c",
    "--continue",
    "continue_",
    is_flag=True,
    help="continue the latest conversation (its model, system prompt and options)",
)
@click.option("--cid", help="continue the conversation with this id")
@click.option(
    "-a",
    "--attach",
    "attachments",
    multiple=True,
    metavar="FILE|URL",
    help="attach an image or audio file or URL (repeatable)",
)
@click.option(
    "-f",
    "--fragment",
    "fragments",
    multiple=True,
    metavar="FILE|URL",
    help="text from a file or URL, placed before the prompt (repeatable)",
)
@click.option(
    "--schema",
    metavar="SCHEMA",
    help="answer as JSON: a JSON Schema (inline or a file) or 'name str, age int, bio'",
)
@click.option("-t", "--template", metavar="NAME", help="use the saved template NAME")
@click.option(
    "--save", metavar="NAME", help="save this ask's prompt, system, model and options as NAME"
)
@timeout_option
@no_log_option
def ask_command(**params: Any) -> int:
    """Ask a model one question and stream the answer.

    The model is --model, else $CONDUIT_MODEL, else the embedded local model, so it works
    with no key and no network. Text piped on stdin comes before the question.
    """
    params["question"] = list(params["question"])
    return run(argparse.Namespace(**params))


def resolve_model(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """`--model`, else `$CONDUIT_MODEL`, else the default model saved with `conduit
    models default`, else the embedded local model.

    Example:
        >>> resolve_model(argparse.Namespace(model=None), {"CONDUIT_MODEL": "fake/echo"})
        'fake/echo'
    """
    from conduit.cli.settings import default_model

    chosen: str | None = args.model or None
    return chosen or default_model(environ)


def build_prompt(words: list[str], stdin: TextIO) -> str:
    """The question from the arguments, after any text piped on stdin.

    Example:
        >>> import io
        >>> build_prompt(["Summarise"], io.StringIO("long text"))
        'long text\\n\\nSummarise'
    """
    question = " ".join(words).strip()
    try:
        piped = "" if stdin.isatty() else stdin.read().strip()
    except OSError:  # stdin closed or not readable (a daemon, a test runner)
        piped = ""
    prompt = "\n\n".join(part for part in (piped, question) if part)
    if not prompt:
        raise ValidationError('ask what? e.g. conduit ask "What is 2+2?" (or pipe text in)')
    return prompt


_FENCE = re.compile(r"^```[^\n`]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def extract_code(text: str) -> str:
    r"""The first fenced code block of `text` (without its fences), else `text`.

    Example:
        >>> extract_code("Here:\n```python\nprint(1)\n```\nDone.")
        'print(1)'
    """
    found = _FENCE.search(text)
    return found.group(1).rstrip("\n") if found else text


_OPTION_FIELDS = frozenset({"temperature", "max_tokens", "top_p", "stop", "seed"})


def model_options(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """`-o KEY VALUE` pairs as call options: numbers and true/false typed, the common
    settings as themselves, the rest (a provider's own, like `repeat_penalty`) in
    `extra`.

    Example:
        >>> model_options([("top_p", "0.5"), ("repeat_penalty", "1.2"), ("stop", "END")])
        {'top_p': 0.5, 'stop': ['END'], 'extra': {'repeat_penalty': 1.2}}
    """
    options: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, text in pairs:
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        if key == "stop":
            options.setdefault("stop", []).append(str(text))
        elif key in _OPTION_FIELDS:
            options[key] = value
        else:
            extra[key] = value
    if extra:
        options["extra"] = extra
    return options


def run(args: argparse.Namespace) -> int:
    """Ask and print (recording the call in the usage ledger and the exchange in the
    history store unless `args.no_log`); errors propagate to `main` as `ConduitError`s.

    Example:
        >>> import io, sys
        >>> sys.stdin = io.StringIO()
        >>> args = argparse.Namespace(question=["hi"], model="fake/echo", system=None,
        ...     max_tokens=None, temperature=None, seed=None, no_stream=True, no_log=True)
        >>> run(args)
        hi
        0
        >>> sys.stdin = sys.__stdin__
    """
    from conduit.api import chat_sync, stream_sync
    from conduit.cli.attachments import attachment_block, fragment_text
    from conduit.cli.conversations import kept_options
    from conduit.cli.recording import build_model, command_model, logging_off, usage_ledger
    from conduit.schema import Done, Response, TextDelta, system, user

    if getattr(args, "save", None):
        return _save_template(args)
    template = _template(args)
    fragments = [fragment_text(value) for value in getattr(args, "fragments", ())]
    blocks = [attachment_block(value) for value in getattr(args, "attachments", ())]
    try:
        prompt = build_prompt(args.question, sys.stdin)
    except ValidationError:
        if not blocks and not fragments and not template.get("prompt"):
            raise
        prompt = ""  # only attachments, fragments or a template: they are the question
    if template.get("prompt"):
        from conduit.cli.templates import apply_template

        prompt = apply_template(str(template["prompt"]), prompt)
    prompt = "\n\n".join(part for part in (*fragments, prompt) if part)
    parts = [prompt, *blocks] if prompt else blocks
    no_log = logging_off(getattr(args, "no_log", False))
    continuing = getattr(args, "continue_", False) or getattr(args, "cid", None)
    if continuing and no_log:
        raise ValidationError("-c/--cid continue a logged conversation — drop --no-log")
    resumed = _resume(getattr(args, "cid", None)) if continuing else None
    # The conversation's kept options, under the template's, under this call's flags.
    options = _merged(
        _merged(resumed.options if resumed else {}, template.get("options") or {}),
        _given_options(args),
    )
    kept = kept_options(options)
    schema_text = getattr(args, "schema", None) or template.get("schema")
    if schema_text:
        from conduit.cli.schema_arg import parse_schema, schema_format

        options["response_format"] = schema_format(parse_schema(schema_text))
    system_prompt = args.system or template.get("system") or (resumed.system if resumed else None)
    earlier = resumed.messages if resumed else []
    ref = (
        args.model
        or template.get("model")
        or (resumed.model if resumed else None)
        or resolve_model(args, os.environ)
    )
    messages = [system(system_prompt)] if system_prompt else []
    messages += [*earlier, user(*parts)]
    conversation_id = resumed.id if resumed else uuid.uuid4().hex
    built = build_model(ref)
    out = sys.stdout
    answer: Response | None = None
    with usage_ledger(no_log) as ledger:
        chat_model = command_model(
            built,
            ledger,
            command="ask",
            timeout=getattr(args, "timeout", None),
            conversation_id=conversation_id,
        )
        if args.no_stream or getattr(args, "extract", False) or schema_text:
            answer = chat_sync(chat_model, messages, **options)
            text = answer.text
            if schema_text:
                text = _as_json(text)
            elif getattr(args, "extract", False):
                text = extract_code(text)
            out.write(text)
        else:
            # Closed before the ledger is: a stream given up half-way (a closed pipe) is
            # recorded with what it delivered.
            events = stream_sync(chat_model, messages, **options)
            assert isinstance(events, Generator)
            with contextlib.closing(events):
                for event in events:
                    if isinstance(event, TextDelta):
                        out.write(event.text)
                        out.flush()
                    elif isinstance(event, Done):
                        answer = event.response
    out.write("\n")
    out.flush()
    if not no_log and answer is not None:
        setup = [system(system_prompt)] if system_prompt and resumed is None else []
        asked = user(*parts)
        _save(
            conversation_id,
            prompt or "(attachment)",
            [*setup, asked, answer],
            resumed=resumed,
            options=kept,
        )
    return 0


def _given_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {
        key: value
        for key, value in (
            ("max_tokens", args.max_tokens),
            ("temperature", args.temperature),
            ("seed", args.seed),
        )
        if value is not None
    }
    options.update(model_options(getattr(args, "model_options", ())))
    return options


def _merged(saved: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """`given` options over `saved` ones (a provider's own `extra` ones merged too)."""
    from conduit.cli.conversations import merge_options

    return merge_options(saved, given)


def _template(args: argparse.Namespace) -> dict[str, Any]:
    if not getattr(args, "template", None):
        return {}
    from conduit.cli.templates import load_template

    return load_template(args.template)


def _save_template(args: argparse.Namespace) -> int:
    from conduit.cli.templates import save_template

    template = {
        **_template(args),
        **{
            key: value
            for key, value in (
                ("model", args.model),
                ("system", args.system),
                ("prompt", " ".join(args.question).strip()),
                ("schema", getattr(args, "schema", None)),
            )
            if value
        },
    }
    template["options"] = _merged(template.get("options") or {}, _given_options(args))
    path = save_template(args.save, template)
    click.echo(f"saved the template {args.save!r} in {path}", err=True)
    return 0


def _as_json(text: str) -> str:
    from conduit.structured import find_json

    try:
        return json.dumps(find_json(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text  # not JSON after all: shown as it came


def _resume(cid: str | None) -> Resumed:
    from conduit.cli.conversations import resume
    from conduit.core.sync import run_sync
    from conduit.memory import message_store

    async def load() -> Resumed:
        store = message_store()
        try:
            return await resume(store, cid)
        finally:
            await store.aclose()

    return run_sync(load())


def _save(
    conversation_id: str,
    title: str,
    items: list[Any],
    *,
    resumed: Resumed | None,
    options: dict[str, Any],
) -> None:
    from conduit.cli.conversations import remember_options
    from conduit.core.sync import run_sync
    from conduit.memory import message_store

    async def save() -> None:
        store = message_store()
        try:
            if resumed is None:
                title_text = " ".join(title.split())[:60]
                await store.create(title_text, id=conversation_id, options=options)
            else:
                await remember_options(store, conversation_id, resumed.options, options)
            await store.append(conversation_id, *items)
        finally:
            await store.aclose()

    run_sync(save())
