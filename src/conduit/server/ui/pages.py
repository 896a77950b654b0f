"""The dashboard's HTML, built from plain strings: every value escaped on the way in
(`html.escape`), charts as inline SVG with a text label and value on each bar (so they
read without colour), no inline script or style (the page's CSP forbids both).

Example:
    >>> "<svg" in bar_chart("Spend", [("2030-01-01", 1.5)], money)
    True
    >>> esc("<b>")
    '&lt;b&gt;'
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "bar_chart",
    "esc",
    "field_error",
    "layout",
    "login_page",
    "money",
    "table",
    "when",
]

NAV = (
    ("/ui", "Overview"),
    ("/ui/keys", "Keys"),
    ("/ui/spend", "Spend"),
    ("/ui/requests", "Requests"),
)


def esc(value: Any) -> str:
    """`value` as HTML text (None: an empty string).

    Example:
        >>> esc(None), esc('a"b')
        ('', 'a&quot;b')
    """
    return "" if value is None else html.escape(str(value), quote=True)


def money(value: float | None) -> str:
    """US dollars for people (None: unknown).

    Example:
        >>> money(0.0123456), money(None)
        ('$0.012346', '—')
    """
    return "—" if value is None else f"${value:,.6f}".rstrip("0").rstrip(".") if value else "$0"


def when(seconds: float | None) -> str:
    """Unix seconds as a UTC time (None: never).

    Example:
        >>> when(0)
        '1970-01-01 00:00 UTC'
    """
    if seconds is None:
        return "never"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, empty: str) -> str:
    """An HTML table of already-escaped cells (`empty`: the text when there are none).

    Example:
        >>> table(["a"], [], empty="nothing")
        '<p class="empty">nothing</p>'
    """
    body = "".join(
        "<tr>"
        + "".join(f'<td data-label="{esc(h)}">{c}</td>' for h, c in zip(headers, row, strict=True))
        + "</tr>"
        for row in rows
    )
    if not body:
        return f'<p class="empty">{esc(empty)}</p>'
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def bar_chart(title: str, bars: Sequence[tuple[str, float]], fmt: Callable[[float], str]) -> str:
    """A horizontal bar chart in SVG: one bar per `(label, value)`, each with its label
    and `fmt(value)` written beside it; scales to the page's width.

    Example:
        >>> svg = bar_chart("Tokens", [("a", 2), ("b", 1)], str)
        >>> svg.count("<rect"), ">2</text>" in svg
        (2, True)
    """
    if not bars:
        return f'<p class="empty">{esc(title)}: nothing recorded yet.</p>'
    top = max(value for _, value in bars) or 1.0
    # Each bar under its label, the value after it: narrow enough that a phone shows the
    # text at about its size.
    row, width, room = 38, 400, 300
    height = row * len(bars) + 4
    parts = [
        f'<figure class="chart"><figcaption>{esc(title)}</figcaption>'
        f'<svg role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(bars):
        y = i * row
        w = max(1.0, room * value / top) if value > 0 else 0.0
        short = label if len(label) <= 48 else label[:47] + "…"
        parts.append(
            f'<text x="0" y="{y + 14}" class="label">{esc(short)}</text>'
            f'<rect x="0" y="{y + 19}" width="{w:.1f}" height="14" class="bar">'
            f"<title>{esc(label)}: {esc(fmt(value))}</title></rect>"
            f'<text x="{w + 6:.1f}" y="{y + 31}" class="value">{esc(fmt(value))}</text>'
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def field_error(errors: Mapping[str, str], name: str) -> str:
    """The error shown under a form field (linked to it with `aria-describedby`).

    Example:
        >>> field_error({"rpm": "too big"}, "rpm")
        '<p class="error" id="rpm-error" role="alert">Error: too big</p>'
    """
    message = errors.get(name)
    if not message:
        return ""
    return f'<p class="error" id="{name}-error" role="alert">Error: {esc(message)}</p>'


def layout(title: str, body: str, *, csrf: str | None = None, active: str = "") -> str:
    """A whole page: header, navigation (and a log-out form) when logged in, `body`.

    Example:
        >>> "<title>Keys · Conduit</title>" in layout("Keys", "")
        True
    """
    nav = ""
    if csrf is not None:
        links = "".join(
            f'<a href="{href}"{" aria-current=page" if href == active else ""}>{esc(text)}</a>'
            for href, text in NAV
        )
        nav = (
            f'<nav aria-label="Dashboard">{links}'
            f'<form method="post" action="/ui/logout" class="inline">'
            f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
            f'<button type="submit">Log out</button></form></nav>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · Conduit</title>"
        '<link rel="stylesheet" href="/ui/static/dashboard.css">'
        '<script src="/ui/static/dashboard.js" defer></script>'
        f'</head><body><header><p class="brand">Conduit gateway</p>{nav}</header>'
        f"<main><h1>{esc(title)}</h1>{body}</main></body></html>"
    )


def login_page(error: str = "") -> str:
    """The login form (the master key).

    Example:
        >>> 'type="password"' in login_page()
        True
    """
    shown = f'<p class="error" id="master_key-error" role="alert">Error: {esc(error)}</p>'
    return layout(
        "Log in",
        '<form method="post" action="/ui/login" class="card">'
        '<label for="master_key">Master key</label>'
        '<input id="master_key" name="master_key" type="password" required '
        'autocomplete="current-password">'
        f"{shown if error else ''}"
        '<button type="submit" id="login">Log in</button></form>',
    )
