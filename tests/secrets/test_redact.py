"""redact: the secret never survives in text we pass on, not even in part after a cut."""

from __future__ import annotations

from infobip_iac.domain.secret import Secret
from infobip_iac.secrets.redact import MIN_FRAGMENT_CHARS, REDACTED, redact


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


def _windows(value: str, width: int = MIN_FRAGMENT_CHARS) -> list[str]:
    return [value[i : i + width] for i in range(len(value) - width + 1)]


def test_a_run_of_the_secret_long_enough_to_identify_it_is_hidden(
    secret: Secret, secret_value: str
) -> None:
    """A command that echoes its input cut short, or an answer cut mid-secret, passes on
    nearly all of it; a search for the whole secret alone would let that through."""
    text = f"bad token {secret_value[:-1]} end; tail {secret_value[-MIN_FRAGMENT_CHARS:]}"

    result = redact(text, secret)

    assert result == f"bad token {REDACTED} end; tail {REDACTED}"
    assert not any(window in result for window in _windows(secret_value))


def test_a_run_shorter_than_a_fragment_and_unrelated_text_stay(
    secret: Secret, secret_value: str
) -> None:
    short = secret_value[: MIN_FRAGMENT_CHARS - 1]
    text = f"request {short} failed; id 0123456789abcdef"

    assert redact(text, secret) == text


def test_a_secret_shorter_than_a_fragment_is_hidden_only_whole() -> None:
    assert redact("abc abcd", Secret("abcd")) == f"abc {REDACTED}"
