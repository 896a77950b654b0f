"""The OpenAI-compatible gateway: `Gateway`, an `aiohttp.web` application over the core
router, the key's limits and budget in the spine's stores, and the one usage ledger.

Routes: `POST /v1/chat/completions` (JSON or SSE; tools and response formats pass
through), `POST /v1/embeddings`, `GET /v1/models`, `GET /health`, `GET /metrics`
(Prometheus text). Every `/v1` request needs a virtual key (`Authorization: Bearer
sk-cnd-…`) unless the config says `require_key: false`.

A face only translates. What the gateway does itself: HTTP, OpenAI's wire shapes
(`conduit.server.openai_wire`), virtual keys (`conduit.server.keys`) and forwarding
bytes (`conduit.server.forward`). What it delegates, the same on every path:

- routing (strategies, deployment rpm/tpm, retries, cooldowns, fallbacks): the core
  `conduit.routing.Router` (`router.model(group)` on the typed path, `router.route` for
  forwarded chats and embeddings);
- the key's budget: a `SpendLimit` reserved at its worst case before the call and
  settled at the real cost after, in a `SpendStore` (the `Budget` interceptor on the
  typed path, the same store's `reserve` → `settle` on the others);
- the key's rpm/tpm: token buckets in a `BucketStore`, taken before the call, settled
  to the real usage after;
- usage: one event per request through one `UsageRecorder` into the one ledger (the
  `RecordUsage` interceptor on the typed path), with its cost from the deployment's
  prices or the catalog (`Response.cost`, `Deployment.cost`);
- models: built by the one resolver (`conduit.api`), through the router's deployments.

Stores follow the config: keys and spend in `database` (a SQLite file or PostgreSQL),
rpm/tpm buckets and router state in Redis when `redis_url` is set (else the database
for the key's buckets, this process for the router's), usage in the one ledger
(`conduit.storage.ledger.open_ledger()`) unless `database` is set (see
`GatewayConfig.ledger_url`).

Built on `aiohttp.web`, not Starlette: aiohttp is already Conduit's HTTP transport, and
a bare aiohttp pass-through measured ~2x the requests per second of Starlette/uvicorn
on the same machine (see benchmarks/gateway.py for the gateway's own figures).

Operations: the server cancels a request's handler when its client disconnects (so the
upstream call is closed too, and the request is recorded as 499 with what was
delivered); stopping waits up to `shutdown_timeout` seconds for requests and streams in
flight; bodies over `max_request_bytes` get 413.

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
import math
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit import _json
from conduit.errors import BudgetExceededError, ConduitError, ValidationError
from conduit.interceptors import Budget, RecordUsage, with_interceptors
from conduit.interceptors.budget import DEFAULT_OUTPUT_TOKENS
from conduit.schema import Prices, Usage
from conduit.server.config import GatewayConfig
from conduit.server.errors import GatewayError, error_body, error_for
from conduit.server.fields import CHAT_FIELDS, EMBED_FIELDS, bad_request, passed_on
from conduit.server.forward import (
    open_stream,
    openai_model,
    relay_forwarded,
    speaks_openai,
)
from conduit.server.keys import Admission, KeyGuard, spend_limits
from conduit.server.metrics import Metrics
from conduit.server.openai_wire import (
    ChatCall,
    ChunkEncoder,
    check_chat,
    check_embeddings,
    embeddings_json,
    response_json,
    to_conduit,
    usage_of,
)
from conduit.server.stream import Relayed, relay
from conduit.server.usage import Call, GatewayRecorder, GroupBudget, ServedModel, group_budget
from conduit.storage.buckets import open_bucket_store
from conduit.storage.keys import open_key_store
from conduit.storage.ledger import open_ledger
from conduit.storage.router_state import MemoryRouterState, RedisRouterState
from conduit.storage.spend import SpendLimit, open_spend_store

if TYPE_CHECKING:
    from conduit.routing import Deployment
    from conduit.storage.buckets import BucketStore
    from conduit.storage.events import EventStore
    from conduit.storage.keys import KeyStore
    from conduit.storage.router_state import RouterState
    from conduit.storage.spend import Reservation, SpendStore

__all__ = ["Gateway"]

_log = logging.getLogger("conduit.server")
_JSON = "application/json"
_CHAT = "/v1/chat/completions"
_EMBED = "/v1/embeddings"


def _json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=_json.dumps(data), status=status, content_type=_JSON)


def _error_response(exc: BaseException) -> web.Response:
    status, body = error_for(exc)
    response = _json_response(body, status)
    retry = getattr(exc, "retry_after", None)
    if retry:
        response.headers["Retry-After"] = str(max(1, math.ceil(retry)))
    if isinstance(exc, BudgetExceededError):
        # Retrying at once cannot help (OpenAI's and Anthropic's SDKs read this header).
        response.headers["x-should-retry"] = "false"
    return response


def _provider(deployment: Deployment) -> str:
    return deployment.ref.partition("/")[0]


class Gateway:
    """One gateway process: config, router, stores, the usage recorder and the web app.

    Use it as an async context manager (stores and the ledger are closed at the end);
    `start()` listens, `stop()` finishes requests in flight and stops. Stores may be
    given (`keys`, `events`: the ledger, `state`: router state, `spend`, `buckets`: the
    keys' rpm/tpm); by default they follow the config (see the module's text).

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
        if state is None:
            state = RedisRouterState(redis) if redis else MemoryRouterState()
        self.state = state
        self._router_buckets = state.buckets() if isinstance(state, RedisRouterState) else None
        self.router = config.build_router(state, self._router_buckets)
        self.keys = keys if keys is not None else open_key_store(config.database)
        self.events = events if events is not None else open_ledger(config.ledger_url())
        self.recorder = GatewayRecorder(
            self.events, config.ledger_flush_seconds, self._group_prices
        )
        self.spend = spend if spend is not None else open_spend_store(config.database)
        if buckets is None:
            buckets = open_bucket_store(redis or config.database)
        self.guard = KeyGuard(
            self.keys,
            master_key=config.master_key,
            require_key=config.require_key,
            cache_seconds=config.key_cache_seconds,
            buckets=buckets,
        )
        self.metrics = Metrics()
        self._record = RecordUsage(self.recorder)
        self._forwards: dict[str, bool] = {}
        self._budgets: dict[str, GroupBudget] = {}
        self._pending: set[asyncio.Future[None]] = set()  # requests closing their books
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ----------------------------------------------------------------- lifecycle

    def app(self) -> web.Application:
        """The aiohttp application (routes and the error middleware)."""
        app = web.Application(
            client_max_size=self.config.max_request_bytes, middlewares=[self._errors]
        )
        app.router.add_post("/v1/chat/completions", self.chat_completions)
        app.router.add_post("/chat/completions", self.chat_completions)
        app.router.add_post("/v1/embeddings", self.embeddings)
        app.router.add_post("/embeddings", self.embeddings)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/models", self.models)
        app.router.add_get("/health", self.health)
        app.router.add_get("/metrics", self.prometheus)
        return app

    async def start(self, host: str | None = None, port: int | None = None) -> str:
        """Listen on `host:port` (port 0: any free port); returns the base URL (`…/v1`)."""
        host = host or self.config.host
        port = self.config.port if port is None else port
        # Open the stores every request reads, one after the other, before serving: a
        # database that cannot be reached fails here, not on the first requests, and a
        # new SQLite file is set up before concurrent requests race to open it.
        await self.keys.get("")
        await self.spend.spent(SpendLimit("key", "-", 0.0))
        # handler_cancellation: a client that goes away cancels its handler, which closes
        # the upstream call (aiohttp >= 3.9 leaves this off by default).
        runner = web.AppRunner(
            self.app(),
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=self.config.shutdown_timeout,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound = runner.addresses[0][1]
        self.url = f"http://{host}:{bound}/v1"
        return self.url

    async def stop(self) -> None:
        """Stop listening, let requests and streams in flight finish (up to
        `shutdown_timeout`), then write the buffered usage events."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        await self.recorder.flush()

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
            return _json_response(error_body(message, kind), exc.status)

    async def _body(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        try:
            body = _json.loads(raw)
        except _json.JSONDecodeError:
            raise bad_request("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        return body

    def _group(self, body: Mapping[str, Any], call: Call) -> None:
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

    def _group_prices(self, group: str) -> Prices | None:
        return self._group_budget(group).prices if group in self.router.groups else None

    def _group_budget(self, group: str) -> GroupBudget:
        found = self._budgets.get(group)
        if found is None:
            found = self._budgets[group] = group_budget(self.router, group)
        return found

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

    async def _reserve(self, call: Call, input_tokens: int, max_tokens: int | None) -> None:
        """Reserve the call's worst case under the key's budget in `call.hold`
        (`BudgetExceededError`, 429, when it does not fit; nothing without a budget);
        `_books` settles or releases it when the request ends."""
        limits = spend_limits(call.key)
        if not limits:
            return
        budget = self._group_budget(call.model)
        longest = max_tokens or budget.max_output_tokens or DEFAULT_OUTPUT_TOKENS
        amount = budget.worst_case(input_tokens, longest)
        # A client that hangs up while the reservation is made must not leave it held:
        # it is made in a task of its own and released if the request is gone.
        reserving = asyncio.ensure_future(self.spend.reserve(limits, amount))
        try:
            reservation = await asyncio.shield(reserving)
        except asyncio.CancelledError:
            self._later(self._release_when_made(reserving))
            raise
        call.hold = _Hold(self.spend, reservation, budget.prices is not None)

    async def _release_when_made(self, reserving: asyncio.Future[Reservation]) -> None:
        try:
            reservation = await reserving
        except Exception:
            return  # refused or failed: nothing is held
        await _Hold(self.spend, reservation, False).release()

    def _later(self, work: Coroutine[Any, Any, None]) -> asyncio.Future[None]:
        """Run `work` in a task the gateway waits for when it stops."""
        task = asyncio.ensure_future(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def _finish(self, call: Call, admission: Admission | None) -> None:
        """Close the request's books (`_books`) in a task of their own, so a client that
        hangs up at the last byte (which cancels the handler) cannot leave a budget held
        or a request unrecorded; the handler waits for them unless it is cancelled."""
        await asyncio.shield(self._later(self._books(call, admission)))

    async def _books(self, call: Call, admission: Admission | None) -> None:
        """Settle the budget (at the cost owed, or release it), the router's and the
        key's tokens, count the request and record it (unless the interceptor chain
        did). A store that fails is logged: the answer went out already."""
        try:
            usage = call.usage
            hold: _Hold | None = call.hold
            steps: list[tuple[str, Callable[[], Awaitable[None]]]] = []
            if hold is not None:
                owed = call.cost if call.paid else 0.0
                steps.append(("budget", lambda: hold.settle(owed)))
            if call.routed is not None and call.paid:
                steps.append(("router tokens", lambda: call.routed.settle(usage.total_tokens)))
            if call.broke is not None:
                broke = call.broke
                steps.append(("router cooldown", lambda: self.router.failed(*broke)))
            if admission is not None and (call.status < 400 or usage.total_tokens):
                steps.append(("rate limit", lambda: admission.settle(usage.total_tokens)))
            if not call.recorded:
                event = call.event()
                steps.append(("usage", lambda: self.recorder.record(event)))
            for what, step in steps:
                try:
                    await step()
                except Exception as exc:
                    _log.warning("%s not settled (%s: %s)", what, type(exc).__name__, exc)
            self.metrics.observe(
                call.route,
                call.model,
                call.status,
                call.seconds,
                tokens=(usage.input_tokens, usage.output_tokens),
                cost=call.cost if call.paid or call.status < 400 else None,
            )
        finally:
            self.metrics.in_flight -= 1

    # ----------------------------------------------------------------- routes

    async def health(self, request: web.Request) -> web.Response:
        """`GET /health`: 200 while the process serves."""
        return _json_response({"status": "ok", "models": len(self.router.groups)})

    async def prometheus(self, request: web.Request) -> web.Response:
        """`GET /metrics`: Prometheus text."""
        return web.Response(text=self.metrics.render(), content_type="text/plain", charset="utf-8")

    async def models(self, request: web.Request) -> web.Response:
        """`GET /v1/models`: the model groups this key may call."""
        try:
            key = await self.guard.authenticate(request.headers.get("Authorization"))
        except GatewayError as exc:
            return _error_response(exc)
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "conduit"}
            for name in self.router.groups
            if key.allows(name)
        ]
        return _json_response({"object": "list", "data": data})

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/chat/completions` (JSON, or SSE with `"stream": true`)."""
        try:
            key = await self.guard.authenticate(request.headers.get("Authorization"))
        except GatewayError as exc:
            self.metrics.observe(_CHAT, "", exc.status, 0.0)
            return _error_response(exc)
        call = Call(key, _CHAT)
        admission: Admission | None = None
        self.metrics.in_flight += 1
        try:
            body = await self._body(request)
            self._group(body, call)
            passed = passed_on(body, CHAT_FIELDS)
            checked = check_chat(body)
            call.user = checked.user
            admission = await self.guard.admit(
                key, checked.input_tokens + (checked.max_tokens or 0)
            )
            if self.forwards(call.model):
                return await self._forward_chat(request, call, body["messages"], passed, checked)
            return await self._typed_chat(request, call, body, checked)
        except asyncio.CancelledError:
            call.status = 499  # the client went away
            raise
        except web.HTTPException as exc:  # 413 from aiohttp: answered by the middleware
            call.status = exc.status
            raise
        except Exception as exc:
            call.status = error_for(exc)[0]
            return _error_response(exc)
        finally:
            await self._finish(call, admission)

    async def _typed_chat(
        self, request: web.Request, call: Call, body: dict[str, Any], checked: ChatCall
    ) -> web.StreamResponse:
        """Any deployment: the body as Conduit's messages and options, through the
        group's routed model wrapped in the spine's interceptors, and back."""
        messages, options = to_conduit(body, call.labels())
        served = ServedModel(self.router.model(call.model), call.model)
        chain: list[object] = [self._record]
        limits = spend_limits(call.key)
        if limits:
            budget = self._group_budget(call.model)
            chain.append(
                Budget(
                    self.spend,
                    limits,
                    prices=budget.prices,
                    max_output_tokens=budget.max_output_tokens,
                )
            )
        model = with_interceptors(served, chain)
        call.recorded = True  # from here on, RecordUsage writes the request's event
        if not checked.stream:
            answer = await model.chat(messages, options)
            call.provider = served.model_info.provider
            call.usage, call.cost, call.status = answer.usage, answer.cost, 200
            return _json_response(response_json(answer, call.model))
        events = model.stream(messages, options)
        try:
            first = await anext(events)
        except BaseException:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
            raise
        encoder = ChunkEncoder(call.model, include_usage=checked.include_usage)
        relayed = Relayed()
        try:
            return await relay(request, first, events, encoder, relayed)
        finally:
            call.status = relayed.status
            call.provider = served.model_info.provider
            done = encoder.response
            call.usage = encoder.usage or Usage()
            call.cost = None if done is None else done.cost

    async def _forward_chat(
        self,
        request: web.Request,
        call: Call,
        messages: Any,
        passed: dict[str, Any],
        checked: ChatCall,
    ) -> web.StreamResponse:
        """OpenAI-wire deployments: the body as it came, routed by the core router, paid
        for with the same spend store, buckets and recorder as the typed path."""
        stream = checked.stream
        payload = {"messages": messages, **passed}
        if not stream:
            payload.pop("stream_options", None)
        await self._reserve(call, checked.input_tokens, checked.max_tokens)

        async def attempt(deployment: Deployment) -> Any:
            model = openai_model(deployment)
            if stream:
                return await open_stream(model, payload)
            return await model.send_payload(payload)

        estimate = checked.input_tokens + (checked.max_tokens or 0)
        routed = call.routed = await self.router.route(call.model, attempt, tokens=estimate)
        deployment = routed.deployment
        call.provider = _provider(deployment)
        if not stream:
            answer: dict[str, Any] = routed.value
            call.usage = usage_of(answer.get("usage")) or Usage()
            call.cost = deployment.cost(call.usage)
            call.status, call.paid = 200, True
            answer["model"] = call.model
            return _json_response(answer)
        relayed = Relayed()
        try:
            return await relay_forwarded(
                request,
                routed.value,
                model=call.model,
                wants_usage=checked.include_usage,
                relayed=relayed,
            )
        finally:
            # What was delivered is paid for, however the stream ended.
            call.status, call.paid = relayed.status, True
            call.usage = relayed.delivered(checked.input_tokens)
            call.cost = deployment.cost(call.usage)
            if isinstance(relayed.error, ConduitError):
                call.broke = (deployment, relayed.error)

    async def embeddings(self, request: web.Request) -> web.Response:
        """`POST /v1/embeddings`: routed by the core router over the group's embedders,
        with the key's limits, budget and usage as for chats."""
        try:
            key = await self.guard.authenticate(request.headers.get("Authorization"))
        except GatewayError as exc:
            self.metrics.observe(_EMBED, "", exc.status, 0.0)
            return _error_response(exc)
        call = Call(key, _EMBED)
        admission: Admission | None = None
        self.metrics.in_flight += 1
        try:
            body = await self._body(request)
            self._group(body, call)
            passed_on(body, EMBED_FIELDS | {"encoding_format"})
            checked = check_embeddings(body)
            call.user = checked.user
            tokens = math.ceil(sum(map(len, checked.texts)) / 4)
            admission = await self.guard.admit(key, tokens)
            await self._reserve(call, tokens, 1)

            async def attempt(deployment: Deployment) -> Any:
                embedder = deployment.embedder
                if checked.dimensions is not None:
                    from conduit.api import cached_embedder

                    if not isinstance(deployment.model, str):
                        raise ValidationError("this model group does not take 'dimensions'")
                    embedder = cached_embedder(
                        deployment.model, **deployment.connection, dimensions=checked.dimensions
                    )
                return await embedder.embed(checked.texts)

            routed = call.routed = await self.router.route(call.model, attempt, tokens=tokens)
            found = routed.value
            call.provider = _provider(routed.deployment)
            call.usage = found.usage
            call.cost = routed.deployment.cost(found.usage)
            call.status, call.paid = 200, True
            return _json_response(embeddings_json(found, call.model, checked.encoding))
        except asyncio.CancelledError:
            call.status = 499  # the client went away
            raise
        except web.HTTPException as exc:  # 413 from aiohttp: answered by the middleware
            call.status = exc.status
            raise
        except Exception as exc:
            call.status = error_for(exc)[0]
            return _error_response(exc)
        finally:
            await self._finish(call, admission)


class _Hold:
    """A budget reservation of one request on the paths without the `Budget`
    interceptor: `settle(cost)` once (a cost that is not known settles at the reserved
    amount when the call was priced, else 0), or `release()` when nothing is owed."""

    __slots__ = ("done", "priced", "reservation", "store")

    def __init__(self, store: SpendStore, reservation: Reservation | None, priced: bool) -> None:
        self.store = store
        self.reservation = reservation
        self.priced = priced
        self.done = reservation is None

    async def settle(self, cost: float | None) -> None:
        if self.done:
            return
        self.done = True
        reservation = self.reservation
        assert reservation is not None
        if cost is None or not math.isfinite(cost) or cost < 0:
            cost = reservation.amount if self.priced else 0.0
        try:
            await self.store.settle(reservation, cost)
        except Exception as exc:  # the answer matters more; the hold expires as spent
            _log.warning("budget not settled (%s: %s)", type(exc).__name__, exc)

    async def release(self) -> None:
        await self.settle(0.0)
