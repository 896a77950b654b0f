"""The OpenAI-compatible gateway: `Gateway`, an `aiohttp.web` application over a compat
`Router`.

Routes: `POST /v1/chat/completions` (JSON or SSE; tools and response formats pass
through), `POST /v1/embeddings`, `GET /v1/models`, `GET /health`, `GET /metrics`
(Prometheus text). Every `/v1` request needs a virtual key (`Authorization: Bearer
sk-cnd-…`) unless the config says `require_key: false`; each answered request becomes
one event in the usage ledger (key, model group, tokens, cost, latency, status).

Built on `aiohttp.web`, not Starlette: aiohttp is already Conduit's HTTP transport, and a
bare aiohttp pass-through measured ~2x the requests per second of Starlette/uvicorn
on the same machine (see benchmarks/gateway.py for the gateway's own figures).

Operations: the server cancels a request's handler when its client disconnects (so the
upstream call is closed too); stopping waits up to `shutdown_timeout` seconds for
requests and streams in flight; bodies over `max_request_bytes` get 413.

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

import base64
import struct
import time
from collections.abc import Mapping
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from conduit import _json
from conduit.compat.chat import _complete
from conduit.compat.responses import ModelResponse
from conduit.compat.router import MemoryRouterState, RedisRouterState
from conduit.server.config import GatewayConfig
from conduit.server.errors import GatewayError, error_body, error_for
from conduit.server.fields import CHAT_FIELDS, EMBED_FIELDS, bad_request, passed_on
from conduit.server.forward import (
    ForwardedStream,
    Forwarder,
    forwarding_allowed,
    open_stream,
    relay_forwarded,
)
from conduit.server.keys import KeyGuard
from conduit.server.metrics import Metrics
from conduit.server.stream import relay
from conduit.server.usage import PendingAwareLedger, UsageRecorder
from conduit.storage.events import TokenEvent
from conduit.storage.keys import VirtualKey, open_key_store
from conduit.storage.ledger import open_ledger

if TYPE_CHECKING:
    from conduit.compat.router import Deployment, RouterState
    from conduit.storage.events import EventStore
    from conduit.storage.keys import KeyStore

__all__ = ["Gateway"]

_JSON = "application/json"


def _json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=_json.dumps(data), status=status, content_type=_JSON)


def _error_response(exc: BaseException) -> web.Response:
    status, body = error_for(exc)
    response = _json_response(body, status)
    retry = getattr(exc, "retry_after", None)
    if retry:
        response.headers["Retry-After"] = str(max(1, round(retry)))
    return response


def _note_chunk(call: _Call, chunk: Any) -> None:
    usage = chunk._hidden_params.get("usage")
    if usage is not None:
        call.input_tokens = int(usage.get("prompt_tokens") or 0)
        call.output_tokens = int(usage.get("completion_tokens") or 0)
    chunk["model"] = call.model


def _note_usage(call: _Call, usage: Mapping[str, Any]) -> None:
    call.input_tokens = int(usage.get("prompt_tokens") or 0)
    call.output_tokens = int(usage.get("completion_tokens") or 0)


def _as_base64(vector: list[float]) -> str:
    # OpenAI's `encoding_format: base64` is the little-endian float32 array, base64-encoded.
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


class _Call:
    """What the ledger and metrics need about one request, filled in as it goes."""

    __slots__ = ("deployment", "input_tokens", "key", "model", "output_tokens", "started")

    def __init__(self, key: VirtualKey, model: str) -> None:
        self.key = key
        self.model = model
        self.deployment: Deployment | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.started = time.perf_counter()


class Gateway:
    """One gateway process: config, router, key store, usage ledger and the web app.

    Use it as an async context manager (stores and the ledger are closed at the end);
    `start()` listens, `stop()` finishes requests in flight and stops.

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
    ) -> None:
        self.config = config
        if state is None:
            state = RedisRouterState(config.redis_url) if config.redis_url else MemoryRouterState()
        self.state = state
        self.router = config.build_router(state)
        self.keys = keys if keys is not None else open_key_store(config.database)
        self.events = events if events is not None else open_ledger(config.database)
        self.recorder = UsageRecorder(self.events, config.ledger_flush_seconds)
        self.guard = KeyGuard(
            self.keys,
            master_key=config.master_key,
            require_key=config.require_key,
            cache_seconds=config.key_cache_seconds,
            state=state,
            ledger=PendingAwareLedger(self.recorder),
        )
        self.metrics = Metrics()
        self._deployments = {d.id: d for d in self.router.model_list}
        self._forwarder = Forwarder()
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
        await self.recorder.flush()

    async def aclose(self) -> None:
        """`stop()`, then close the ledger, the key store and shared state."""
        await self.stop()
        await self.recorder.aclose()
        await self.events.aclose()
        await self.keys.aclose()
        close = getattr(self.state, "aclose", None)
        if close is not None:
            await close()

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

    def _group(self, body: dict[str, Any], key: VirtualKey) -> str:
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
        self.guard.check_model(key, model)
        return model

    def _cost(self, call: _Call) -> float | None:
        dep = call.deployment
        if dep is None:
            return None
        prices = {**dep.params, **dep.model_info}
        per_in, per_out = prices.get("input_cost_per_token"), prices.get("output_cost_per_token")
        if per_in is not None or per_out is not None:
            return call.input_tokens * float(per_in or 0) + call.output_tokens * float(per_out or 0)
        from conduit.catalog import cost_of
        from conduit.errors import ConduitError
        from conduit.schema import Usage

        try:
            return cost_of(
                dep.model, Usage(input_tokens=call.input_tokens, output_tokens=call.output_tokens)
            )
        except ConduitError:
            return None

    async def _finish(self, route: str, call: _Call, status: int, user: Any = None) -> None:
        seconds = time.perf_counter() - call.started
        cost = self._cost(call) if status < 400 else None
        self.metrics.observe(
            route,
            call.model,
            status,
            seconds,
            tokens=(call.input_tokens, call.output_tokens),
            cost=cost,
        )
        key = call.key
        await self.guard.used_tokens(key, call.input_tokens + call.output_tokens)
        provider = call.deployment.model.partition("/")[0] if call.deployment else "gateway"
        await self.recorder.record(
            TokenEvent(
                provider=provider,
                model=call.model or "(none)",
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                cost=cost,
                duration=seconds,
                key_id=key.id or None,
                user=user if isinstance(user, str) and user else key.user,
                tag=key.tags[0] if key.tags else None,
                tags=key.tags,
                status=status,
            )
        )

    async def _forward(
        self,
        call: _Call,
        params: dict[str, Any],
        stream: bool,
        deployment: Deployment,
        messages: Any,
        call_kwargs: dict[str, Any],
    ) -> Any:
        """One try for `Router.aroute`: forward the body to an OpenAI-wire deployment, or
        take the typed path for any other."""
        model = self._forwarder.model_for(deployment, call_kwargs)
        if model is None:
            return await _complete(deployment.model, messages, call_kwargs, is_async=True)
        call.deployment = deployment
        payload = {"messages": messages, **params}
        if stream:
            return await open_stream(model, payload)
        return await model.send_payload(payload)

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

    async def _begin(self, request: web.Request) -> tuple[dict[str, Any], _Call]:
        key = await self.guard.authenticate(request.headers.get("Authorization"))
        body = await self._body(request)
        call = _Call(key, "")
        call.model = self._group(body, key)
        return body, call

    async def embeddings(self, request: web.Request) -> web.Response:
        """`POST /v1/embeddings`."""
        route = "/v1/embeddings"
        try:
            body, call = await self._begin(request)
        except GatewayError as exc:
            self.metrics.observe(route, "", exc.status, 0.0)
            return _error_response(exc)
        status = 500
        self.metrics.in_flight += 1
        try:
            await self.guard.admit(call.key)
            if "input" not in body:
                raise bad_request("'input' is required", "input")
            encoding = body.pop("encoding_format", None) or "float"
            params = passed_on(body, EMBED_FIELDS)
            answer = await self.router.aembedding(call.model, body["input"], **params)
            usage = answer.get("usage") or {}
            call.input_tokens = int(usage.get("prompt_tokens") or 0)
            call.deployment = self._deployments.get(answer._hidden_params.get("model_id", ""))
            out = answer.model_dump()
            out["model"] = call.model
            if encoding == "base64":
                for item in out["data"]:
                    item["embedding"] = _as_base64(item["embedding"])
            status = 200
            return _json_response(out)
        except Exception as exc:
            status = error_for(exc)[0]
            return _error_response(exc)
        finally:
            self.metrics.in_flight -= 1
            await self._finish(route, call, status, body.get("user"))

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/chat/completions` (JSON, or SSE with `"stream": true`)."""
        route = "/v1/chat/completions"
        try:
            body, call = await self._begin(request)
        except GatewayError as exc:
            self.metrics.observe(route, "", exc.status, 0.0)
            return _error_response(exc)
        status = 500
        self.metrics.in_flight += 1
        try:
            await self.guard.admit(call.key)
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages:
                raise bad_request("'messages' must be a non-empty list", "messages")
            params = passed_on(body, CHAT_FIELDS)
            stream = bool(body.get("stream"))
            if forwarding_allowed():
                answer = await self.router.aroute(
                    call.model,
                    messages,
                    partial(self._forward, call, params, stream),
                    stream=stream,
                    drop_params=True,
                    **params,
                )
                if isinstance(answer, ForwardedStream):
                    status = 499  # until the stream ends: a client that went away
                    wants = bool((params.get("stream_options") or {}).get("include_usage"))
                    response, status = await relay_forwarded(
                        request,
                        answer,
                        model=call.model,
                        wants_usage=wants,
                        on_usage=partial(_note_usage, call),
                    )
                    return response
                if isinstance(answer, dict):  # forwarded as it came
                    usage = answer.get("usage") or {}
                    call.input_tokens = int(usage.get("prompt_tokens") or 0)
                    call.output_tokens = int(usage.get("completion_tokens") or 0)
                    answer["model"] = call.model
                    status = 200
                    return _json_response(answer)
            else:
                answer = await self.router.acompletion(
                    call.model, messages, stream=stream, drop_params=True, **params
                )
            call.deployment = self._deployments.get(answer._hidden_params.get("model_id", ""))
            if isinstance(answer, ModelResponse):
                usage = answer.get("usage") or {}
                call.input_tokens = int(usage.get("prompt_tokens") or 0)
                call.output_tokens = int(usage.get("completion_tokens") or 0)
                answer["model"] = call.model
                status = 200
                return _json_response(answer)
            status = 499  # until the stream ends: a client that went away
            response, status = await relay(request, answer, partial(_note_chunk, call))
            return response
        except Exception as exc:
            status = error_for(exc)[0]
            return _error_response(exc)
        finally:
            self.metrics.in_flight -= 1
            await self._finish(route, call, status, body.get("user"))
