"""`PromptLoader`: prompt templates from one directory, read when first asked for.

A name is a path relative to the directory, with or without its suffix
(`"summarize"` finds `summarize.j2`). No name may leave the directory: absolute paths,
`..` segments and symbolic links that point outside are refused. Templates may include
and extend each other under the same rule. A file changed on disk is read again.

Example:
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = pathlib.Path(d, "greet.j2").write_text("Hello {{ name }}!")
    ...     prompts = PromptLoader(d)
    ...     prompts.names(), prompts["greet"].render(name="Ada")
    (['greet'], 'Hello Ada!')
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from jinja2 import BaseLoader, Environment, TemplateNotFound

from conduit.prompts.template import Prompt, PromptError, UnsafeTemplateError, environment

__all__ = ["DEFAULT_SUFFIXES", "DirectoryLoader", "PromptLoader"]

DEFAULT_SUFFIXES: tuple[str, ...] = (".j2", ".jinja", ".jinja2", ".txt", ".md", ".prompt")
"""File suffixes tried, in order, for a name given without one."""


class DirectoryLoader(BaseLoader):
    """A Jinja2 loader confined to one directory (used for includes and `PromptLoader`).

    Example:
        >>> DirectoryLoader(".").resolve("../etc/passwd")
        Traceback (most recent call last):
        ...
        conduit.prompts.template.UnsafeTemplateError: refused: prompt name '../etc/passwd'...
    """

    def __init__(self, root: str | Path, suffixes: Sequence[str] = DEFAULT_SUFFIXES) -> None:
        self.root = Path(root).resolve()
        self.suffixes = tuple(suffixes)

    def _inside(self, candidate: Path) -> Path | None:
        resolved = candidate.resolve()
        if not resolved.is_relative_to(self.root):
            raise UnsafeTemplateError(
                f"refused: prompt {candidate.name!r} resolves outside {str(self.root)!r}"
            )
        return resolved if resolved.is_file() else None

    def resolve(self, name: str) -> Path:
        """The file for `name`; `UnsafeTemplateError` if it would leave the directory,
        `PromptError` if there is none."""
        pure = PurePosixPath(name.replace("\\", "/"))
        if (
            not name
            or "\x00" in name
            or pure.is_absolute()
            or os.path.isabs(name)
            or ".." in pure.parts
            or (len(name) > 1 and name[1] == ":")  # a Windows drive
        ):
            raise UnsafeTemplateError(
                f"refused: prompt name {name!r} is not a plain path inside the prompt directory"
            )
        base = self.root.joinpath(*pure.parts)
        for candidate in (base, *(base.with_name(base.name + s) for s in self.suffixes)):
            found = self._inside(candidate)
            if found is not None:
                return found
        raise PromptError(
            f"no prompt {name!r} in {str(self.root)!r}; there are: "
            f"{', '.join(self.list_templates()) or 'none'}"
        )

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """Jinja2's hook: (source, file name, is-it-still-current)."""
        try:
            path = self.resolve(template)
        except UnsafeTemplateError:
            raise
        except PromptError:
            raise TemplateNotFound(template) from None
        mtime = path.stat().st_mtime_ns
        source = path.read_text(encoding="utf-8")

        def uptodate() -> bool:
            try:
                return path.stat().st_mtime_ns == mtime
            except OSError:
                return False

        return source, str(path), uptodate

    def list_templates(self) -> list[str]:
        """Every template file under the directory, by name (suffix dropped when it is
        one of `suffixes`), sorted."""
        names = set()
        for path in self.root.rglob("*"):
            if path.is_file() and not any(p.startswith(".") for p in path.parts):
                rel = path.relative_to(self.root).as_posix()
                names.add(rel.removesuffix(path.suffix) if path.suffix in self.suffixes else rel)
        return sorted(names)


class PromptLoader:
    """The prompt templates of one directory, loaded lazily and cached until the file
    changes.

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = pathlib.Path(d, "base.j2").write_text("You are {{ role }}.")
        ...     _ = pathlib.Path(d, "ask.j2").write_text('{% include "base.j2" %} {{ q }}')
        ...     ask = PromptLoader(d).get("ask")
        ...     sorted(ask.input_schema), ask.render(role="terse", q="Why?")
        (['q', 'role'], 'You are terse. Why?')
    """

    def __init__(self, directory: str | Path, *, suffixes: Sequence[str] = DEFAULT_SUFFIXES):
        path = Path(directory)
        if not path.is_dir():
            raise PromptError(f"prompt directory {str(path)!r} does not exist")
        self._loader = DirectoryLoader(path, suffixes)
        self._env = environment(self._loader)
        self._cache: dict[str, tuple[Prompt, Callable[[], bool]]] = {}

    @property
    def directory(self) -> Path:
        """The directory (resolved)."""
        return self._loader.root

    def get(self, name: str) -> Prompt:
        """The prompt called `name` (read on first use, again when its file changes)."""
        cached = self._cache.get(name)
        if cached is not None and cached[1]():
            return cached[0]
        try:
            source, _, uptodate = self._loader.get_source(self._env, name)
        except TemplateNotFound:
            self._loader.resolve(name)  # raises the PromptError that lists what there is
            raise  # pragma: no cover - resolve() raised
        prompt = Prompt._from_environment(source, name, self._env)
        self._cache[name] = (prompt, uptodate)
        return prompt

    def __getitem__(self, name: str) -> Prompt:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self._loader.resolve(name)
        except PromptError:
            return False
        return True

    def names(self) -> list[str]:
        """The names of the prompts in the directory, sorted."""
        return self._loader.list_templates()

    def render(self, name: str, variables: dict[str, Any] | None = None, /, **kwargs: Any) -> str:
        """`get(name).render(...)` in one call.

        Example:
            >>> import tempfile, pathlib
            >>> with tempfile.TemporaryDirectory() as d:
            ...     _ = pathlib.Path(d, "n.txt").write_text("{{ x * 2 }}")
            ...     PromptLoader(d).render("n", x=21)
            '42'
        """
        return self.get(name).render(variables, **kwargs)

    def __repr__(self) -> str:
        return f"PromptLoader({str(self.directory)!r})"
