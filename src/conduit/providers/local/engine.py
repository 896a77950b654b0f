"""One loaded GGUF model per file per process, and generation on its own thread.

llama.cpp is not thread-safe and blocks while it computes, so each loaded model owns
a single worker thread: requests queue there in order and the event loop never
blocks. Text goes back to the loop token by token; a `Control` flag, checked by
llama.cpp after every token, stops generation when the caller goes away.

Example:
    >>> Settings(n_ctx=2048).n_ctx
    2048
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conduit.errors import (
    ContextWindowExceededError,
    MissingDependencyError,
    ModelLoadError,
    ValidationError,
)
from conduit.providers.local.files import DEFAULT_CHAT_MODEL, check_gguf, verify_sha256

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter
    from llama_cpp.llama_grammar import LlamaGrammar

__all__ = ["Control", "Engine", "GenerationRequest", "Settings", "engine_for"]

LOCAL_INSTALL_HINT = 'pip install "conduit[local]"'

# ChatML, for GGUF files without a template of their own (`chat_format="chatml"`).
CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
_NAMED_TEMPLATES = {"chatml": CHATML_TEMPLATE}


def default_threads() -> int:
    """All usable CPUs on small machines (measured: 2 threads give 93 tokens/s against
    69 for llama.cpp's default of half the CPUs, on 2 cores); half on bigger ones,
    where the other half are usually SMT siblings."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return cpus if cpus <= 4 else cpus // 2


@dataclass(frozen=True, slots=True)
class Settings:
    """How a GGUF file is loaded; models with equal settings share one load."""

    n_ctx: int = 4096
    n_threads: int | None = None
    chat_format: str | None = None


@dataclass(slots=True)
class GenerationRequest:
    """One generation, fully prepared on the event loop's side."""

    prompt: str
    max_tokens: int | None
    params: dict[str, Any]
    grammar_schema: str | None = None
    repeatable: bool = False


class Control:
    """Set from the event loop, read by llama.cpp after each token."""

    __slots__ = ("_stop",)

    def __init__(self) -> None:
        self._stop = threading.Event()

    def cancel(self) -> None:
        """Stop at the next token."""
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        """Whether `cancel()` was called."""
        return self._stop.is_set()

    def __call__(self, input_ids: Any, logits: Any) -> bool:  # llama.cpp StoppingCriteria
        return self._stop.is_set()


Emit = Callable[[str, Any], None]
"""What the worker thread reports: ("text", str), ("end", (finish, prompt_tokens,
completion_tokens)) or ("error", exception)."""


@lru_cache(maxsize=64)
def _grammar(schema_json: str) -> LlamaGrammar:
    from llama_cpp.llama_grammar import LlamaGrammar

    try:
        return LlamaGrammar.from_json_schema(schema_json, verbose=False)
    except Exception as exc:  # the converter raises plain Exceptions on what it lacks
        raise ValidationError(
            f"llama.cpp cannot turn this JSON Schema into a grammar: {exc}"
        ) from None


class Engine:
    """A loaded GGUF model with its chat template and its one worker thread."""

    def __init__(self, path: Path, settings: Settings) -> None:
        try:
            from llama_cpp import Llama, StoppingCriteriaList
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError:
            raise MissingDependencyError(
                f"the local model needs llama-cpp-python; install it with: {LOCAL_INSTALL_HINT}"
            ) from None
        self.path = path
        self.settings = settings
        try:
            self.llama: Llama = Llama(
                model_path=str(path),
                n_ctx=settings.n_ctx,
                n_threads=settings.n_threads or default_threads(),
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(
                f"llama.cpp could not load {path}: {exc}. The file may be truncated or "
                "damaged, or need a newer llama-cpp-python."
            ) from None
        self.formatter: Jinja2ChatFormatter = self._formatter(Jinja2ChatFormatter)
        self._stopping = StoppingCriteriaList
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conduit-local")

    @property
    def n_ctx(self) -> int:
        """The context window this load has. llama.cpp may pad a small context up, but
        llama-cpp-python's own token buffers have the size that was asked for."""
        return min(int(self.llama.n_ctx()), self.settings.n_ctx)

    def _formatter(self, cls: type[Jinja2ChatFormatter]) -> Jinja2ChatFormatter:
        chosen = self.settings.chat_format
        if chosen is not None:
            template = _NAMED_TEMPLATES.get(chosen.lower(), chosen)
            if template is chosen and "{{" not in chosen and "{%" not in chosen:
                raise ValidationError(
                    f"unknown chat_format {chosen!r}: use 'chatml' or a Jinja chat template"
                )
        else:
            template = self.llama.metadata.get("tokenizer.chat_template", "")
            if not template:
                raise ModelLoadError(
                    f"{self.path.name} has no chat template, so chat prompts would come out "
                    "as junk. Pass chat_format='chatml' (or a Jinja template) if you know "
                    "the format it was trained on."
                )
        model = self.llama._model
        eos_id, bos_id = self.llama.token_eos(), self.llama.token_bos()
        return cls(
            template=template,
            eos_token=model.token_get_text(eos_id) if eos_id != -1 else "",
            bos_token=model.token_get_text(bos_id) if bos_id != -1 else "",
            stop_token_ids=[eos_id],
        )

    def render(self, messages: list[dict[str, str]]) -> tuple[str, list[str]]:
        """The prompt text for `messages`, and the template's stop strings."""
        try:
            result = self.formatter(messages=messages)  # type: ignore[arg-type]
        except Exception as exc:  # a template may raise_exception() on what it rejects
            raise ValidationError(f"the chat template rejected these messages: {exc}") from None
        stop = result.stop if isinstance(result.stop, list) else [result.stop or ""]
        return result.prompt, [s for s in stop if s]

    def count_prompt(self, prompt: str) -> int:
        """Tokens in a rendered prompt, as generation will see them."""
        return len(self.llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def count_text(self, text: str) -> int:
        """Tokens in plain text (no special tokens)."""
        return len(self.tokenize_text(text))

    def tokenize_text(self, text: str) -> list[int]:
        """The token ids of plain text (no special tokens)."""
        if not text:
            return []
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def submit(self, request: GenerationRequest, control: Control, emit: Emit) -> Future[None]:
        """Queue a generation on this model's thread."""
        return self.executor.submit(self._generate, request, control, emit)

    def _generate(self, request: GenerationRequest, control: Control, emit: Emit) -> None:
        try:
            self._run(request, control, emit)
        except BaseException as exc:  # everything reaches the caller, nothing dies here
            emit("error", exc)

    def _run(self, request: GenerationRequest, control: Control, emit: Emit) -> None:
        if control.cancelled:
            return
        tokens = self.llama.tokenize(request.prompt.encode("utf-8"), add_bos=False, special=True)
        room = self.n_ctx - len(tokens)
        if room <= 0:
            raise ContextWindowExceededError(
                f"the prompt is {len(tokens)} tokens; this local model's context window is "
                f"{self.n_ctx} (raise it with n_ctx=)",
                provider="local",
            )
        max_tokens = min(request.max_tokens or room, room)
        grammar = _grammar(request.grammar_schema) if request.grammar_schema else None
        if request.repeatable:
            # llama.cpp reuses the KV cache of a shared prompt prefix, and logits from
            # that path differ in the last bits from a full evaluation: enough to flip a
            # greedy choice (measured: the same seed and temperature 0 gave two different
            # answers in three calls). Callers who ask for repeatability get a full pass.
            self.llama.reset()  # type: ignore[no-untyped-call]
        chunks = self.llama.create_completion(
            tokens,
            max_tokens=max_tokens,
            stream=True,
            grammar=grammar,
            stopping_criteria=self._stopping([control]),
            **request.params,
        )
        finish = "stop"
        parts: list[str] = []
        stream: Iterator[dict[str, Any]] = chunks  # type: ignore[assignment]
        for chunk in stream:
            choice = chunk["choices"][0]
            text = choice["text"]
            if text:
                parts.append(text)
                emit("text", text)
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
        emit("end", (finish, len(tokens), self.count_text("".join(parts))))

    def close(self) -> None:
        """Stop the worker thread (after queued work) and free the model; the next use
        of this file loads it again."""
        with _engines_lock:
            for key, engine in list(_engines.items()):
                if engine is self:
                    del _engines[key]
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.llama.close()


_engines: dict[tuple[str, Settings], Engine] = {}
_engines_lock = threading.Lock()


@atexit.register
def _close_all() -> None:
    """Free loaded models while the interpreter is still whole: llama-cpp-python's own
    finalizer, run later at shutdown, fails noisily once its modules are torn down."""
    for engine in list(_engines.values()):
        engine.close()
    _close_llama_devnull()


def _close_llama_devnull() -> None:
    """llama-cpp-python opens two /dev/null files at import and never closes them (a
    ResourceWarning at every exit under `python -X dev`). They are only used while a
    model loads, which no longer happens at exit, so close them then."""
    utils = sys.modules.get("llama_cpp._utils")
    if utils is None:
        return
    for name in ("outnull_file", "errnull_file"):
        handle = getattr(utils, name, None)
        if handle is not None:
            handle.close()


def engine_for(path: Path, settings: Settings, *, packaged: bool) -> Engine:
    """The shared engine for `path` (loaded on first use; blocking: call it in a thread)."""
    key = (str(path.resolve()) if path.exists() else str(path), settings)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            check_gguf(path)
            if packaged:
                verify_sha256(
                    path, DEFAULT_CHAT_MODEL.sha256, repair=DEFAULT_CHAT_MODEL.repair_hint
                )
            engine = Engine(path, settings)
            _engines[key] = engine
        return engine
