"""Reaching Bedrock Runtime: region, endpoint, SigV4-signed requests, AWS error answers.

Errors arrive as `{"message": ...}` with the exception's name in the `x-amzn-ErrorType`
header. An invalid or expired security token (HTTP 403 `UnrecognizedClientException` /
`ExpiredTokenException`) is an `AuthenticationError` that says how to refresh.

Example:
    >>> conn = BedrockConnection(region="eu-west-1", aws_access_key_id="AKIDEXAMPLE",
    ...                          aws_secret_access_key="secret")
    >>> conn.model_url("anthropic.claude-3-haiku-20240307-v1:0", "converse")
    'https://bedrock-runtime.eu-west-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1:0/converse'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypedDict
from urllib.parse import quote

from conduit.errors import AuthenticationError, ProviderError, ValidationError
from conduit.providers.bedrock.credentials import REFRESH_HINT, CredentialSource, find_region
from conduit.providers.bedrock.sigv4 import Credentials, sign
from conduit.providers.endpoint import Endpoint, build_client
from conduit.providers.registry import ProviderSpec, get_provider
from conduit.providers.signing import AuthTransport, default_transport
from conduit.transport import HTTPClient, HTTPRequest, HTTPResponse, RetryPolicy, Timeout, Transport

if TYPE_CHECKING:
    import aiohttp

__all__ = ["BedrockConnection", "BedrockHTTPClient", "BedrockOptions"]

# The AWS SDKs' service-specific and global endpoint variables.
_ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL")
_AUTH_FAILURES = ("UnrecognizedClientException", "InvalidSignatureException")
_EXPIRED = (
    "ExpiredTokenException",
    "ExpiredToken",
    "security token included in the request is expired",
)


class BedrockOptions(TypedDict, total=False):
    """How to reach Bedrock; keyword arguments of `BedrockChatModel` / `BedrockEmbedder`.

    - `region`: defaults to `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's.
    - `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`: explicit
      credentials; without them botocore's chain finds them (`bedrock` extra).
    - `profile`: a shared-config profile (defaults to `AWS_PROFILE`).
    - `endpoint_url`: another endpoint (a VPC endpoint, a local stand-in); defaults to
      `BEDROCK_RUNTIME_ENDPOINT`, `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, `AWS_ENDPOINT_URL`,
      then `https://bedrock-runtime.{region}.amazonaws.com`.
    - `headers`, `timeout`, `max_retries`, `transport`, `session`: as for every adapter.
    """

    region: str | None
    aws_access_key_id: str | None
    aws_secret_access_key: str | None
    aws_session_token: str | None
    profile: str | None
    endpoint_url: str | None
    headers: Mapping[str, str] | None
    timeout: Timeout | float | None
    max_retries: int | RetryPolicy
    transport: Transport | None
    session: aiohttp.ClientSession | None


class BedrockHTTPClient(HTTPClient):
    """An `HTTPClient` that reads AWS error answers (`x-amzn-ErrorType`)."""

    __slots__ = ()

    def error(
        self, status: int, content: bytes, response: HTTPResponse, retry_after: float | None
    ) -> ProviderError:
        exc = super().error(status, content, response, retry_after)
        kind = (response.header("x-amzn-errortype") or "").partition(":")[0]
        text = f"{kind} {exc.message}"
        if any(marker in text for marker in _EXPIRED):
            message = f"the AWS credentials have expired ({exc.message}): {REFRESH_HINT}"
        elif kind in _AUTH_FAILURES:
            message = f"AWS refused the credentials ({kind}: {exc.message})"
        else:
            return exc
        return AuthenticationError(
            message,
            provider=exc.provider,
            status_code=exc.status_code,
            request_id=exc.request_id,
            body=exc.body,
        )


class BedrockConnection:
    """Resolves region, endpoint and credentials; owns the SigV4-signing HTTP client."""

    __slots__ = ("base_url", "client", "credentials", "region", "spec")

    def __init__(
        self,
        provider: ProviderSpec | str = "bedrock",
        *,
        region: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout | float | None = None,
        max_retries: int | RetryPolicy = 2,
        transport: Transport | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.spec = get_provider(provider) if isinstance(provider, str) else provider
        self.region = find_region(region, profile)
        if bool(aws_access_key_id) != bool(aws_secret_access_key):
            raise ValidationError(
                "pass both aws_access_key_id= and aws_secret_access_key= (or neither, to use "
                "the AWS credential chain)"
            )
        fixed = (
            Credentials(aws_access_key_id, aws_secret_access_key, aws_session_token)
            if aws_access_key_id and aws_secret_access_key
            else None
        )
        self.credentials = CredentialSource(fixed, profile=profile)
        url = endpoint_url or next(
            (
                value
                for name in (self.spec.base_url_env, *_ENDPOINT_ENVS)
                if name and (value := os.environ.get(name, "").strip())
            ),
            f"https://bedrock-runtime.{self.region}.amazonaws.com",
        )
        if not url.startswith(("http://", "https://")):
            raise ValidationError(f"endpoint_url must start with https://, got {url!r}")
        self.base_url = url.rstrip("/")
        wire = AuthTransport(
            default_transport(transport, timeout=timeout, session=session), self._sign
        )
        self.client = build_client(
            Endpoint(self.spec, self.base_url, None),
            headers=headers,
            max_retries=max_retries,
            transport=wire,
            client_class=BedrockHTTPClient,
        )

    async def _sign(self, request: HTTPRequest) -> None:
        credentials = await self.credentials.get()
        request.headers.update(
            sign(
                request.method,
                request.url,
                request.headers,
                request.content,
                credentials,
                region=self.region,
                service="bedrock",
            )
        )

    def model_url(self, model_id: str, action: str) -> str:
        """`{base}/model/{model-id}/{action}`. The id is URL-encoded except for `:`, which
        HTTP clients send as it is (yarl decodes `%3A`): the signature must cover the
        path the server receives."""
        return f"{self.base_url}/model/{quote(model_id, safe=':')}/{action}"

    def __repr__(self) -> str:
        return f"BedrockConnection({self.base_url!r}, region={self.region!r})"

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self.client.transport.aclose()
