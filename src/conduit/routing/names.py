"""How a router finds the deployments for a name a call gives: a group; an alias; a
deployment's id (with `route_by_id`); a name a pattern group (`"openai/*"`, `"*"`)
matches, whose wildcard deployments are filled in for it. Names resolved to one
deployment or through a pattern are kept (at most `_VIEWS`, the oldest dropped first).
`_Names` is the part of `Router` that does this.

Example:
    >>> from conduit.routing import Deployment, Router
    >>> router = Router({"openai/*": [Deployment("openai/*")]})
    >>> [d.ref for d in router.deployments("openai/gpt-4o")]
    ['openai/gpt-4o']
"""

from __future__ import annotations

import re
from collections import OrderedDict

from conduit.errors import ConduitError, NotFoundError
from conduit.routing.calls import _Group
from conduit.routing.deployment import Deployment
from conduit.routing.slots import Slots
from conduit.storage.buckets import Bucket

__all__: list[str] = []

_VIEWS = 1024  # names resolved to a deployment or through a pattern, kept at most


class _Names:
    """The name resolution of `Router` (its state is the router's own)."""

    strategy: str
    aliases: dict[str, str]
    route_by_id: bool
    _groups: dict[str, _Group]
    _patterns: list[tuple[re.Pattern[str], str]]
    _views: OrderedDict[str, _Group]
    _by_id: dict[str, Deployment]
    _group_of: dict[str, _Group]
    _limits: dict[str, list[tuple[Bucket, bool]]]
    _slots: dict[str, Slots]

    def _register(self, group: _Group, dep: Deployment) -> None:
        assert dep.id is not None
        self._by_id[dep.id] = dep
        self._group_of[dep.id] = group
        group.deployments.append(dep)
        group.ids.append(dep.id)
        group.ordered = group.ordered or dep.order is not None
        group.tokens = group.tokens or dep.tpm is not None or self.strategy == "usage-based"
        group.parallel = group.parallel or dep.max_parallel is not None

    def _forget_views(self, keep: int = 0) -> None:
        """Drop resolved names (all, or the oldest beyond `keep`) and what they made."""
        while len(self._views) > keep:
            _, view = self._views.popitem(last=False)
            for dep_id in view.ids:
                if self._group_of.get(dep_id) is view:  # a wildcard's concrete deployment
                    del self._group_of[dep_id]
                    del self._by_id[dep_id]
                    self._limits.pop(dep_id, None)
                    self._slots.pop(dep_id, None)

    def _group(self, group: str) -> _Group:
        found = self._groups.get(group)
        if found is not None and found.pattern is None:
            return found
        view = self._views.get(group)
        if view is not None:
            self._views.move_to_end(group)
            return view
        target = self.aliases.get(group)
        if target is not None and target != group:
            return self._group(target)
        if self.route_by_id:
            dep = self._by_id.get(group)
            if dep is not None and not dep.is_wildcard:
                parent = self._group_of[group]
                view = _Group([dep], [group], tokens=parent.tokens, parallel=parent.parallel)
                return self._keep(group, view)
        matched = self._match(group)
        if matched is not None:
            return matched
        if found is not None:  # a pattern group asked for by its own name
            return found
        known = ", ".join(map(repr, self._groups)) or "(none)"
        raise NotFoundError(f"unknown model group {group!r}; groups: {known}")

    def _keep(self, name: str, view: _Group) -> _Group:
        self._views[name] = view
        self._forget_views(keep=_VIEWS)
        return view

    def _first_match(self, text: str) -> tuple[re.Match[str], str] | None:
        for pattern, group in self._patterns:
            match = pattern.fullmatch(text)
            if match is not None:
                return match, group
        return None

    def _match(self, name: str) -> _Group | None:
        """The concrete group of `name` through the most specific pattern group that
        matches it; else through one that matches its resolved `"provider/name"` (as
        LiteLLM tries both, in that order)."""
        if not self._patterns:
            return None
        found = self._first_match(name)
        if found is None and "/" not in name:
            from conduit.api.resolve import resolve_ref

            try:
                found = self._first_match(resolve_ref(name))
            except ConduitError:
                return None
        if found is None:
            return None
        match, group = found
        source = self._groups[group]
        view = _Group(ordered=source.ordered, tokens=source.tokens, parallel=source.parallel)
        made = [  # all expanded before any is registered: one that fails leaves nothing
            (t, t.expand(match.groups(), match.string, id=f"{t.id}[{name}]"))
            for t in source.deployments
        ]
        for template, dep in made:
            dep_id, template_id = dep.id or "", template.id or ""
            if dep is not template:
                # Limits belong to the deployment (its key, its capacity): a wildcard's
                # concrete deployments share its buckets and slots; health is per model.
                self._by_id[dep_id] = dep
                self._group_of[dep_id] = view
                if template_id in self._limits:
                    self._limits[dep_id] = self._limits[template_id]
                if template_id in self._slots:
                    self._slots[dep_id] = self._slots[template_id]
            view.deployments.append(dep)
            view.ids.append(dep_id)
        return self._keep(name, view)
