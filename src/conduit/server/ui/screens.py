"""The bodies of the dashboard's pages, from the admin API's answers (plain data in,
escaped HTML out).

Example:
    >>> "No requests" in requests_body([])
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conduit.server.ui.pages import bar_chart, esc, field_error, money, table, when

__all__ = ["health_body", "keys_body", "requests_body", "spend_body"]


def _state(status: Any) -> str:
    # The state as a word (readable without colour); the class only adds colour.
    word = str(status or "unknown")
    return f'<span class="state {esc(word.replace(" ", "-"))}">{esc(word.upper())}</span>'


def _status(status: Any) -> str:
    if status is None:
        return "—"
    word = "OK" if int(status) < 400 else "ERROR"
    return f'<span class="status s{int(status) // 100}xx">{int(status)} {word}</span>'


def health_body(readiness: Mapping[str, Any], deployments: Mapping[str, Any], rate: int) -> str:
    """The overview: live request rate, each dependency, each upstream deployment.

    Example:
        >>> "database" in health_body({"dependencies": {"database": {"kind": "sqlite",
        ...     "status": "up"}}}, {"deployments": []}, 0)
        True
    """
    deps = [
        (
            esc(name),
            esc(state.get("kind")),
            _state(state.get("status")),
            esc(state.get("error", "")),
        )
        for name, state in readiness.get("dependencies", {}).items()
    ]
    upstream = [
        (
            esc(d["group"]),
            esc(d["deployment"]),
            _state(d["status"]),
            esc(d["requests_5m"]),
            esc(d["errors_5m"]),
        )
        for d in deployments.get("deployments", [])
    ]
    overall = esc(readiness.get("status", "unknown"))
    return (
        '<section class="card" aria-live="polite"><h2>Live request rate</h2>'
        f'<p class="big"><span id="rate" data-src="/ui/api/activity">{rate}</span> '
        "requests in the last minute</p>"
        '<p class="hint">Updated every 2 seconds: <span id="rate10">—</span> in the last 10 s.</p>'
        '<svg id="spark" class="spark" viewBox="0 0 300 40" role="img" '
        'aria-label="Requests per minute, last 60 polls" xmlns="http://www.w3.org/2000/svg">'
        "</svg></section>"
        f'<section><h2>Dependencies: <span id="overall">{overall.upper()}</span></h2>'
        + table(["Dependency", "Kind", "Status", "Error"], deps, empty="No dependencies.")
        + "</section><section><h2>Upstream deployments</h2>"
        + table(
            ["Group", "Deployment", "Status", "Requests (5 min)", "Errors ≥500 (5 min)"],
            upstream,
            empty="No deployments.",
        )
        + "</section>"
    )


def _input(
    name: str, label: str, values: Mapping[str, Any], errors: Mapping[str, str], hint: str
) -> str:
    described = f' aria-describedby="{name}-hint{" " + name + "-error" if name in errors else ""}"'
    invalid = ' aria-invalid="true"' if name in errors else ""
    return (
        f'<div class="field"><label for="{name}">{esc(label)}</label>'
        f'<input id="{name}" name="{name}" type="text" value="{esc(values.get(name, ""))}"'
        f"{described}{invalid}>"
        f'<p class="hint" id="{name}-hint">{esc(hint)}</p>{field_error(errors, name)}</div>'
    )


def keys_body(
    keys: Sequence[Mapping[str, Any]],
    spend: Mapping[str | None, float],
    groups: Sequence[str],
    csrf: str,
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    secret: tuple[str, str] | None = None,
) -> str:
    """The keys page: the new secret (once), the new-key form, the keys with revoke
    buttons.

    Example:
        >>> "Create key" in keys_body([], {}, ["chat"], "t")
        True
    """
    values = values or {}
    errors = errors or {}
    out = []
    if secret is not None:
        out.append(
            '<section class="card secret" role="status"><h2>New key created</h2>'
            f"<p>Key <code>{esc(secret[0])}</code>. Its secret is shown only this once; "
            "copy it now:</p>"
            f'<p><code id="secret">{esc(secret[1])}</code></p></section>'
        )
    if errors:
        out.append(
            '<p class="error" role="alert">Error: the key was not created; '
            "fix the fields marked below.</p>"
        )
    chosen = values.get("models") or []
    boxes = "".join(
        f'<label class="check"><input type="checkbox" name="models" value="{esc(g)}"'
        f"{' checked' if g in chosen else ''}> {esc(g)}</label>"
        for g in groups
    )
    out.append(
        '<section class="card"><h2>New key</h2>'
        '<form method="post" action="/ui/keys" id="new-key" novalidate>'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
        + _input("name", "Name", values, errors, "Optional, e.g. team-a.")
        + '<fieldset class="field" aria-describedby="models-hint"><legend>Models</legend>'
        f'{boxes}<p class="hint" id="models-hint">None ticked: every model.</p>'
        f"{field_error(errors, 'models')}</fieldset>"
        + _input("max_budget", "Budget (US dollars)", values, errors, "Optional, e.g. 25.")
        + _input(
            "budget_window",
            "Budget window",
            values,
            errors,
            "Optional: 1h, 1d, 30d (empty: for ever).",
        )
        + _input("rpm", "Requests per minute", values, errors, "Optional positive whole number.")
        + _input("tpm", "Tokens per minute", values, errors, "Optional positive whole number.")
        + _input(
            "expires",
            "Expires",
            values,
            errors,
            "Optional: 2030-01-31, 2030-01-31T12:00 (UTC) or 30d.",
        )
        + '<button type="submit" id="create">Create key</button></form></section>'
    )
    rows = []
    for key in keys:
        if key.get("revoked_at") is not None:
            state, action = "REVOKED", ""
        else:
            state = "ACTIVE"
            action = (
                '<form method="post" action="/ui/keys/revoke" class="inline">'
                f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
                f'<input type="hidden" name="key" value="{esc(key["id"])}">'
                f'<button type="submit" class="danger" id="revoke-{esc(key["id"])}">'
                "Revoke</button></form>"
            )
        budget = money(key.get("max_budget"))
        if key.get("max_budget") is not None and key.get("budget_window"):
            budget += f" / {esc(key['budget_window'])}"
        limits = f"{esc(key.get('rpm') or '—')} rpm, {esc(key.get('tpm') or '—')} tpm"
        rows.append(
            (
                f'<code class="keyid">{esc(key["id"])}</code>',
                esc(key.get("name") or ""),
                f"<code>{esc(key.get('prefix'))}…</code>",
                esc(", ".join(key.get("models") or []) or "all"),
                budget,
                limits,
                esc(when(key.get("expires_at"))),
                esc(money(spend.get(key["id"], 0.0))),
                f'<span class="state {state.lower()}">{state}</span> {action}',
            )
        )
    out.append(
        "<section><h2>Keys</h2>"
        + table(
            [
                "Id",
                "Name",
                "Secret starts",
                "Models",
                "Budget",
                "Limits",
                "Expires",
                "Spend (30 days)",
                "Status",
            ],
            rows,
            empty="No keys yet.",
        )
        + "</section>"
    )
    return "".join(out)


def spend_body(reports: Mapping[str, Mapping[str, Any]], days: int) -> str:
    """The spend page: spend and tokens by day, key and model, charts and tables.

    Example:
        >>> empty = {"rows": []}
        >>> "nothing recorded" in spend_body({"day": empty, "key": empty, "model": empty}, 30)
        True
    """
    out = [
        '<form method="get" action="/ui/spend" class="inline"><label for="days">Days</label>'
        f'<input id="days" name="days" type="text" inputmode="numeric" value="{days}" size="4">'
        '<button type="submit">Show</button></form>'
    ]
    for group, title in (("day", "day"), ("key", "key"), ("model", "model")):
        rows = reports[group]["rows"]
        label = [(str(r["group"] or "(none)"), r) for r in rows]
        out.append(f'<section id="by-{group}"><h2>By {title}</h2><div class="charts">')
        out.append(bar_chart(f"Spend by {title}", [(n, r["spend"]) for n, r in label], money))
        out.append(
            bar_chart(
                f"Tokens by {title}",
                [(n, r["total_tokens"]) for n, r in label],
                lambda v: f"{v:,.0f}",
            )
        )
        out.append("</div>")
        out.append(
            table(
                [title.capitalize(), "Spend", "Requests", "Prompt tokens", "Completion tokens"],
                [
                    (
                        esc(n),
                        esc(money(r["spend"])),
                        esc(r["requests"]),
                        esc(r["prompt_tokens"]),
                        esc(r["completion_tokens"]),
                    )
                    for n, r in label
                ],
                empty=f"No spend by {title} in the last {days} days.",
            )
        )
        out.append("</section>")
    return "".join(out)


def requests_body(logs: Sequence[Mapping[str, Any]]) -> str:
    """The recent requests: time, key, model, status, latency, tokens, spend.

    Example:
        >>> "200 OK" in requests_body([{"endTime": "t", "api_key": "k", "model": "m",
        ...     "status": 200, "latency_ms": 5.0, "total_tokens": 3, "spend": 0.1}])
        True
    """
    rows = [
        (
            esc(e["endTime"][:19].replace("T", " ")),
            f"<code>{esc(e['api_key'] or '—')}</code>",
            esc(e["model"]),
            _status(e["status"]),
            esc("—" if e["latency_ms"] is None else f"{e['latency_ms']:.0f} ms"),
            esc(e["total_tokens"]),
            esc(money(e["spend"])),
        )
        for e in logs
    ]
    return (
        "<section>"
        + table(
            ["Time (UTC)", "Key", "Model", "Status", "Latency", "Tokens", "Spend"],
            rows,
            empty="No requests recorded yet.",
        )
        + "</section>"
    )
