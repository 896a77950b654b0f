"""The gateway's dashboard at `/ui` (keys, spend, requests, live rate, health) and the
admin read endpoints it shows (`/global/spend/report`, `/spend/logs`,
`/global/activity`, `/health/deployments`), all behind the master key.

Served by the gateway itself from files in this package: server-rendered HTML, one CSS
file, a few lines of script, charts as inline SVG; nothing from a CDN, no build step.

Example:
    >>> from conduit.server.ui import Dashboard, Reports
    >>> Dashboard.__name__, Reports.__name__
    ('Dashboard', 'Reports')
"""

from __future__ import annotations

from conduit.server.ui.reports import Reports
from conduit.server.ui.sessions import Sessions
from conduit.server.ui.views import SESSION_SECONDS, Dashboard

__all__ = ["Dashboard", "Reports", "SESSION_SECONDS", "Sessions"]
