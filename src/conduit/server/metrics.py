"""The gateway's counters, rendered in Prometheus' text exposition format (version
0.0.4: `# HELP`, `# TYPE`, then `name{label="value"} number` lines).

Written by hand: the format is a few lines of text and the gateway must not pay for a
client library on its hot path. Counters are per process; Prometheus adds replicas up.

Example:
    >>> m = Metrics()
    >>> m.observe("/v1/chat/completions", "chat", 200, 0.012, tokens=(10, 5), cost=0.001)
    >>> 'conduit_requests_total{route="/v1/chat/completions",model="chat",status="200"} 1' in m.render()
    True
"""  # noqa: E501

from __future__ import annotations

import bisect
from collections import defaultdict

__all__ = ["BUCKETS", "Metrics"]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _escape(value: str) -> str:
    # The exposition format escapes backslash, double quote and newline in label values.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


class Metrics:
    """Requests, latency, tokens, cost and streams in flight, since the process started.

    Example:
        >>> Metrics().render().startswith("# HELP conduit_requests_total")
        True
    """

    def __init__(self) -> None:
        self.requests: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.tokens: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.cost: defaultdict[str, float] = defaultdict(float)
        self._buckets: defaultdict[str, list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self._sum: defaultdict[str, float] = defaultdict(float)
        self._count: defaultdict[str, int] = defaultdict(int)
        self.in_flight = 0

    def observe(
        self,
        route: str,
        model: str,
        status: int,
        seconds: float,
        *,
        tokens: tuple[int, int] = (0, 0),
        cost: float | None = None,
    ) -> None:
        """Count one finished request."""
        self.requests[(route, model, str(status))] += 1
        index = bisect.bisect_left(BUCKETS, seconds)
        if index < len(BUCKETS):
            self._buckets[route][index] += 1
        self._sum[route] += seconds
        self._count[route] += 1
        if tokens[0]:
            self.tokens[(model, "input")] += tokens[0]
        if tokens[1]:
            self.tokens[(model, "output")] += tokens[1]
        if cost:
            self.cost[model] += cost

    def render(self) -> str:
        """All metrics as Prometheus text."""
        out = [
            "# HELP conduit_requests_total Requests answered, by route, model group and status.",
            "# TYPE conduit_requests_total counter",
        ]
        for (route, model, status), n in sorted(self.requests.items()):
            labels = _labels((("route", route), ("model", model), ("status", status)))
            out.append(f"conduit_requests_total{labels} {n}")
        out += [
            "# HELP conduit_request_duration_seconds Time to the whole answer, by route.",
            "# TYPE conduit_request_duration_seconds histogram",
        ]
        for route in sorted(self._count):
            running = 0
            for bound, n in zip(BUCKETS, self._buckets[route], strict=True):
                running += n
                labels = _labels((("route", route), ("le", repr(bound))))
                out.append(f"conduit_request_duration_seconds_bucket{labels} {running}")
            labels = _labels((("route", route), ("le", "+Inf")))
            out.append(f"conduit_request_duration_seconds_bucket{labels} {self._count[route]}")
            only = _labels((("route", route),))
            out.append(f"conduit_request_duration_seconds_sum{only} {self._sum[route]}")
            out.append(f"conduit_request_duration_seconds_count{only} {self._count[route]}")
        out += [
            "# HELP conduit_tokens_total Tokens used, by model group and kind.",
            "# TYPE conduit_tokens_total counter",
        ]
        for (model, kind), n in sorted(self.tokens.items()):
            out.append(f"conduit_tokens_total{_labels((('model', model), ('kind', kind)))} {n}")
        out += [
            "# HELP conduit_cost_usd_total Known cost in US dollars, by model group.",
            "# TYPE conduit_cost_usd_total counter",
        ]
        for model, usd in sorted(self.cost.items()):
            out.append(f"conduit_cost_usd_total{_labels((('model', model),))} {usd}")
        out += [
            "# HELP conduit_requests_in_flight Requests being answered now.",
            "# TYPE conduit_requests_in_flight gauge",
            f"conduit_requests_in_flight {self.in_flight}",
        ]
        return "\n".join(out) + "\n"
