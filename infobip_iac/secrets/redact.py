"""Keeping a secret out of text we did not write ourselves (a sink command's stderr)."""

from __future__ import annotations

from infobip_iac.domain.secret import Secret

__all__ = ["MAX_DETAIL_CHARS", "MIN_FRAGMENT_CHARS", "REDACTED", "redact"]

REDACTED = "***"
MAX_DETAIL_CHARS = 2000
# Any run of this many characters of the secret is hidden, not only the whole secret: a
# command that echoes its input cut short, or output cut mid-secret, would otherwise pass
# nearly all of it on. Eight is where a run stops being noise: an Infobip secret is hex
# and a UUID (about 250 random bits), so eight characters carry 32 of them, enough to tell
# which secret a fragment came from, while a piece of seven or fewer left beside a cut
# gives away at most 28 bits of the secret. Shorter runs would start hiding unrelated ids
# and hashes in the same output (each eight-character window of other text matches by
# chance about once in 2**32 tries per position of the secret).
MIN_FRAGMENT_CHARS = 8


def _hide_fragments(text: str, value: str) -> str:
    """`text` with every run of `value`'s characters at least MIN_FRAGMENT_CHARS long
    (or the whole of a shorter `value`) replaced by one REDACTED."""
    width = min(MIN_FRAGMENT_CHARS, len(value))
    windows = {value[i : i + width] for i in range(len(value) - width + 1)}
    # A run of the secret at least `width` long is the union of its windows of `width`
    # characters, each one a window of the secret: marking every such window covers it.
    hidden = bytearray(len(text))
    for start in range(len(text) - width + 1):
        if text[start : start + width] in windows:
            hidden[start : start + width] = b"\x01" * width
    if not any(hidden):
        return text
    pieces: list[str] = []
    position = 0
    while position < len(text):
        end = position
        if hidden[position]:
            while end < len(text) and hidden[end]:
                end += 1
            pieces.append(REDACTED)
        else:
            while end < len(text) and not hidden[end]:
                end += 1
            pieces.append(text[position:end])
        position = end
    return "".join(pieces)


def redact(text: str, secret: Secret, *, limit: int = MAX_DETAIL_CHARS) -> str:
    """`text` with the secret, and every fragment of it long enough to matter, replaced;
    then cut to `limit` characters.

    Redacting before cutting matters: a cut made first could leave the secret's first half
    at the end of the text, where no search for the whole secret would find it.
    """
    value = secret.reveal()
    if value:
        text = _hide_fragments(text, value)
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text) - limit} more characters)"
    return text
