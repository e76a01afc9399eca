"""redact: the secret never survives in text we pass on, not even in part after a cut."""

from __future__ import annotations

from infobip_iac.domain.secret import Secret
from infobip_iac.secrets.redact import REDACTED, redact


def test_every_occurrence_is_replaced(secret: Secret, secret_value: str) -> None:
    text = f"error: {secret_value} rejected ({secret_value})"

    assert redact(text, secret) == f"error: {REDACTED} rejected ({REDACTED})"


def test_long_text_is_cut_and_says_how_much_was_left_out(secret: Secret) -> None:
    result = redact("x" * 5000, secret, limit=100)

    assert result.startswith("x" * 100)
    assert result.endswith("(4900 more characters)")


def test_a_secret_straddling_the_cut_leaves_no_part_behind(
    secret: Secret, secret_value: str
) -> None:
    text = "x" * 90 + secret_value + "y" * 200

    result = redact(text, secret, limit=100)

    assert secret_value[:10] not in result
    assert REDACTED in result
