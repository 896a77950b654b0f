"""`Prompt`: a Jinja2 template in a sandbox, with its variables checked.

Templates render in Jinja2's `ImmutableSandboxedEnvironment`
(https://jinja.palletsprojects.com/en/stable/sandbox/): no attribute that starts with an
underscore, no method that changes a value, ranges capped. On top of that a template
that names an underscore attribute (`{{ ''.__class__.__mro__ }}`, `x['__globals__']`,
`x|attr('__class__')`) is refused when it is made, before anything renders. Undefined
variables are errors (`StrictUndefined`), and `render()` names the variables that are
missing or were not expected.

Example:
    >>> greet = Prompt("Hello {{ name }}, you have {{ count }} new messages.")
    >>> sorted(greet.input_schema)
    ['count', 'name']
    >>> greet.render(name="Ada", count=3)
    'Hello Ada, you have 3 new messages.'
    >>> greet.render(name="Ada")
    Traceback (most recent call last):
    ...
    conduit.prompts.template.PromptError: prompt 'inline': missing variable(s): count...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conduit.errors import MissingDependencyError, ValidationError

try:
    from jinja2 import (
        BaseLoader,
        DictLoader,
        StrictUndefined,
        Template,
        TemplateNotFound,
        TemplateSyntaxError,
        UndefinedError,
        meta,
        nodes,
    )
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment
except ImportError as exc:  # pragma: no cover - Jinja2 comes with the `prompts` extra
    raise MissingDependencyError(
        "conduit.prompts needs Jinja2; install it with: pip install 'conduit[prompts]'"
    ) from exc

__all__ = ["Prompt", "PromptError", "UnsafeTemplateError"]


class PromptError(ValidationError):
    """A template is malformed, cannot be found, or was given the wrong variables.
    `missing` and `unexpected` name the variables at fault (sorted). Also a `ValueError`.

    Example:
        >>> PromptError("bad", missing=["a"]).missing
        ['a']
    """

    hint = "Fix the template or the variables passed to render()."

    def __init__(
        self,
        message: str,
        *,
        missing: list[str] | None = None,
        unexpected: list[str] | None = None,
        **fields: Any,
    ) -> None:
        self.missing = list(missing or [])
        self.unexpected = list(unexpected or [])
        super().__init__(message, **fields)

    def __reduce__(self) -> tuple[Any, ...]:
        rebuild, (cls, message, fields) = super().__reduce__()[:2]
        extra = {"missing": self.missing, "unexpected": self.unexpected}
        return (rebuild, (cls, message, {**fields, **extra}))


class UnsafeTemplateError(PromptError):
    """A template tried to reach Python internals, or a template name tried to leave its
    directory; refused.

    Example:
        >>> Prompt("{{ ''.__class__ }}")
        Traceback (most recent call last):
        ...
        conduit.prompts.template.UnsafeTemplateError: prompt 'inline': refused: ...
    """

    hint = "Templates may not reach Python internals or files outside their directory."


def environment(loader: BaseLoader | None = None) -> ImmutableSandboxedEnvironment:
    """The sandboxed, strict Jinja2 environment every prompt renders in.

    Example:
        >>> environment().from_string("{{ 1 + 1 }}").render()
        '2'
    """
    return ImmutableSandboxedEnvironment(
        # No directory: includes find nothing (a clear "no template"), not a TypeError.
        loader=loader if loader is not None else DictLoader({}),
        undefined=StrictUndefined,
        autoescape=False,  # prompts are text for a model, not HTML
        keep_trailing_newline=True,
        auto_reload=True,
    )


def _unsafe_name(node: nodes.Node) -> str | None:
    """The underscore name this node reaches for, if any."""
    if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
        return node.attr
    if isinstance(node, nodes.Getitem):
        arg = node.arg
        if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
            return arg.value if arg.value.startswith("_") else None
    if isinstance(node, nodes.Filter | nodes.Test) and node.name == "attr":
        for arg in node.args:
            if isinstance(arg, nodes.Const) and str(arg.value).startswith("_"):
                return str(arg.value)
    if isinstance(node, nodes.Name) and node.name.startswith("__"):
        return node.name
    return None


def check_safe(ast: nodes.Template, name: str) -> None:
    """Refuse a template that names an underscore attribute or a dunder name (the usual
    ways from a template into Python internals); the sandbox stops the rest at render.

    Example:
        >>> check_safe(environment().parse("{{ x.__globals__ }}"), "t")
        Traceback (most recent call last):
        ...
        conduit.prompts.template.UnsafeTemplateError: prompt 't': refused: ...'__globals__'...
    """
    for node in ast.find_all(nodes.Node):
        reached = _unsafe_name(node)
        if reached is not None:
            raise UnsafeTemplateError(
                f"prompt {name!r}: refused: the template reaches for {reached!r} "
                f"(line {node.lineno}); names that start with '_' are off limits"
            )


_UNDEFINED = re.compile(r"^'([^']+)' is undefined$")


class Prompt:
    """A prompt template: Jinja2 syntax, sandboxed, strict about its variables.

    `input_schema` is the set of variables the template reads (those of templates it
    includes by a fixed name too, when it has a directory to include from). `render()`
    refuses variables the template does not read, and names the ones it needed but did
    not get.

    Example:
        >>> p = Prompt("{% for d in docs %}- {{ d }}\\n{% endfor %}Summarize in {{ n }} words.")
        >>> print(p.render(docs=["a", "b"], n=10))
        - a
        - b
        Summarize in 10 words.
        >>> p.render(docs=[], n=5, tone="dry")
        Traceback (most recent call last):
        ...
        conduit.prompts.template.PromptError: prompt 'inline': unexpected variable(s): tone...
    """

    def __init__(self, template: str, *, name: str | None = None) -> None:
        self._setup(template, name or "inline", environment())

    def _setup(self, source: str, name: str, env: ImmutableSandboxedEnvironment) -> None:
        if not isinstance(source, str):
            raise PromptError(f"a prompt template is text, not {type(source).__name__}")
        self.source = source
        self.name = name
        self._env = env
        try:
            ast = env.parse(source)
        except TemplateSyntaxError as exc:
            raise PromptError(f"prompt {name!r}: line {exc.lineno}: {exc.message}") from None
        check_safe(ast, name)
        self._template: Template = env.from_string(ast)
        self._variables, self._open = self._collect(ast, {name})

    @classmethod
    def _from_environment(
        cls, source: str, name: str, env: ImmutableSandboxedEnvironment
    ) -> Prompt:
        prompt = cls.__new__(cls)
        prompt._setup(source, name, env)
        return prompt

    def _collect(self, ast: nodes.Template, seen: set[str]) -> tuple[frozenset[str], bool]:
        """(variables read here and in fixed-name includes, whether some include's name is
        only known at render time, so the set may be incomplete)."""
        found = set(meta.find_undeclared_variables(ast))
        open_ended = False
        for ref in meta.find_referenced_templates(ast):
            if ref is None or self._env.loader is None:
                open_ended = True
                continue
            if ref in seen:
                continue
            seen.add(ref)
            try:
                source, _, _ = self._env.loader.get_source(self._env, ref)
            except TemplateNotFound:
                continue  # reported when it renders
            sub = self._env.parse(source)
            check_safe(sub, ref)
            more, sub_open = self._collect(sub, seen)
            found |= more
            open_ended |= sub_open
        return frozenset(found), open_ended

    @classmethod
    def from_file(cls, path: str | Path, *, encoding: str = "utf-8") -> Prompt:
        """A prompt from a template file; it may include templates next to it (and below),
        never outside its directory. Its name is the file name.

        Example:
            >>> import tempfile, pathlib
            >>> with tempfile.TemporaryDirectory() as d:
            ...     file = pathlib.Path(d, "hi.j2")
            ...     _ = file.write_text("Hi {{ who }}!")
            ...     Prompt.from_file(file).render(who="Ada")
            'Hi Ada!'
        """
        from conduit.prompts.loader import DirectoryLoader

        file = Path(path)
        try:
            source = file.read_text(encoding=encoding)
        except OSError as exc:
            raise PromptError(f"cannot read prompt file {str(file)!r}: {exc.strerror}") from None
        env = environment(DirectoryLoader(file.resolve().parent))
        return cls._from_environment(source, file.name, env)

    @property
    def input_schema(self) -> frozenset[str]:
        """The names of the variables the template reads."""
        return self._variables

    def render(self, variables: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """The template filled with `variables` and/or keyword arguments (keywords win).

        Example:
            >>> Prompt("{{ a }}-{{ b }}").render({"a": 1, "b": 2}, b=3)
            '1-3'
        """
        values = {**(variables or {}), **kwargs}
        given = set(values)
        unexpected = [] if self._open else sorted(given - self._variables)
        if unexpected:
            missing = sorted(self._variables - given)
            raise PromptError(
                f"prompt {self.name!r}: unexpected variable(s): {', '.join(unexpected)}; "
                f"it takes: {', '.join(sorted(self._variables)) or 'none'}",
                unexpected=unexpected,
                missing=missing,
            )
        try:
            return self._template.render(values)
        except UndefinedError as exc:
            missing = sorted(self._variables - given)
            match = _UNDEFINED.match(exc.message or "")
            if match and match.group(1) not in missing:
                missing = sorted([*missing, match.group(1)])
            if missing:
                message = f"prompt {self.name!r}: missing variable(s): {', '.join(missing)}"
            else:
                message = f"prompt {self.name!r}: {exc.message}"
            raise PromptError(message, missing=missing) from None
        except (SecurityError, OverflowError) as exc:
            # OverflowError: the sandbox's capped range() (MAX_RANGE items).
            raise UnsafeTemplateError(f"prompt {self.name!r}: refused: {exc}") from None
        except TemplateNotFound as exc:
            raise PromptError(f"prompt {self.name!r}: no template {exc.name!r}") from None

    def __repr__(self) -> str:
        return f"Prompt(name={self.name!r}, variables={sorted(self._variables)!r})"
