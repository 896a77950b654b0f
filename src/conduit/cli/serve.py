"""`conduit serve`: run the OpenAI-compatible gateway until Ctrl-C (or SIGTERM).

Example:
    >>> from click.testing import CliRunner
    >>> "--config" in CliRunner().invoke(serve, ["--help"]).output
    True
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from conduit.server.config import GatewayConfig

__all__ = ["run_gateway", "serve"]


async def run_gateway(
    config: GatewayConfig,
    host: str | None = None,
    port: int | None = None,
    *,
    sock: socket.socket | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM, then finish requests in flight and stop. Log lines
    of one kind are rate-limited meanwhile (`conduit.server.logs.quiet_logs`), so a
    flood of bad clients cannot fill a disk. A worker of `conduit serve --workers`
    serves on the listening `sock` it is given and says so through `on_ready(url)`."""
    from conduit.server.app import Gateway
    from conduit.server.logs import quiet_logs

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        with quiet_logs():
            async with Gateway(config) as gateway:
                url = await gateway.start(host, port, sock=sock)
                if on_ready is not None:
                    on_ready(url)
                else:
                    keys = "keys required" if config.require_key else "no key required"
                    models = ", ".join(config.model_names())
                    click.echo(f"conduit gateway on {url} ({keys}); models: {models}", err=True)
                await stop.wait()
                if on_ready is None:
                    click.echo("conduit gateway: stopping, finishing requests in flight", err=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="The gateway's YAML config (default: the embedded local model, offline).",
)
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 4000).")
@click.option(
    "--workers",
    type=int,
    default=1,
    show_default=True,
    help="Gateway processes on the port (SO_REUSEPORT); they share keys, limits, "
    "budgets and the ledger through the config's database. SIGHUP restarts them "
    "gracefully.",
)
def serve(config_path: str | None, host: str | None, port: int | None, workers: int) -> None:
    """Run the OpenAI-compatible gateway."""
    from conduit.errors import ConduitError
    from conduit.server.config import load_config

    try:
        if workers != 1:
            from conduit.cli.workers import serve_workers

            def echo(line: str) -> None:
                click.echo(line, err=True)

            sys.exit(serve_workers(lambda: load_config(config_path), host, port, workers, echo))
        config = load_config(config_path)
        asyncio.run(run_gateway(config, host, port))
    except ConduitError as exc:
        click.echo(f"conduit: error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:  # the port is taken, or not ours to bind
        click.echo(f"conduit: error: cannot listen: {exc}", err=True)
        sys.exit(1)
