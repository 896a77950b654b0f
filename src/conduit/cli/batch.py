"""`conduit batch INPUT.jsonl --prompt FILE`: one prompt over many inputs.

Each line of INPUT.jsonl is a JSON object of template variables; the prompt file is a
template (`{{ name }}`, see `conduit.prompts`). Answers are written as JSON lines in
input order, to `-o OUT.jsonl` or stdout: `{"index", "ok": true, "text", "usage"}` or
`{"index", "ok": false, "error": {...}}`. While it runs, finished items are journaled in
`OUT.jsonl.partial`; after Ctrl-C, run again with `--resume` to do only the rest.
Every call is recorded in the one usage ledger (unless `--no-log` or
`$CONDUIT_NO_LOG=1`); `--max-retries` and `--timeout` bound each item.

Exit status: 0 every item answered, 3 some failed (their errors are in the output),
130 stopped by Ctrl-C, 1 nothing could run (bad input, unknown model), 2 bad usage.

Example:
    >>> read_inputs(['{"topic": "owls"}', '', '{"topic": "bats"}'])
    [{'topic': 'owls'}, {'topic': 'bats'}]
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from conduit.cli.params import COUNT
from conduit.cli.recording import no_log_option, timeout_option
from conduit.errors import ValidationError

__all__ = ["EXIT_PARTIAL", "batch_command", "output_record", "read_inputs"]

EXIT_PARTIAL = 3


def read_inputs(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL text (blank lines skipped); a bad line is an error
    naming its line number.

    Example:
        >>> read_inputs(['[1]'])
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: input line 1 must be a JSON object of template variables, not list...
    """  # noqa: E501 - a doctest output line
    inputs: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"input line {number} is not JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise ValidationError(
                f"input line {number} must be a JSON object of template variables, "
                f"not {type(value).__name__}"
            )
        inputs.append(value)
    return inputs


def output_record(index: int, item: Any) -> dict[str, Any]:
    """The output line for one result.

    Example:
        >>> from conduit.schema import Response, TextBlock
        >>> output_record(0, Response(content=[TextBlock(text="hi")]))["text"]
        'hi'
    """
    from conduit.batch import BatchItemError
    from conduit.schema import Response

    if isinstance(item, BatchItemError):
        error = item.to_dict()
        error.pop("traceback", None)
        return {"index": index, "ok": False, "error": error}
    if isinstance(item, Response):
        return {
            "index": index,
            "ok": True,
            "text": item.text,
            "model": item.model,
            "usage": item.usage.model_dump(mode="json"),
        }
    return {"index": index, "ok": True, "value": item}  # pragma: no cover - no parser here


@click.command("batch")
@click.argument("input_file", metavar="INPUT.jsonl", type=click.File("r"))
@click.option("--prompt", "prompt_file", required=True, type=click.Path(path_type=Path))
@click.option("-m", "--model", help="provider/model (default: $CONDUIT_MODEL, else local/default)")
@click.option("-s", "--system", help="a system prompt")
@click.option(
    "-n", "--concurrency", type=click.IntRange(1), default=8, show_default=True,
    help="items in flight at once",
)  # fmt: skip
@click.option(
    "--max-retries",
    type=COUNT,
    default=2,
    show_default=True,
    help="retries of an item whose error is retryable",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="OUT.jsonl (default stdout)")
@click.option("--resume", is_flag=True, help="skip the items a stopped run already answered")
@click.option("--max-tokens", type=int, help="most tokens per answer")
@click.option("--temperature", type=float, help="sampling temperature, 0 to 2")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@timeout_option
@no_log_option
@click.pass_context
def batch_command(
    ctx: click.Context,
    input_file: Any,
    prompt_file: Path,
    model: str | None,
    system: str | None,
    concurrency: int,
    max_retries: int,
    output: Path | None,
    resume: bool,
    max_tokens: int | None,
    temperature: float | None,
    quiet: bool,
    timeout: float | None,
    no_log: bool,
) -> int:
    """Run a prompt template over every line of INPUT.jsonl.

    Every call is recorded in the usage ledger, unless --no-log (or $CONDUIT_NO_LOG=1).
    """
    from conduit.batch import Pipeline, Verbosity
    from conduit.cli.recording import build_model as build
    from conduit.cli.recording import command_model, usage_ledger
    from conduit.cli.settings import default_model
    from conduit.prompts import Prompt

    if resume and output is None:
        raise ValidationError("--resume needs -o OUT.jsonl (its journal holds what finished)")
    inputs = read_inputs(input_file)
    prompt = Prompt.from_file(prompt_file)
    options: dict[str, Any] = {
        k: v for k, v in (("max_tokens", max_tokens), ("temperature", temperature)) if v is not None
    }
    built = build(model or default_model(os.environ))
    verbose = (ctx.obj or {}).get("verbose", 0) if ctx.parent else 0
    level = Verbosity.SILENT if quiet else Verbosity.from_input(max(1, verbose))
    journal = output.with_name(output.name + ".partial") if output else None
    if journal is not None and not resume and journal.exists():
        journal.unlink()
    with usage_ledger(no_log) as ledger:
        # The ledger and the timeout go around the model here (tagged as the command
        # line's); the pipeline itself then records nothing more.
        called = command_model(built, ledger, command="batch", timeout=timeout)
        pipe = Pipeline(prompt, called, system=system, ledger=False, **options)
        result = pipe.run_batch_sync(
            inputs,
            concurrency=concurrency,
            max_retries=max_retries,
            verbosity=level,
            results_file=journal,
            resume=resume,
        )
    lines = [json.dumps(output_record(i, item)) + "\n" for i, item in enumerate(result)]
    if output is not None:
        if result.cancelled:
            print(
                f"stopped: {len(result.succeeded)} of {len(result)} done; "
                f"run again with --resume to finish",
                file=sys.stderr,
            )
        else:
            output.write_text("".join(lines), encoding="utf-8")
            if journal is not None:
                journal.unlink(missing_ok=True)
    else:
        sys.stdout.writelines(lines)
    if level >= Verbosity.SUMMARY or result.failed:
        cancelled = sum(1 for item in result.failed if item.category == "cancelled")
        failed = len(result.failed) - cancelled
        print(
            f"{len(result.succeeded)} ok, {failed} failed"
            + (f", {cancelled} cancelled" if cancelled else "")
            + " · "
            f"{result.input_tokens + result.output_tokens:,} tokens · "
            f"${result.cost:.4f} · {result.elapsed:.1f}s",
            file=sys.stderr,
        )
    if result.cancelled:
        ctx.exit(130)
    if result.failed:
        ctx.exit(EXIT_PARTIAL)
    return 0
