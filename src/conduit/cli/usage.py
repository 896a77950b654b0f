"""`conduit usage`: what the usage ledger holds, as a table, JSON or a chart.

Totals of tokens and cost from the one usage ledger that `conduit ask`, `chat`, `batch`,
`rag ask`, the framework's `Model` and the gateway record into (`$CONDUIT_LEDGER`, else
`usage.sqlite3` in the user data folder; `--store` names another, a `postgresql://` URL
included), grouped by provider and model unless `--by` says otherwise (any of provider,
model, day, tag, conversation, key, user, status). The table is drawn with rich when it
is installed
(`pip install "conduit[cli]"`). `--plot usage.png` draws tokens and cost per day with
matplotlib (`pip install "conduit[plot]"`).

Example:
    >>> from click.testing import CliRunner
    >>> CliRunner().invoke(usage_command, ["--by", "colour"]).exception.message.split(";")[0]
    "cannot group usage by 'colour'"
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from conduit.errors import ConduitError, MissingDependencyError, ValidationError

if TYPE_CHECKING:
    from conduit.odometer import UsageReport

__all__ = ["PLOT_INSTALL_HINT", "plot", "run_usage", "usage_command"]

PLOT_INSTALL_HINT = 'pip install "conduit[plot]"'


@click.command("usage")
@click.option(
    "--by", help="group keys, comma-separated (default: provider,model; key,model with --key)"
)
@click.option("--days", type=float, help="only the last DAYS days")
@click.option("--model", help="only this model")
@click.option("--provider", help="only this provider")
@click.option("--tag", help="only this caller tag")
@click.option("--key", help="only this gateway virtual key (its id, e.g. key_…)")
@click.option(
    "--store", help="usage ledger URL or file (default: $CONDUIT_LEDGER, else the data folder)"
)
@click.option("--json", "json_", is_flag=True, help="print JSON instead of a table")
@click.option(
    "--plot", type=click.Path(path_type=Path), metavar="FILE", help="draw tokens and cost per day"
)
def usage_command(json_: bool, **params: Any) -> int:
    """Tokens and cost of the calls recorded in the usage ledger."""
    return run_usage(argparse.Namespace(json=json_, **params))


def run_usage(args: argparse.Namespace) -> int:
    """Print the totals (and draw the chart with `--plot`; with nothing to draw, a
    `ConduitError` and no file).

    Example:
        >>> args = argparse.Namespace(by=None, key=None, days=None, model=None,
        ...     provider=None, tag=None, store=":memory:", json=False, plot=None)
        >>> run_usage(args)
        no usage recorded yet
        0
    """
    from conduit.core.sync import run_sync
    from conduit.odometer import EventFilter, stats
    from conduit.storage.ledger import open_ledger

    grouping = args.by or ("key,model" if args.key else "provider,model")
    by = [key.strip() for key in grouping.split(",") if key.strip()]
    since = None
    if args.days is not None:
        since = datetime.now(UTC) - timedelta(days=args.days)
    filters = EventFilter(
        since=since, model=args.model, provider=args.provider, tag=args.tag, key_id=args.key
    )

    async def gather() -> tuple[UsageReport, UsageReport | None]:
        store = open_ledger(args.store)
        try:
            report = await stats(store, by=by, filters=filters)
            daily = await stats(store, by=["day"], filters=filters) if args.plot else None
        finally:
            await store.aclose()
        return report, daily

    if args.plot:
        _matplotlib()  # fail before reading anything when the extra is missing
    report, daily = run_sync(gather())
    if args.json:
        rows: list[dict[str, Any]] = [
            {**dict(zip(report.by, r.key, strict=True)), "events": r.events}
            | {"input_tokens": r.input_tokens, "output_tokens": r.output_tokens}
            | {"cached_tokens": r.cached_tokens, "cost_usd": r.cost if r.priced else None}
            for r in report.rows
        ]
        print(json.dumps(rows, indent=2))
    elif not report.rows:
        print("no usage recorded yet")
    else:
        _print_table(report)
    if daily is not None:
        if not daily.rows:
            which = " for these filters" if _filtered(args) else ""
            raise ConduitError(
                f"nothing to plot: no usage recorded{which}"
                " — make some calls first (conduit ask ...), or widen --days"
            )
        plot(daily, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _filtered(args: argparse.Namespace) -> bool:
    return any(
        getattr(args, name) is not None for name in ("days", "model", "provider", "tag", "key")
    )


def _print_table(report: UsageReport) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(report)
        return
    cells = report.table()
    table = Table(title="Usage", show_footer=False)
    for i, name in enumerate(cells[0]):
        table.add_column(name, justify="left" if i < len(report.by) else "right")
    for row in cells[1:]:
        table.add_row(*row)
    total = report.total()
    table.add_section()
    table.add_row(
        "total",
        *([""] * (len(report.by) - 1)),
        str(total.events),
        str(total.input_tokens),
        str(total.output_tokens),
        str(total.cached_tokens),
        f"{total.cost:.6f}" if total.priced else "-",
    )
    Console().print(table)


def _matplotlib() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError(f"--plot needs matplotlib: {PLOT_INSTALL_HINT}") from None
    return plt


def plot(daily: UsageReport, path: Path) -> None:
    """Draw tokens (bars) and cost (line) per day into `path` (PNG, SVG, PDF: by suffix).

    Example:
        >>> from conduit.odometer import UsageReport
        >>> plot(UsageReport(("day",), []), Path("never.png"))
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: nothing to plot: the report has no days...
    """
    if daily.by != ("day",):
        raise ValidationError("plot needs totals by day")
    if not daily.rows:
        raise ValidationError("nothing to plot: the report has no days")
    plt = _matplotlib()
    days = [str(r.key[0]) for r in daily.rows]
    figure, tokens_axis = plt.subplots(figsize=(max(6, len(days) * 0.6), 4))
    tokens_axis.bar(days, [r.input_tokens for r in daily.rows], label="input tokens")
    tokens_axis.bar(
        days,
        [r.output_tokens for r in daily.rows],
        bottom=[r.input_tokens for r in daily.rows],
        label="output tokens",
    )
    tokens_axis.set_ylabel("tokens")
    tokens_axis.tick_params(axis="x", rotation=45)
    cost_axis = tokens_axis.twinx()
    cost_axis.plot(days, [r.cost for r in daily.rows], color="black", marker="o", label="cost")
    cost_axis.set_ylabel("cost (USD)")
    tokens_axis.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
