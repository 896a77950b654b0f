"""`HTTPClient`: what providers call. JSON in, JSON or SSE events out; retries, typed
errors and redaction on the way. Built on any `Transport`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from typing import Any

from conduit import _json
from conduit.core.policy import RetryPolicy, Timeout
from conduit.errors import APIConnectionError, ProviderError
from conduit.transport.base import HTTPRequest, HTTPResponse, Transport
from conduit.transport.errors import connection_error, error_for_event, error_for_status
from conduit.transport.ndjson import iter_ndjson
from conduit.transport.redact import Redactor
from conduit.transport.retry import parse_retry_after
from conduit.transport.sse import SSEDecoder, SSEEvent, SSEFramer

__all__ = ["HTTPClient"]

log = logging.getLogger("conduit.transport")

# After `[DONE]` only the body's end should follow; read at most this much, this long,
# before giving up on reusing the connection.
_DRAIN_BYTES = 65536
_DRAIN_SECONDS = 0.25


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    """Read what follows the end of a stream, so the connection can be reused."""
    seen = 0
    try:
        async with asyncio.timeout(_DRAIN_SECONDS):
            async for chunk in chunks:
                seen += len(chunk)
                if seen > _DRAIN_BYTES:
                    return
    except (TimeoutError, APIConnectionError):
        return  # the connection is closed instead of reused; nothing is lost


class HTTPClient:
    """Sends JSON requests for one provider through a transport.

    Example:
        >>> from conduit.transport import MockTransport, json_response
        >>> import asyncio
        >>> client = HTTPClient(MockTransport(lambda req: json_response({"ok": True})),
        ...                     provider="demo")
        >>> asyncio.run(client.post_json("http://127.0.0.1/x", {"a": 1}))
        {'ok': True}
    """

    __slots__ = ("_redactor", "headers", "provider", "retry", "timeout", "transport")

    def __init__(
        self,
        transport: Transport,
        *,
        provider: str,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        timeout: Timeout | None = None,
        secrets: Iterable[str | None] = (),
    ) -> None:
        self.transport = transport
        self.provider = provider
        self.headers = {"content-type": "application/json", "accept": "application/json"}
        if headers:
            self.headers.update(headers)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._redactor = Redactor(secrets)

    def __repr__(self) -> str:
        return f"HTTPClient(provider={self.provider!r}, transport={type(self.transport).__name__})"

    def redact(self, text: str) -> str:
        """`text` with this client's secrets (and credential-shaped strings) removed."""
        return self._redactor.redact(text)

    async def post_json(
        self, url: str, payload: Any, *, headers: Mapping[str, str] | None = None
    ) -> Any:
        """POST `payload` as JSON, return the parsed JSON answer."""
        request = self._request("POST", url, payload, headers)
        # The body is encoded: let the payload's dicts and lists go now rather than keep
        # them alive while we wait. With 100 calls in flight, objects held across the
        # wait are what fill the collector's young generation (benchmarks/allocations.py).
        del payload
        response = await self.send(request)
        try:
            return _json.loads(response.content)
        except _json.JSONDecodeError:
            excerpt = response.content[:200].decode("utf-8", "replace")
            raise APIConnectionError(
                self.redact(f"the answer was not valid JSON (truncated or garbled): {excerpt!r}"),
                provider=self.provider,
                status_code=response.status,
            ) from None

    async def post_bytes(
        self, url: str, payload: Any, *, headers: Mapping[str, str] | None = None
    ) -> bytes:
        """POST `payload` as JSON, return the answer's body as it came (a relay that
        passes it on needs no JSON round trip); errors as for `post_json`."""
        response = await self.send(self._request("POST", url, payload, headers))
        return response.content

    async def stream_sse_frames(
        self, url: str, payload: Any, *, headers: Mapping[str, str] | None = None
    ) -> AsyncGenerator[bytes, None]:
        """POST `payload`, yield the answer's server-sent events as bytes, whole events
        at a time (`SSEFramer`: as many as arrived together), undecoded: what a relay
        that passes them on needs. As `stream_sse`: stops before `data: [DONE]`, an
        error event becomes a typed error (the events before it are yielded first), a
        stream cut mid-event is an `APIConnectionError`."""
        request = self._request("POST", url, payload, headers, accept="text/event-stream")
        response = await self.send(request, stream=True)
        framer = SSEFramer()
        chunks = response.aiter_bytes()
        try:
            while True:
                failure = None
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except APIConnectionError as exc:
                    failure = connection_error(exc, self.provider, self._redactor)
                if failure is not None:
                    raise failure
                frames = framer.feed(chunk)
                if not frames:
                    continue
                done = frames.find(b"data: [DONE]")
                if done < 0:
                    done = frames.find(b"data:[DONE]")
                if done >= 0:
                    frames = frames[:done]
                error = None
                if b"error" in frames:
                    frames, error = self._until_error(frames)
                if frames:
                    yield frames
                if error is not None:
                    raise error
                if done >= 0:
                    await _drain(chunks)
                    return
            if framer.incomplete:
                raise APIConnectionError(
                    "the event stream ended in the middle of an event (connection cut?)",
                    provider=self.provider,
                )
        finally:
            await chunks.aclose()
            await response.aclose()

    def _until_error(self, frames: bytes) -> tuple[bytes, ProviderError | None]:
        """The events of `frames` before the first error event, and that error as a
        typed error (None, and all of `frames`, when there is none)."""
        kept = 0
        for part in frames.split(b"\n\n")[:-1]:
            for event in SSEDecoder().feed(part + b"\n\n"):
                if event.event == "error" or event.data.startswith('{"error"'):
                    error = error_for_event(
                        event.data, provider=self.provider, redactor=self._redactor
                    )
                    return frames[:kept], error
            kept += len(part) + 2
        return frames, None

    async def get_json(self, url: str, *, headers: Mapping[str, str] | None = None) -> Any:
        """GET `url`, return the parsed JSON answer."""
        response = await self.send(self._request("GET", url, None, headers))
        try:
            return _json.loads(response.content)
        except _json.JSONDecodeError:
            raise APIConnectionError(
                "the answer was not valid JSON", provider=self.provider, status_code=response.status
            ) from None

    async def stream_sse(
        self, url: str, payload: Any, *, headers: Mapping[str, str] | None = None
    ) -> AsyncGenerator[SSEEvent, None]:
        """POST `payload`, yield the answer's server-sent events.

        Stops at a `data: [DONE]` sentinel, reading the little that follows it so the
        connection goes back to the pool (over TLS, a new connection per stream would cost
        a handshake). An `event: error` (or a `data:` whose JSON is an `{"error": ...}`
        object) becomes a typed error. Retries happen only before the first byte.
        Closing the iterator early closes the connection.
        """
        request = self._request("POST", url, payload, headers, accept="text/event-stream")
        del payload  # encoded: not kept alive for the whole stream (see post_json)
        response = await self.send(request, stream=True)
        decoder = SSEDecoder()
        chunks = response.aiter_bytes()
        try:
            while True:
                failure = None
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except APIConnectionError as exc:
                    # Only the byte stream's failures are connection errors; an error
                    # event below is raised as it is (even a `timeout_error` one).
                    failure = connection_error(exc, self.provider, self._redactor)
                if failure is not None:
                    # Raised outside the `except`: the original (unredacted) error must
                    # not ride along as __cause__/__context__ into printed tracebacks.
                    raise failure
                for event in decoder.feed(chunk):
                    data = event.data
                    if data == "[DONE]":
                        await _drain(chunks)
                        return
                    if event.event == "error" or data.startswith('{"error"'):
                        raise error_for_event(data, provider=self.provider, redactor=self._redactor)
                    yield event
            if decoder.incomplete:
                # The body ended cleanly at the HTTP level (e.g. a connection-close
                # delimited body) but in the middle of an event: the stream was cut.
                raise APIConnectionError(
                    "the event stream ended in the middle of an event (connection cut?)",
                    provider=self.provider,
                )
            # Otherwise nothing is pending: a complete stream ends on a blank line.
        finally:
            await chunks.aclose()
            await response.aclose()

    async def stream_ndjson(
        self, url: str, payload: Any, *, headers: Mapping[str, str] | None = None
    ) -> AsyncGenerator[Any, None]:
        """POST `payload`, yield each line of the newline-delimited JSON answer, parsed.

        A line `{"error": ...}` (how Ollama reports a failure mid-stream) becomes a typed
        error; see `conduit.transport.ndjson.iter_ndjson`. Retries happen only before the
        first byte. Closing the iterator early closes the connection.
        """
        request = self._request("POST", url, payload, headers, accept="application/x-ndjson")
        response = await self.send(request, stream=True)
        values = iter_ndjson(response, provider=self.provider, redact=self.redact)
        try:
            async for value in values:
                yield value
        finally:
            await values.aclose()  # closes the response now, not when collected

    def _request(
        self,
        method: str,
        url: str,
        payload: Any,
        headers: Mapping[str, str] | None,
        accept: str | None = None,
    ) -> HTTPRequest:
        merged = self.headers if not (headers or accept) else {**self.headers, **(headers or {})}
        if accept:
            merged["accept"] = accept
        body = None if payload is None else _json.dumps(payload)
        return HTTPRequest(method, url, merged, body, self.timeout)

    async def send(self, request: HTTPRequest, *, stream: bool = False) -> HTTPResponse:
        """Send with retries; return a response with status < 400 or raise a typed error."""
        policy = self.retry
        attempt = 0
        while True:
            started = time.perf_counter()
            failure = None
            try:
                response = await self.transport.send(request, stream=stream)
                status = response.status
                # A streamed error answer is read here, inside the `try`: a body cut
                # off mid-read is a connection failure like any other.
                content = b"" if status < 400 else await response.aread()
            except APIConnectionError as exc:
                failure = connection_error(exc, self.provider, self._redactor)
            if failure is not None:
                if policy.should_retry(failure, attempt):
                    backoff = policy.backoff(attempt)
                    log.info(
                        "%s %s failed (%s); retry %d in %.2fs",
                        request.method,
                        self.redact(request.url),
                        type(failure).__name__,
                        attempt + 1,
                        backoff,
                    )
                    attempt += 1
                    await asyncio.sleep(backoff)
                    continue
                # Raised outside the `except`: the original error may quote the URL or
                # headers, so it must not be chained into the traceback.
                raise failure
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s -> %d in %.1f ms",
                    request.method,
                    self.redact(request.url),
                    status,
                    (time.perf_counter() - started) * 1000,
                )
            if status < 400:
                return response
            retry_after = self.retry_after(response, content)
            error = self.error(status, content, response, retry_after)
            should = response.header("x-should-retry")
            if should is not None and should.strip().lower() in ("true", "false"):
                # OpenAI's and Anthropic's servers say themselves whether to retry.
                error.retryable = should.strip().lower() == "true"
            if policy.should_retry(error, attempt):
                delay = policy.delay(attempt, retry_after)
                if delay is not None:
                    log.info(
                        "%s %s -> %d; retry %d in %.2fs",
                        request.method,
                        self.redact(request.url),
                        status,
                        attempt + 1,
                        delay,
                    )
                    attempt += 1
                    await asyncio.sleep(delay)
                    continue
            raise error

    def retry_after(self, response: HTTPResponse, content: bytes) -> float | None:
        """Seconds the server asks us to wait before retrying a failed answer: its
        `retry-after-ms` / `Retry-After` headers. A provider that says it in the body
        (Google's `RetryInfo`) overrides this."""
        return parse_retry_after(response.header)

    def error(
        self, status: int, content: bytes, response: HTTPResponse, retry_after: float | None
    ) -> ProviderError:
        """The typed error for a failed answer."""
        return error_for_status(
            status,
            content,
            response.header,
            provider=self.provider,
            redactor=self._redactor,
            retry_after=retry_after,
        )
