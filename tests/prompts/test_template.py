"""Prompt: variables checked, the sandbox holds."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from conduit.errors import ValidationError
from conduit.prompts import Prompt, PromptError, UnsafeTemplateError


def test_input_schema_is_the_variables_read() -> None:
    p = Prompt(
        "{% set greeting = 'Hi' %}{{ greeting }} {{ user.name }}!"
        "{% for item in items %}{{ loop.index }}. {{ item }}{% endfor %}"
        "{{ range(3) | list }}{% if extra is defined %}{{ extra }}{% endif %}"
    )
    assert p.input_schema == {"user", "items", "extra"}
    assert "user" in repr(p)


def test_render_fills_variables_from_a_mapping_and_keywords() -> None:
    p = Prompt("{{ a }} and {{ b }}\n", name="pair")
    assert p.render({"a": 1}, b=2) == "1 and 2\n"  # the trailing newline is kept
    assert p.name == "pair"
    assert p.source == "{{ a }} and {{ b }}\n"


def test_missing_variables_are_named() -> None:
    p = Prompt("{{ a }} {{ b }} {{ c }}")
    with pytest.raises(PromptError, match=r"missing variable\(s\): b, c") as info:
        p.render(a=1)
    assert info.value.missing == ["b", "c"]
    assert isinstance(info.value, ValidationError)


def test_optional_variables_may_be_left_out() -> None:
    p = Prompt("{{ name }}{% if title is defined %} ({{ title }}){% endif %}{{ x | default('') }}")
    assert p.render(name="Ada") == "Ada"
    assert p.render(name="Ada", title="Countess", x="!") == "Ada (Countess)!"


def test_unexpected_variables_are_named() -> None:
    p = Prompt("{{ a }}")
    with pytest.raises(PromptError, match=r"unexpected variable\(s\): b, c; it takes: a") as info:
        p.render(a=1, b=2, c=3)
    assert info.value.unexpected == ["b", "c"]
    with pytest.raises(PromptError, match="it takes: none"):
        Prompt("static").render(a=1)
    with pytest.raises(PromptError, match="unexpected") as info2:
        Prompt("{{ a }} {{ b }}").render(a=1, c=1)
    assert info2.value.missing == ["b"]


def test_undefined_attributes_are_errors_too() -> None:
    with pytest.raises(PromptError, match="has no attribute 'nmae'") as info:
        Prompt("{{ user.nmae }}").render(user={"name": "Ada"})
    assert info.value.missing == []


def test_a_variable_read_by_a_dynamic_include_is_named(tmp_path: Path) -> None:
    (tmp_path / "part.j2").write_text("[{{ y }}]", encoding="utf-8")
    (tmp_path / "dyn.j2").write_text("{% include which %}", encoding="utf-8")
    with pytest.raises(PromptError, match=r"missing variable\(s\): y") as info:
        Prompt.from_file(tmp_path / "dyn.j2").render(which="part.j2")
    assert info.value.missing == ["y"]


def test_syntax_errors_say_where() -> None:
    with pytest.raises(PromptError, match=r"line 2: .*"):
        Prompt("ok\n{% if %}")
    with pytest.raises(PromptError, match="is text"):
        Prompt(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__globals__ }}",
        "{{ x['__class__'] }}",
        "{{ x | attr('__class__') }}",
        "{% if x is attr('__class__') %}{% endif %}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ self._TemplateReference__context }}",
        "{{ __builtins__ }}",
        "{{ x._private }}",
    ],
)
def test_reaching_for_internals_is_refused_up_front(source: str) -> None:
    with pytest.raises(UnsafeTemplateError, match="refused"):
        Prompt(source)


@pytest.mark.parametrize(
    "source",
    [
        "{{ x | attr(name) }}",  # the name is only known at render time
        "{{ x[name] }}",
        "{{ items.append(1) }}",  # immutable sandbox: no mutating methods
        "{{ '{0.__class__}'.format(x) }}",
    ],
)
def test_what_slips_past_the_static_check_is_refused_at_render(source: str) -> None:
    p = Prompt(source)
    values = {"x": "s", "name": "__class__", "items": [1]}
    with pytest.raises(UnsafeTemplateError, match="refused"):
        p.render({k: v for k, v in values.items() if k in p.input_schema})


def test_ranges_are_capped() -> None:
    with pytest.raises(UnsafeTemplateError):
        Prompt("{% for i in range(10**9) %}{% endfor %}").render()


def test_from_file_and_includes_beside_it(tmp_path: Path) -> None:
    (tmp_path / "base.j2").write_text("System: {{ persona }}", encoding="utf-8")
    main = tmp_path / "main.j2"
    main.write_text('{% include "base.j2" %}\nUser: {{ question }}', encoding="utf-8")
    p = Prompt.from_file(main)
    assert p.name == "main.j2"
    assert p.input_schema == {"persona", "question"}
    assert p.render(persona="terse", question="Why?") == "System: terse\nUser: Why?"


def test_from_file_errors(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="cannot read"):
        Prompt.from_file(tmp_path / "absent.j2")
    (tmp_path / "bad.j2").write_text('{% include "../secret.j2" %}', encoding="utf-8")
    with pytest.raises(UnsafeTemplateError):
        Prompt.from_file(tmp_path / "bad.j2").render()
    (tmp_path / "gone.j2").write_text('{% include "nothing.j2" %}', encoding="utf-8")
    with pytest.raises(PromptError, match=r"no template 'nothing\.j2'"):
        Prompt.from_file(tmp_path / "gone.j2").render()


def test_includes_unsafe_or_dynamic(tmp_path: Path) -> None:
    (tmp_path / "evil.j2").write_text("{{ x.__class__ }}", encoding="utf-8")
    (tmp_path / "a.j2").write_text('{% include "evil.j2" %}', encoding="utf-8")
    with pytest.raises(UnsafeTemplateError, match=r"evil\.j2"):
        Prompt.from_file(tmp_path / "a.j2")
    # a name known only at render time: the variable set may be incomplete, so
    # unexpected variables are not refused
    (tmp_path / "part.j2").write_text("[{{ y }}]", encoding="utf-8")
    (tmp_path / "dyn.j2").write_text("{% include which %}", encoding="utf-8")
    assert Prompt.from_file(tmp_path / "dyn.j2").render(which="part.j2", y=1) == "[1]"
    # cycles end
    (tmp_path / "loop.j2").write_text('{% if n %}{% include "loop.j2" %}{% endif %}', "utf-8")
    assert Prompt.from_file(tmp_path / "loop.j2").input_schema == {"n"}
    # an inline prompt has no directory to include from
    with pytest.raises(PromptError, match="no template 'x'"):
        Prompt('{% include "x" %}').render()


def test_errors_pickle() -> None:
    err = PromptError("x", missing=["a"], unexpected=["b"])
    back = pickle.loads(pickle.dumps(err))
    assert (back.missing, back.unexpected) == (["a"], ["b"])
