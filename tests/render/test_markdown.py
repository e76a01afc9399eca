"""The markdown plan for pull-request comments: summary first, sections folded, and never
longer than GitHub accepts."""

from __future__ import annotations

import re
from dataclasses import replace

from builders import config, desired, large_plan, live, live_map, matching, plan, record, state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infobip_iac.domain.plan import Plan
from infobip_iac.render.markdown import COMMENT_LIMIT, MARKDOWN_BUDGET, render_markdown
from infobip_iac.render.text import render_text, text_sections


def test_summary_first_then_a_warning_then_the_plan(busy_plan: Plan) -> None:
    lines = render_markdown(busy_plan).splitlines()

    assert lines[0] == (
        "**Plan: 2 to import, 2 to add, 3 to change, 4 to revoke. "
        "Infobip writes: 9 of 40 allowed per day.**"
    )
    warning = lines.index("> [!WARNING]")
    # The same 4 revokes as the summary: the replaced key's old key is revoked too.
    assert lines[warning + 1].startswith(
        "> This plan revokes 4 keys: `api_keys.old-batch`, `api_keys.paused`, "
        "`api_keys.rotated` (replaced by a new key), `unmanaged._.U1`."
    )
    assert (
        lines.index("<details><summary>Changed outside infobip-iac (1 drifted key)</summary>")
        > warning
    )
    assert lines[-1] == "</details>"


def test_a_plan_that_fits_is_shown_whole_section_by_section(busy_plan: Plan) -> None:
    markdown = render_markdown(busy_plan)

    assert "[!NOTE]" not in markdown and "left out" not in markdown
    for section in text_sections(busy_plan):
        assert f"<details><summary>{section.title} (" in markdown
        for entry in section.entries:
            assert entry.rstrip("\n") in markdown
    # Everything the text plan says about keys is in the comment.
    for line in render_text(busy_plan).splitlines():
        if line.startswith(("  #", "  +", "  ~", "  -", "- ")):
            assert line in markdown


def test_validation_warnings_are_included_before_the_changes(busy_plan: Plan) -> None:
    warned = replace(busy_plan, warnings=("manifest.yaml:3:5: W101 valid_to lies in the past",))

    markdown = render_markdown(warned)

    assert "Warning: manifest.yaml:3:5: W101 valid_to lies in the past" in markdown
    assert "1 warning." in markdown.split("<details>", 1)[0]
    assert markdown.index("<summary>Warnings (1 warning)") < markdown.index("<summary>Actions")


def test_no_warning_without_revokes(update_plan: Plan) -> None:
    markdown = render_markdown(update_plan)

    assert "[!WARNING]" not in markdown
    assert markdown.startswith("**Plan: 0 to add, 1 to change, 0 to revoke.")


def test_no_changes(quiet_plan: Plan) -> None:
    assert render_markdown(quiet_plan).startswith(
        "**No changes. Live Infobip state matches the configuration.**"
    )


def test_a_key_name_cannot_close_the_code_fence() -> None:
    made = plan(config(unmanaged_keys="report"), state(), live_map(live("U1", "```\n# pwned")))

    markdown = render_markdown(made)

    assert "````text" in markdown
    assert markdown.rstrip().endswith("````\n\n</details>".rstrip())


def test_over_the_write_limit_is_a_caution(update_plan: Plan) -> None:
    markdown = render_markdown(replace(update_plan, write_limit=0))

    assert "> [!CAUTION]" in markdown


def test_a_targeted_plan_says_what_it_left_out() -> None:
    key = desired("steady")
    steady = matching(key, "S1")
    made = plan(
        config(key, desired("fresh")),
        state({key.address: record(steady)}),
        live_map(steady),
        targets=["api_keys.steady"],
    )

    assert render_markdown(made).startswith(
        "**No changes to the targeted keys. 1 change outside the targets was left out; "
        "plan without --target to see it.**"
    )


_BLOCK = re.compile(r"^ *(\+|~|-|\+/-)? *api_key \"", re.MULTILINE)
_UNMANAGED_LINE = re.compile(r"^  - U\d+ ", re.MULTILINE)


def _assert_fits_and_accounts_for_everything(made: Plan, markdown: str) -> None:
    assert len(markdown) <= MARKDOWN_BUDGET < COMMENT_LIMIT
    assert markdown.splitlines()[0].startswith(("**Plan:", "**No changes", "**Refresh-only"))
    if made.revokes():
        assert markdown.index("> [!WARNING]") < markdown.index("<details>")
    actions = sum(1 for change in made.changes if change.has_effect)
    shown_blocks = len(_BLOCK.findall(markdown))
    shown_unmanaged = len(_UNMANAGED_LINE.findall(markdown))
    if shown_blocks == actions and shown_unmanaged == len(made.unmanaged):
        assert "[!NOTE]" not in markdown
        return
    note = markdown.split("> [!NOTE]\n", 1)[1].split("\n\n", 1)[0]
    assert "The whole plan is in" in note
    if shown_blocks < actions:
        assert f"{actions - shown_blocks:,} of {actions:,} change" in note
    if shown_unmanaged < len(made.unmanaged):
        assert (
            f"{len(made.unmanaged) - shown_unmanaged:,} of {len(made.unmanaged):,} unmanaged"
            in note
        )


def test_3000_changes_and_2700_unmanaged_keys_are_summarised_to_fit() -> None:
    made = large_plan(3000, 2700)
    assert len(render_text(made)) > 10 * COMMENT_LIMIT  # far too long to post whole

    markdown = render_markdown(made, full_plan="the plan file `changes.plan`")

    _assert_fits_and_accounts_for_everything(made, markdown)
    assert markdown.startswith(
        "**Plan: 1000 to add, 1000 to change, 1000 to revoke. "
        "Infobip writes: 3000 of 40 allowed per day.**\n\n> [!WARNING]\n"
        "> This plan revokes 1,000 keys: `api_keys.key-00002`, "
    )
    assert "and 980 more (all are under Actions)" in markdown
    assert "The whole plan is in the plan file `changes.plan`." in markdown
    # Both large sections show a good part of themselves, not one crowding out the other.
    assert len(_BLOCK.findall(markdown)) >= 50
    assert len(_UNMANAGED_LINE.findall(markdown)) >= 200
    assert markdown == render_markdown(made, full_plan="the plan file `changes.plan`")


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    changes=st.integers(min_value=0, max_value=2500),
    unmanaged=st.integers(min_value=0, max_value=2500),
    revoke_every=st.integers(min_value=1, max_value=4),
    warnings=st.lists(st.text(min_size=1, max_size=5000), max_size=30),
)
def test_any_plan_fits_in_a_comment(
    changes: int, unmanaged: int, revoke_every: int, warnings: list[str]
) -> None:
    made = large_plan(changes, unmanaged, revoke_every=revoke_every)
    made = replace(made, warnings=tuple(warnings))

    markdown = render_markdown(made)

    _assert_fits_and_accounts_for_everything(made, markdown)
    assert markdown == render_markdown(made)


def test_a_shortened_comment_names_the_saved_plan_file() -> None:
    from pathlib import Path

    from infobip_iac.cli.planning import render_plan

    markdown = render_plan(
        large_plan(600, 600), "markdown", color=False, saved_as=Path("changes.plan")
    )

    assert (
        "The whole plan is in the plan file `changes.plan` (`infobip-iac show changes.plan`)."
        in markdown
    )
