"""Keep secrets out of error messages, logs and reprs."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["REDACTED", "Redactor", "redact"]

REDACTED = "[REDACTED]"

# Shapes of credentials we never want to echo, even ones we were not told about:
# OpenAI/Anthropic style keys, Google API keys, bearer tokens, `key=` URL parameters.
_PATTERNS = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,})"
    r"|(AIza[0-9A-Za-z_\-]{20,})"
    r"|((?i:bearer)\s+[A-Za-z0-9._\-~+/]{8,}=*)"
    r"|((?<=[?&])(?i:key|api_key|api-key|access_token)=[^&#\s\"']+)"
)


class Redactor:
    """Replaces known secrets and anything shaped like a credential with `[REDACTED]`.

    Example:
        >>> Redactor(["hunter22"]).redact("key hunter22 and sk-abcdefghijklmnop")
        'key [REDACTED] and [REDACTED]'
    """

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """`text` with every secret replaced."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _PATTERNS.sub(REDACTED, text)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """One-off redaction (see `Redactor`)."""
    return Redactor(secrets).redact(text)
