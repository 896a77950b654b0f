"""`conduit rag index PATH` and `conduit rag ask "question"`: offline RAG from the shell.

Indexing loads text, Markdown, HTML and PDF files, splits them, embeds the chunks
(default `local/all-minilm-l6-v2`, no network) and stores them (default: a SQLite file
in Conduit's data folder). Asking retrieves the closest chunks and answers with the
local model (`local/default`) unless `--model` says otherwise, citing its sources. The
answer's call is recorded in the one usage ledger (unless `--no-log` or
`$CONDUIT_NO_LOG=1`).

Example:
    >>> from click.testing import CliRunner
    >>> result = CliRunner().invoke(rag, ["--help"])
    >>> "index" in result.output and "ask" in result.output
    True
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from conduit.cli.recording import no_log_option, timeout_option

__all__ = ["default_store", "parse_where", "rag", "require_store"]


def default_store() -> str:
    """The store used when `--store` is not given: `rag.sqlite3` in the data folder.

    Example:
        >>> default_store().endswith("rag.sqlite3")
        True
    """
    from conduit.storage.paths import data_dir

    return str(data_dir() / "rag.sqlite3")


def require_store(spec: str) -> str:
    """`spec`, if it names a store that exists: asking a file store that is not there
    would create an empty one and answer from nothing.

    Example:
        >>> require_store("memory")
        'memory'
        >>> require_store("/nowhere/rag.sqlite3")
        Traceback (most recent call last):
        ...
        click.exceptions.ClickException: no RAG store at /nowhere/rag.sqlite3 — ...
    """
    from pathlib import Path

    scheme, _, rest = spec.partition("://")
    if scheme == "sqlite":
        path = rest.removeprefix("/")
    elif not rest and spec.endswith((".sqlite3", ".sqlite", ".db")):
        path = spec
    else:
        return spec
    if path != ":memory:" and not Path(path).exists():
        raise click.ClickException(
            f"no RAG store at {path} — index documents into it first: "
            f"conduit rag index PATH --store {spec}"
        )
    return spec


def parse_where(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`key=value` pairs into a metadata filter (numbers and true/false are typed; a key
    given twice matches either value).

    Example:
        >>> parse_where(("lang=en", "year=2024", "lang=fr"))
        {'lang': ['en', 'fr'], 'year': 2024}
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="--where")
        value: Any = raw
        if raw in {"true", "false"}:
            value = raw == "true"
        else:
            try:
                value = json.loads(raw) if raw.lstrip("-").replace(".", "", 1).isdigit() else raw
            except ValueError:  # pragma: no cover - guarded by isdigit
                value = raw
        if key in out:
            previous = out[key] if isinstance(out[key], list) else [out[key]]
            out[key] = [*previous, value]
        else:
            out[key] = value
    return out


_STORE = click.option(
    "--store",
    "store_spec",
    default=None,
    help="vector store: a .sqlite3 path, sqlite:///file, faiss:///folder, qdrant:///folder, "
    "qdrant+http://host:6333 or postgresql://... (default: rag.sqlite3 in the data folder)",
)
_EMBEDDER = click.option(
    "--embedder",
    default=None,
    help="provider/model for embeddings (default: local/all-minilm-l6-v2, offline); "
    "use the same one for index and ask",
)


def _progress(total_label: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A progress callback and a finisher: a rich bar on a terminal if rich is
    installed, plain lines on stderr otherwise."""
    try:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    except ImportError:  # pragma: no cover - rich is installed with the cli extra
        last = [-1]

        def plain(done: int, total: int) -> None:
            percent = 100 * done // max(total, 1)
            if percent // 10 != last[0] // 10 or done == total:
                last[0] = percent
                click.echo(f"{total_label}: {done}/{total} ({percent}%)", err=True)

        return plain, lambda: None
    from rich.console import Console

    bar = Progress(
        TextColumn(total_label),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(total_label, total=None)
    bar.start()

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update, bar.stop


@click.group(name="rag")
def rag() -> None:
    """Index documents and ask questions about them (offline by default)."""


@rag.command(name="index")
@click.argument("path", type=click.Path(exists=True))
@_STORE
@_EMBEDDER
@click.option("--chunk-size", type=int, default=None, help="characters per chunk")
@click.option("--overlap", type=int, default=100, show_default=True, help="characters shared")
@click.option("--batch-size", type=int, default=32, show_default=True, help="texts per embed call")
def index_command(
    path: str,
    store_spec: str | None,
    embedder: str | None,
    chunk_size: int | None,
    overlap: int,
    batch_size: int,
) -> None:
    """Load, split, embed and store the files at PATH (a file or a folder)."""
    from conduit.core.sync import run_sync
    from conduit.errors import ConduitError
    from conduit.rag.indexing import index_path
    from conduit.rag.splitters import RecursiveSplitter
    from conduit.rag.stores import open_store

    spec = store_spec or default_store()
    splitter = RecursiveSplitter(chunk_size, min(overlap, chunk_size - 1)) if chunk_size else None

    async def run() -> Any:
        store = open_store(spec)
        update, finish = _progress("embedding")
        try:
            return await index_path(
                path, store, embedder, splitter=splitter, batch_size=batch_size,
                on_progress=update,
            )  # fmt: skip
        finally:
            finish()
            await store.aclose()

    try:
        report = run_sync(run())
    except ConduitError as exc:
        raise click.ClickException(str(exc)) from None
    from conduit.cli.voice import plural

    click.echo(
        f"indexed {plural(report.chunks, 'chunk')} from {plural(report.files, 'file')} into {spec}"
    )


@rag.command(name="ask")
@click.argument("question", nargs=-1, required=True)
@_STORE
@_EMBEDDER
@click.option("-m", "--model", default=None, help="provider/model (default: local/default)")
@click.option("-k", "--top-k", "k", type=int, default=4, show_default=True, help="sources")
@click.option("--where", multiple=True, help="metadata filter key=value (repeatable)")
@click.option("--hybrid", is_flag=True, help="fuse keyword (BM25) and vector search")
@click.option("--json", "as_json", is_flag=True, help="print the answer and sources as JSON")
@click.option(
    "--max-tokens",
    type=click.IntRange(1),
    default=256,
    show_default=True,
    help="most tokens to generate",
)
@timeout_option
@no_log_option
def ask_command(
    question: tuple[str, ...],
    store_spec: str | None,
    embedder: str | None,
    model: str | None,
    k: int,
    where: tuple[str, ...],
    hybrid: bool,
    as_json: bool,
    max_tokens: int | None,
    timeout: float | None,
    no_log: bool,
) -> None:
    """Answer QUESTION from the indexed documents, citing them.

    The answer's call is recorded in the usage ledger, unless --no-log (or
    $CONDUIT_NO_LOG=1).
    """
    from conduit.cli.recording import build_model as build
    from conduit.cli.recording import command_model, usage_ledger
    from conduit.core.sync import run_sync
    from conduit.errors import ConduitError
    from conduit.rag.chain import DEFAULT_MODEL, RagAnswer, RagChain
    from conduit.rag.retriever import Retriever
    from conduit.rag.stores import open_store
    from conduit.schema import TextDelta

    text = " ".join(question).strip()
    store_spec = require_store(store_spec or default_store())
    rule = parse_where(where)
    options = {"max_tokens": max_tokens} if max_tokens else {}

    async def run(chat_model: Any) -> RagAnswer:
        store = open_store(store_spec)
        try:
            if await store.count() == 0:
                raise click.ClickException(
                    "the store is empty — index documents first: conduit rag index PATH"
                )
            chain = RagChain(Retriever(store, embedder, k=k, hybrid=hybrid), chat_model)
            if as_json:
                return await chain.ask(text, where=rule or None, **options)
            final: RagAnswer | None = None
            async for event in chain.stream(text, where=rule or None, **options):
                if isinstance(event, TextDelta):
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                else:
                    final = event
            assert final is not None  # stream always ends with the answer
            return final
        finally:
            await store.aclose()

    try:
        with usage_ledger(no_log) as ledger:
            chat_model = command_model(
                build(model or DEFAULT_MODEL), ledger, command="rag", timeout=timeout
            )
            answer = run_sync(run(chat_model))
    except ConduitError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo("")
    click.echo("\nSources:")
    for source in answer.sources:
        mark = "*" if source.number in answer.citations else " "
        click.echo(f"{mark}[{source.number}] {source.source or source.document.id} "
                   f"(score {source.score:.3f})")  # fmt: skip
