"""AWS credentials for Bedrock: explicit ones, or botocore's standard chain
(environment, shared config/credentials profile, SSO, web identity, container and
instance roles), loaded lazily from the `bedrock` extra.

Temporary credentials from the chain are refreshable: botocore refreshes them shortly
before they expire, and `CredentialSource.get()` asks for the current ones before every
request (in a worker thread when a refresh is due, since it may block on the network).

Example:
    >>> import asyncio
    >>> source = CredentialSource(Credentials("AKIDEXAMPLE", "secret"))
    >>> asyncio.run(source.get()).access_key
    'AKIDEXAMPLE'
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from conduit.errors import AuthenticationError, MissingDependencyError, ValidationError
from conduit.providers.bedrock.sigv4 import Credentials

__all__ = ["CredentialSource", "REFRESH_HINT", "find_region"]

REFRESH_HINT = (
    "refresh the AWS credentials: run `aws sso login` (SSO profiles), fetch new temporary "
    "credentials (AWS_SESSION_TOKEN), or check the instance/container role"
)
_MISSING = (
    "no AWS credentials found for Bedrock: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    "(and AWS_SESSION_TOKEN for temporary ones), or AWS_PROFILE for a shared profile "
    "(`aws sso login` for SSO), or run with an instance/container role"
)


def _botocore_session(profile: str | None) -> Any:
    try:
        import botocore.session  # type: ignore[import-untyped]
    except ModuleNotFoundError:
        raise MissingDependencyError(
            'Bedrock needs botocore for the AWS credential chain: pip install "conduit[bedrock]"'
            " (or pass aws_access_key_id= and aws_secret_access_key=)"
        ) from None
    return botocore.session.Session(profile=profile)


def find_region(region: str | None, profile: str | None = None) -> str:
    """`region`, else `AWS_REGION` / `AWS_DEFAULT_REGION`, else the profile's region."""
    found = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not found and (profile or os.environ.get("AWS_PROFILE")):
        try:
            found = _botocore_session(profile).get_config_variable("region")
        except MissingDependencyError:
            found = None
    if not found:
        raise ValidationError(
            "Bedrock needs an AWS region: set AWS_REGION (e.g. us-east-1) or pass region="
        )
    return str(found)


class CredentialSource:
    """Where the signer gets its credentials: fixed ones, or botocore's chain (resolved
    when the source is made, so a missing credential fails before any request)."""

    __slots__ = ("_chain", "_fixed")

    def __init__(
        self, credentials: Credentials | None = None, *, profile: str | None = None
    ) -> None:
        self._fixed = credentials
        self._chain: Any = None
        if credentials is None:
            found = _botocore_session(profile).get_credentials()
            if found is None:
                raise AuthenticationError(_MISSING, provider="bedrock")
            self._chain = found

    async def get(self) -> Credentials:
        """The current credentials (refreshed by botocore when they are about to expire)."""
        if self._fixed is not None:
            return self._fixed
        chain = self._chain
        due = getattr(chain, "refresh_needed", None)
        try:
            if callable(due) and due():
                frozen = await asyncio.to_thread(chain.get_frozen_credentials)
            else:
                frozen = chain.get_frozen_credentials()
        except Exception as exc:  # botocore's refresh errors have many types
            raise AuthenticationError(
                f"the AWS credentials could not be refreshed ({type(exc).__name__}): "
                f"{REFRESH_HINT}",
                provider="bedrock",
            ) from None
        if not frozen.access_key or not frozen.secret_key:
            raise AuthenticationError(_MISSING, provider="bedrock")
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    def __repr__(self) -> str:
        return "CredentialSource(fixed)" if self._fixed else "CredentialSource(chain)"
