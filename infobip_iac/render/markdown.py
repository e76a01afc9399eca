"""The plan as a pull-request comment that fits: the summary first (counts, writes against
the day's budget, revokes flagged at the very top), then each section of the text plan
folded in its own `<details>`.

GitHub refuses a comment longer than 65,536 characters, and a large plan (thousands of
changes and unmanaged keys) is several times that. So the sections share a budget: a
section smaller than its share is shown whole, the others show their first entries and say
how many were left out, and a note under the summary says where the whole plan is (the saved
plan file, or the JSON plan). The output depends on the plan alone: the same plan gives the
same comment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from infobip_iac.domain.plan import Action, Plan
from infobip_iac.render.text import TextSection, summary_line, text_sections

__all__ = ["COMMENT_LIMIT", "MARKDOWN_BUDGET", "render_markdown"]

COMMENT_LIMIT = 65_536  # GitHub's limit on an issue or pull-request comment, in characters
# What the markdown may use: the rest is left to what a workflow puts around it (a sticky
# comment's marker, a heading naming the job).
MARKDOWN_BUDGET = 60_000

# Keys named in the revoke warning at the top; the rest are counted (all are under Actions).
_NAMED_REVOKES = 20
_NAME_CHARS = 80
# Room kept for each section's "… N more left out" line and for the note under the summary.
_SECTION_RESERVE = 160
_NOTE_RESERVE = 600

_BACKTICKS = re.compile(r"`+")

DEFAULT_FULL_PLAN = (
    "the saved plan file (`infobip-iac plan --out FILE`, then `infobip-iac show FILE`) "
    "or the JSON plan (`infobip-iac plan --format json`)"
)


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks inside `text`, so a key name cannot
    close it early."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(3, longest + 1)


def _code(text: str) -> str:
    if len(text) > _NAME_CHARS:
        text = text[: _NAME_CHARS - 1] + "…"
    return f"`{text}`" if "`" not in text else f"`` {text} ``"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _header(plan: Plan) -> list[str]:
    lines = [f"**{summary_line(plan)}**", ""]
    revokes = plan.revokes()
    if revokes:
        named = ", ".join(
            _code(c.address) + (" (replaced by a new key)" if c.action is Action.REPLACE else "")
            for c in revokes[:_NAMED_REVOKES]
        )
        if len(revokes) > _NAMED_REVOKES:
            named += f" and {len(revokes) - _NAMED_REVOKES:,} more (all are under Actions)"
        lines += [
            "> [!WARNING]",
            f"> This plan revokes {_plural(len(revokes), 'key')}: {named}. Infobip keys cannot "
            "be deleted: a revoked key is disabled, and whatever still uses it stops working.",
            "",
        ]
    over = {a: n for a, n in plan.writes_by_account().items() if n > plan.writes_allowed(a)}
    if over:
        account, busiest = max(over.items(), key=lambda item: item[1])
        left = plan.writes_allowed(account)
        today = f", and {left} are left today" if left < plan.write_limit else ""
        lines += [
            "> [!CAUTION]",
            f"> This plan needs {busiest:,} Infobip writes in one account; Infobip allows "
            f"{plan.write_limit} per account and day{today}.",
            "",
        ]
    counts = []
    if plan.drift:
        verb = "has" if len(plan.drift) == 1 else "have"
        counts.append(
            f"{_plural(len(plan.drift), 'managed key')} {verb} changed outside of infobip-iac"
        )
    if plan.unmanaged:
        counts.append(f"{_plural(len(plan.unmanaged), 'unmanaged key')} found")
    warnings = len(plan.validation_warnings) + len(plan.warnings)
    if warnings:
        counts.append(_plural(warnings, "warning"))
    if plan.attribution_unavailable:
        counts.append(f"who changed them is unavailable: {plan.attribution_unavailable}")
    if counts:
        lines += ["; ".join(counts) + ".", ""]
    return lines


def _allowances(sizes: Sequence[int], budget: int) -> list[int]:
    """Each section's share of `budget`: sections that fit in an equal share get what they
    need, and what they leave is shared among the others (water-filling)."""
    allowance = [0] * len(sizes)
    remaining = max(budget, 0)
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))
    for position, index in enumerate(order):
        share = remaining // (len(order) - position)
        allowance[index] = min(sizes[index], share)
        remaining -= allowance[index]
    return allowance


def _section(section: TextSection, allowance: int) -> tuple[str, int]:
    """The folded section within `allowance` characters of entries, and how many of its
    entries were left out."""
    shown: list[str] = []
    used = 0
    for entry in section.entries:
        if used + len(entry) > allowance:
            break
        shown.append(entry)
        used += len(entry)
    left_out = len(section.entries) - len(shown)
    body = section.lead + "\n".join(entry.rstrip("\n") for entry in shown)
    if shown and (section.tail and not left_out):
        body += "\n\n" + section.tail
    body = body.rstrip("\n")
    fence = _fence(body)
    total = len(section.entries)
    title = f"{section.title} ({_plural(total, section.noun)})"
    lines = [f"<details><summary>{title}</summary>", ""]
    if body:
        lines += [f"{fence}text", body, fence, ""]
    if left_out:
        lines += [
            f"_{_plural(left_out, section.noun)} of {total:,} left out here to fit GitHub's "
            "comment limit; see the full plan._",
            "",
        ]
    lines.append("</details>")
    return "\n".join(lines), left_out


def render_markdown(plan: Plan, *, full_plan: str | None = None) -> str:
    """The comment, at most MARKDOWN_BUDGET characters. `full_plan` says where the whole
    plan is (e.g. "the plan file `changes.plan`"), for the note shown when something had to
    be left out."""
    header = _header(plan)
    # Warnings before the rest: a reviewer should not have to unfold thousands of changes
    # to find that the plan cannot be applied here or that a date is suspicious.
    sections = sorted(text_sections(plan), key=lambda section: section.title != "Warnings")
    if not sections:
        return "\n".join(header).rstrip("\n") + "\n"
    fixed = len("\n".join(header)) + _NOTE_RESERVE + len(full_plan or DEFAULT_FULL_PLAN)
    fixed += sum(len(s.title) + len(s.lead) + len(s.tail) + _SECTION_RESERVE for s in sections)
    # Entries are joined by one newline each, which the sizes count too.
    sizes = [sum(len(entry) for entry in s.entries) for s in sections]
    allowances = _allowances(sizes, MARKDOWN_BUDGET - fixed)
    folded: list[str] = []
    omitted: list[str] = []
    for section, allowance in zip(sections, allowances, strict=True):
        text, left_out = _section(section, allowance)
        folded.append(text)
        if left_out:
            omitted.append(f"{left_out:,} of {_plural(len(section.entries), section.noun)}")
    lines = list(header)
    if omitted:
        lines += [
            "> [!NOTE]",
            "> This comment is shortened to fit GitHub's comment limit: it leaves out "
            + "; ".join(omitted)
            + f". The whole plan is in {full_plan or DEFAULT_FULL_PLAN}.",
            "",
        ]
    lines.append("\n\n".join(folded))
    return "\n".join(lines) + "\n"
