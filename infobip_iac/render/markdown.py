"""The plan as a pull-request comment: the summary first, a warning when keys are revoked
or replaced, and the whole text plan folded inside `<details>`."""

from __future__ import annotations

import re

from infobip_iac.domain.plan import Action, Plan
from infobip_iac.render.text import render_text, summary_line

__all__ = ["render_markdown"]

_BACKTICKS = re.compile(r"`+")


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks inside `text`, so a key name cannot
    close it early."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(3, longest + 1)


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"`` {text} ``"


def render_markdown(plan: Plan) -> str:
    lines = [f"**{summary_line(plan)}**", ""]
    revokes = plan.revokes()
    if revokes:
        noun = "key" if len(revokes) == 1 else "keys"
        named = ", ".join(
            _code(c.address) + (" (replaced by a new key)" if c.action is Action.REPLACE else "")
            for c in revokes
        )
        lines += [
            "> [!WARNING]",
            f"> This plan revokes {len(revokes)} {noun}: {named}. Infobip keys cannot be "
            "deleted: a revoked key is disabled, and whatever still uses it stops working.",
            "",
        ]
    busiest = max(plan.writes_by_account().values(), default=0)
    if busiest > plan.write_limit:
        lines += [
            "> [!CAUTION]",
            f"> This plan needs {busiest} Infobip writes in one account; Infobip allows "
            f"{plan.write_limit} per account and day.",
            "",
        ]
    if plan.drift:
        noun = "key has" if len(plan.drift) == 1 else "keys have"
        lines += [f"{len(plan.drift)} managed {noun} changed outside of infobip-iac.", ""]
    text = render_text(plan, color=False).strip("\n")
    fence = _fence(text)
    lines += [
        "<details><summary>Full plan</summary>",
        "",
        f"{fence}text",
        text,
        fence,
        "",
        "</details>",
    ]
    return "\n".join(lines) + "\n"
