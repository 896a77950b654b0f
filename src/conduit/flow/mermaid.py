"""Drawing a graph as a Mermaid flowchart (https://mermaid.js.org/syntax/flowchart.html).

Example:
    >>> print(mermaid_flowchart(["a", "b"], "a", {"a": "b", "b": ("a", "END")},
    ...                         {"b": "again"}, "END"))
    flowchart TD
        __start__([start]) --> a
        a --> b
        b -. again .-> a
        b -. again .-> __end__([end])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["mermaid_flowchart"]


def mermaid_flowchart(
    nodes: Sequence[str],
    entry: str,
    edges: Mapping[str, str | tuple[str, ...] | None],
    labels: Mapping[str, str],
    end: str,
) -> str:
    """A `flowchart TD` with a start and an end terminal. `edges[source]` is a target (a
    fixed edge), a tuple of targets (a conditional edge, drawn dashed with its label), or
    `None` (a conditional edge without declared targets: drawn to a decision shape)."""
    ended = False

    def ref(node: str) -> str:
        nonlocal ended
        if node == end:
            if ended:
                return "__end__"
            ended = True
            return "__end__([end])"
        return node

    lines = ["flowchart TD", f"    __start__([start]) --> {ref(entry)}"]
    for source in nodes:
        edge = edges.get(source)
        label = labels.get(source, "")
        if isinstance(edge, str):
            lines.append(f"    {source} --> {ref(edge)}")
        elif edge is None:
            lines.append(f"    {source} -.-> {source}_route{{{{{label}}}}}")
        else:
            lines.extend(f"    {source} -. {label} .-> {ref(t)}" for t in edge)
    return "\n".join(lines)
