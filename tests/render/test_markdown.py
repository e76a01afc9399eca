"""The markdown plan for pull-request comments."""

from __future__ import annotations

from engine.builders import config, desired, live, live_map, matching, plan, record, state

from infobip_iac.domain.plan import Plan
from infobip_iac.render.markdown import render_markdown
from infobip_iac.render.text import render_text


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
    assert lines.index("<details><summary>Full plan</summary>") > warning
    assert lines[-1] == "</details>"


def test_the_full_text_plan_is_inside_the_details(busy_plan: Plan) -> None:
    markdown = render_markdown(busy_plan)

    body = markdown.split("```text\n", 1)[1].rsplit("\n```", 1)[0]
    assert body == render_text(busy_plan).strip("\n")


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
    markdown = render_markdown(update_plan.model_copy(update={"write_limit": 0}))

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
