"""Google Cloud settings and OAuth tokens for Vertex AI.

The project comes from `project=`, else `GOOGLE_CLOUD_PROJECT` (or `CLOUDSDK_CORE_PROJECT`),
else the Application Default Credentials' project; the location from `location=`, else
`GOOGLE_CLOUD_LOCATION` (or `GOOGLE_CLOUD_REGION`). Tokens come from ADC through
`google-auth` (the `vertex` extra), or from credentials you pass, and are refreshed
`REFRESH_MARGIN` seconds before they expire (in a worker thread: a refresh blocks).

Example:
    >>> vertex_base_url("my-proj", "us-central1")
    'https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-central1'
    >>> vertex_base_url("my-proj", "global")
    'https://aiplatform.googleapis.com/v1/projects/my-proj/locations/global'
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from typing import Any

from conduit.errors import AuthenticationError, MissingDependencyError, ValidationError

__all__ = ["GoogleTokenSource", "REFRESH_MARGIN", "SCOPE", "find_location", "vertex_base_url"]

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
REFRESH_MARGIN = 300.0
"""Seconds before expiry at which a token is refreshed."""


def vertex_base_url(project: str, location: str) -> str:
    """The Vertex AI API root for a project and location (`global` has no region host)."""
    host = (
        "aiplatform.googleapis.com"
        if location == "global"
        else (f"{location}-aiplatform.googleapis.com")
    )
    return f"https://{host}/v1/projects/{project}/locations/{location}"


def find_location(location: str | None) -> str:
    """`location`, else `GOOGLE_CLOUD_LOCATION` / `GOOGLE_CLOUD_REGION`."""
    found = (
        location or os.environ.get("GOOGLE_CLOUD_LOCATION") or os.environ.get("GOOGLE_CLOUD_REGION")
    )
    if not found:
        raise ValidationError(
            "Vertex AI needs a location: set GOOGLE_CLOUD_LOCATION (e.g. us-central1, or "
            "global) or pass location="
        )
    return found.strip()


def _google_auth() -> Any:
    try:
        import google.auth
        import google.auth.transport.requests
    except ModuleNotFoundError:
        raise MissingDependencyError(
            'Vertex AI needs google-auth for its OAuth tokens: pip install "conduit[vertex]" '
            "(or pass credentials=)"
        ) from None
    return google.auth


class GoogleTokenSource:
    """OAuth access tokens from google-auth credentials (ADC unless given), refreshed
    before they expire.

    Example:
        >>> import asyncio, datetime as dt
        >>> class Fake:
        ...     token, expiry = None, None
        ...     def refresh(self, request):
        ...         self.token = "ya29.fresh"
        ...         self.expiry = None  # google-auth: no expiry known
        >>> asyncio.run(GoogleTokenSource(Fake()).token())
        'ya29.fresh'
    """

    __slots__ = ("_lock", "credentials", "project")

    def __init__(self, credentials: Any = None) -> None:
        self.project: str | None = None
        if credentials is None:
            auth = _google_auth()
            try:
                credentials, self.project = auth.default(scopes=[SCOPE])
            except auth.exceptions.DefaultCredentialsError:
                raise AuthenticationError(
                    "no Google credentials for Vertex AI: run `gcloud auth application-default "
                    "login`, set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, "
                    "or pass credentials=",
                    provider="vertex",
                ) from None
        self.credentials = credentials
        self._lock: asyncio.Lock | None = None

    def _due(self) -> bool:
        creds = self.credentials
        if not getattr(creds, "token", None):
            return True
        expiry = getattr(creds, "expiry", None)
        if expiry is None:
            return False
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # google-auth's expiry is naive UTC
        if expiry.tzinfo is not None:
            expiry = expiry.astimezone(dt.UTC).replace(tzinfo=None)
        return bool((expiry - now).total_seconds() < REFRESH_MARGIN)

    def _refresh(self) -> None:
        request: Any = None
        try:
            from google.auth.transport.requests import Request

            request = Request()
        except ModuleNotFoundError:  # pragma: no cover - fake credentials in tests
            request = None
        try:
            self.credentials.refresh(request)
        except Exception as exc:  # google-auth's refresh errors have many types
            raise AuthenticationError(
                f"the Google credentials could not be refreshed ({type(exc).__name__}): run "
                "`gcloud auth application-default login` again, or check the service account",
                provider="vertex",
            ) from None

    async def token(self) -> str:
        """A valid access token (refreshed first when it expires within the margin)."""
        if self._due():
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if self._due():
                    await asyncio.to_thread(self._refresh)
        return str(self.credentials.token)

    @property
    def quota_project(self) -> str | None:
        """The project billed for quota (`x-goog-user-project`), when the credentials
        name one (user credentials from `gcloud auth application-default login` do)."""
        value = getattr(self.credentials, "quota_project_id", None)
        return str(value) if value else None
