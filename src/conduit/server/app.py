"""The OpenAI-compatible gateway: `Gateway`, an `aiohttp.web` application over the core
router, the key's limits and budget in the spine's stores, and the one usage ledger.

Routes: `POST /v1/chat/completions` (JSON or SSE; tools and response formats pass
through; `conduit.server.chat`), `POST /v1/embeddings` (`conduit.server.embeddings`),
`GET /v1/models`, `GET /health`, `GET /health/readiness` (each dependency, up or down),
`GET /metrics` (Prometheus text; the master key unless `metrics_public`), and the
admin API for keys under `/key/*` (`conduit.server.admin`, the master key). Every `/v1`
request needs a virtual key (`Authorization: Bearer sk-cnd-…`) unless the config says
`require_key: false`.

A face only translates. What the gateway does itself: HTTP, OpenAI's wire shapes
(`conduit.server.openai_wire`, `conduit.server.validation`), virtual keys
(`conduit.server.keys`), forwarding bytes (`conduit.server.forward`), connections
(`conduit.server.connections`) and its dependencies' outages
(`conduit.server.dependencies`). What it delegates, the same on every path:

- routing (strategies, deployment rpm/tpm, retries, cooldowns, fallbacks): the core
  `conduit.routing.Router`;
- the key's budget: a `SpendLimit` reserved at its worst case before the call and
  settled at the real cost after, in a `SpendStore` (`conduit.server.books`);
- the key's rpm/tpm: token buckets in a `BucketStore`, taken before the call, settled
  to the real usage after;
- usage: one event per request through one `GatewayRecorder` into the one ledger,
  committed before the answer's last byte;
- models: built by the one resolver (`conduit.api`), through the router's deployments.

Stores follow the config: keys and spend in `database` (a SQLite file or PostgreSQL),
rpm/tpm buckets and router state in Redis when `redis_url` is set (else the database
for the key's buckets, this process for the router's), usage in the one ledger
(`conduit.storage.ledger.open_ledger()`) unless `database` is set (see
`GatewayConfig.ledger_url`).

Built on `aiohttp.web`, not Starlette: aiohttp is already Conduit's HTTP transport, and
a bare aiohttp pass-through measured ~2x the requests per second of Starlette/uvicorn
on the same machine (see benchmarks/gateway.py for the gateway's own figures).

Example:
    >>> import asyncio
    >>> from conduit.server.config import parse_config
    >>> async def main():
    ...     config = parse_config({"model_list": [{"model_name": "chat",
    ...         "litellm_params": {"model": "fake/echo"}}],
    ...         "server": {"database": ":memory:", "require_key": False}})
    ...     async with Gateway(config) as gateway:
    ...         await gateway.start(port=0)
    ...         return gateway.url.startswith("http://127.0.0.1:")
    >>> asyncio.run(main())
    True
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit import _json
from conduit.interceptors import RecordUsage
from conduit.server.admin import KeyAdmin
from conduit.server.books import Books
from conduit.server.chat import CHAT_ROUTE, ChatRoute
from conduit.server.config import GatewayConfig
from conduit.server.connections import ConnectionLimits, Listener, read_body
from conduit.server.dependencies import (
    Dependency,
    FailoverBuckets,
    FailoverRouterState,
    GuardedBuckets,
    GuardedKeyStore,
    GuardedSpendStore,
    kind_of,
)
from conduit.server.embeddings import EMBED_ROUTE, EmbeddingsRoute
from conduit.server.errors import GatewayError, error_body
from conduit.server.face_routes import add_face_routes
from conduit.server.fields import bad_request
from conduit.server.forward import speaks_openai
from conduit.server.keys import KeyGuard
from conduit.server.metrics import Metrics
from conduit.server.responses import error_response, json_response
from conduit.server.ui import Dashboard
from conduit.server.usage import Call, GatewayRecorder
from conduit.storage.buckets import open_bucket_store
from conduit.storage.keys import open_key_store
from conduit.storage.ledger import open_ledger
from conduit.storage.router_state import MemoryRouterState, RedisRouterState
from conduit.storage.spend import SpendLimit, open_spend_store

if TYPE_CHECKING:
    from conduit.storage.buckets import BucketStore
    from conduit.storage.events import EventStore
    from conduit.storage.keys import KeyStore
    from conduit.storage.router_state import RouterState
    from conduit.storage.spend import SpendStore

__all__ = ["Gateway"]

_log = logging.getLogger("conduit.server")


class Gateway:
    """One gateway process: config, router, stores, the usage recorder and the web app.

    Use it as an async context manager (stores and the ledger are closed at the end);
    `start()` listens, `stop()` finishes requests in flight and stops. Stores may be
    given (`keys`, `events`: the ledger, `state`: router state, `spend`, `buckets`: the
    keys' rpm/tpm); by default they follow the config (see the module's text). Each is
    watched as a `Dependency` (`dependencies`): while one is down, the requests that
    need it get 503.

    Example:
        >>> from conduit.server.config import default_config
        >>> Gateway(default_config()).config.model_names()
        ['local', 'local-embed']
    """

    def __init__(
        self,
        config: GatewayConfig,
        *,
        keys: KeyStore | None = None,
        events: EventStore | None = None,
        state: RouterState | None = None,
        spend: SpendStore | None = None,
        buckets: BucketStore | None = None,
    ) -> None:
        self.config = config
        redis = config.redis_url
        database = Dependency("database", kind_of(config.database))
        ledger_url = config.ledger_url()
        ledger = Dependency("ledger", kind_of(ledger_url) if ledger_url else "sqlite")
        self.dependencies = {"database": database, "ledger": ledger}
        if redis:
            self.dependencies["redis"] = Dependency("redis", "redis")
        if state is None:
            state = RedisRouterState(redis) if redis else MemoryRouterState()
        router_buckets: BucketStore | None = None
        if isinstance(state, RedisRouterState):
            router_buckets = state.buckets()
        if redis:
            state = FailoverRouterState(state, self.dependencies["redis"])
            if router_buckets is not None:
                router_buckets = FailoverBuckets(router_buckets, self.dependencies["redis"])
        self.state = state
        self._router_buckets = router_buckets
        self.router = config.build_router(state, router_buckets)
        fail_open = set(config.fail_open)
        raw_keys = keys if keys is not None else open_key_store(config.database)
        self.keys = GuardedKeyStore(raw_keys, database)
        self.events = events if events is not None else open_ledger(ledger_url)
        self.recorder = GatewayRecorder(
            self.events, config.ledger_flush_seconds, self._group_prices, dependency=ledger
        )
        raw_spend = spend if spend is not None else open_spend_store(config.database)
        self.spend = GuardedSpendStore(raw_spend, database, fail_open="budget" in fail_open)
        if buckets is None:
            buckets = open_bucket_store(redis or config.database)
        bucket_dependency = self.dependencies["redis"] if redis else database
        self.guard = KeyGuard(
            self.keys,
            master_key=config.master_key,
            require_key=config.require_key,
            cache_seconds=config.key_cache_seconds,
            buckets=GuardedBuckets(buckets, bucket_dependency, fail_open=fail_open),
            max_parallel_requests=config.max_parallel_requests,
        )
        self.metrics = Metrics()
        self.record = RecordUsage(self.recorder)
        self.books = Books(
            self.spend, self.router, self.recorder, self.metrics, config.default_max_tokens
        )
        self.admin = KeyAdmin(self)
        self.dashboard = Dashboard(self)  # /ui and the admin read endpoints
        self._forwards: dict[str, bool] = {}
        self._runner: web.AppRunner | None = None
        self._listener: Listener | None = None
        self.url = ""

    # ----------------------------------------------------------------- lifecycle

    def app(self) -> web.Application:
        """The aiohttp application (routes and the error middleware)."""
        app = web.Application(
            client_max_size=self.config.max_request_bytes, middlewares=[self._errors]
        )
        chat = ChatRoute(self).handle
        embed = EmbeddingsRoute(self).handle
        app.router.add_post(CHAT_ROUTE, chat)
        app.router.add_post("/chat/completions", chat)
        app.router.add_post(EMBED_ROUTE, embed)
        app.router.add_post("/embeddings", embed)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/models", self.models)
        app.router.add_get("/health", self.health)
        app.router.add_get("/health/readiness", self.readiness)
        app.router.add_get("/metrics", self.prometheus)
        self.admin.add_routes(app.router)
        self.dashboard.add_routes(app.router)
        add_face_routes(self, app)
        return app

    async def start(
        self, host: str | None = None, port: int | None = None, *, sock: Any = None
    ) -> str:
        """Listen on `host:port` (port 0: any free port); returns the base URL (`…/v1`).
        `sock`: serve on this listening socket instead (a worker of
        `conduit serve --workers` is given one)."""
        host = host or self.config.host
        port = self.config.port if port is None else port
        # Open the stores every request reads, one after the other, before serving: a
        # database that cannot be reached fails here, not on the first requests, and a
        # new SQLite file is set up before concurrent requests race to open it.
        await self.keys.store.get("")
        await self.spend.store.spent(SpendLimit("key", "-", 0.0))
        config = self.config
        # handler_cancellation: a client that goes away cancels its handler, which closes
        # the upstream call (aiohttp >= 3.9 leaves this off by default).
        runner = web.AppRunner(
            self.app(),
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=config.shutdown_timeout,
        )
        await runner.setup()
        limits = ConnectionLimits(
            header_timeout=config.header_timeout,
            body_timeout=config.body_timeout,
            keepalive_timeout=config.keepalive_timeout,
            max_connections=config.max_connections,
        )
        listener = Listener(runner, limits, access_log=None)
        try:
            bound = await listener.start(host, port, sock=sock)
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._listener = runner, listener
        self.url = f"http://{host}:{bound}/v1"
        return self.url

    async def stop(self) -> None:
        """Stop listening, let requests and streams in flight finish (up to
        `shutdown_timeout`), then write the usage events not written yet."""
        if self._listener is not None:
            self._listener.close()
            config = self.config
            await self._listener.settle(min(config.header_timeout, config.shutdown_timeout))
            self._listener = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.books.drain()
        try:
            await self.recorder.flush()
        except Exception as exc:  # the ledger is down: aclose() tries once more
            _log.warning("usage events not written yet: %s", exc)

    async def aclose(self) -> None:
        """`stop()`, then close the ledger and every store."""
        await self.stop()
        await self.recorder.aclose()
        for store in (
            self.events,
            self.keys,
            self.spend,
            self.guard.buckets,
            self._router_buckets,
            self.state,
        ):
            close = getattr(store, "aclose", None)
            if close is not None:
                try:
                    await close()
                except Exception as exc:  # closing one store must not keep others open
                    _log.warning("closing %s failed: %s", type(store).__name__, exc)

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def connections(self) -> dict[str, int]:
        """The open connections and what the connection guards did (see
        `conduit.server.connections.Connections.counts`)."""
        return {} if self._listener is None else self._listener.connections.counts()

    # ----------------------------------------------------------------- plumbing

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            kind = "not_found_error" if exc.status == 404 else "invalid_request_error"
            message = exc.text or exc.reason
            if exc.status == 413:
                message = (
                    f"the request body is over this gateway's limit of "
                    f"{self.config.max_request_bytes} bytes"
                )
            return json_response(error_body(message, kind), exc.status)

    async def read_json(self, request: web.Request) -> dict[str, Any]:
        """The request's body as a JSON object, read within `body_timeout` (400 when it
        is not one, 408 when it is too slow, 413 over `max_request_bytes`)."""
        try:
            raw = await read_body(request, self.config.body_timeout)
        except TimeoutError:
            raise GatewayError(
                f"the request's body did not arrive within {self.config.body_timeout:g} s",
                status=408,
                type="invalid_request_error",
                code="request_timeout",
            ) from None
        try:
            body = _json.loads(raw)
        except _json.JSONDecodeError:
            raise bad_request("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        return body

    def pick_group(self, body: Mapping[str, Any], call: Call) -> None:
        """The model group asked for, in `call.model` (400 when missing, 404 when
        unknown, 403 when the key may not call it)."""
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise bad_request("'model' is required: one of GET /v1/models", "model")
        if model not in self.router.groups:
            raise GatewayError(
                f"The model {model!r} does not exist on this gateway; see GET /v1/models.",
                status=404,
                type="invalid_request_error",
                code="model_not_found",
                param="model",
            )
        call.model = model
        self.guard.check_model(call.key, model)

    def _group_prices(self, group: str) -> Any:
        return self.books.prices(group)

    def forwards(self, group: str) -> bool:
        """Whether chats for `group` are forwarded as they came: every deployment of it
        and of its fallback groups speaks OpenAI's wire format (`conduit.server.forward`)."""
        found = self._forwards.get(group)
        if found is None:
            router = self.router
            groups = [group]
            for name in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
                groups += getattr(router, name).get(group, ())
            found = all(
                speaks_openai(d) for g in dict.fromkeys(groups) for d in router.deployments(g)
            )
            self._forwards[group] = found
        return found

    # ----------------------------------------------------------------- routes

    async def health(self, request: web.Request) -> web.Response:
        """`GET /health`: 200 while the process serves (`pid`: which worker answered)."""
        return json_response(
            {"status": "ok", "models": len(self.router.groups), "pid": os.getpid()}
        )

    async def readiness(self, request: web.Request) -> web.Response:
        """`GET /health/readiness`: each dependency, up or down (the database and Redis
        asked now, at most once a second while down; the ledger as its last write
        went); 503 while one is down."""
        probes: list[Any] = [self.keys.get("")]  # one indexed read
        if isinstance(self.state, FailoverRouterState):
            redis = self.dependencies["redis"]
            probes.append(redis.call(self.state.primary.cooling, ["readiness"]))
        await asyncio.gather(*probes, return_exceptions=True)
        states = {name: dep.state() for name, dep in self.dependencies.items()}
        ready = all(state["status"] == "up" for state in states.values())
        body = {"status": "ok" if ready else "degraded", "dependencies": states}
        return json_response(body, 200 if ready else 503)

    async def prometheus(self, request: web.Request) -> web.Response:
        """`GET /metrics`: Prometheus text (the master key unless `metrics_public`, or
        the gateway is open)."""
        config = self.config
        if (
            config.require_key
            and not config.metrics_public
            and not self.guard.is_master(request.headers.get("Authorization"))
        ):
            return error_response(
                GatewayError(
                    "GET /metrics needs the master key (or server.metrics_public: true)",
                    status=401,
                    type="invalid_request_error",
                    code="invalid_api_key",
                )
            )
        return web.Response(text=self.metrics.render(), content_type="text/plain", charset="utf-8")

    async def models(self, request: web.Request) -> web.Response:
        """`GET /v1/models`: the model groups this key may call."""
        try:
            key = await self.guard.authenticate(request.headers.get("Authorization"))
        except GatewayError as exc:
            return error_response(exc)
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "conduit"}
            for name in self.router.groups
            if key.allows(name)
        ]
        return json_response({"object": "list", "data": data})
