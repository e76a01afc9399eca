"""Keeping a secret out of text we did not write ourselves (a sink command's stderr)."""

from __future__ import annotations

from infobip_iac.domain.secret import Secret

__all__ = ["MAX_DETAIL_CHARS", "REDACTED", "redact"]

REDACTED = "***"
MAX_DETAIL_CHARS = 2000


def redact(text: str, secret: Secret, *, limit: int = MAX_DETAIL_CHARS) -> str:
    """`text` with every occurrence of the secret replaced, then cut to `limit` characters.

    Redacting before cutting matters: a cut made first could leave the secret's first half
    at the end of the text, where no search for the whole secret would find it.
    """
    value = secret.reveal()
    if value:
        text = text.replace(value, REDACTED)
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text) - limit} more characters)"
    return text
