"""The text plan: Terraform's layout as SPEC §4 illustrates it."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from builders import config, desired, live, live_map, matching, plan, record, state

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.plan import Plan
from infobip_iac.render.json import render_json
from infobip_iac.render.markdown import render_markdown
from infobip_iac.render.text import NO_CHANGES, render_text

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def block(text: str, heading: str) -> list[str]:
    """The lines from `  # <heading>` to the block's closing brace."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  # {heading}"))
    end = next(i for i in range(start, len(lines)) if lines[i] == "    }")
    return lines[start : end + 1]


def test_create_block(busy_plan: Plan) -> None:
    assert block(render_text(busy_plan), "api_keys.ci-sms") == [
        "  # api_keys.ci-sms will be created",
        '  + api_key "ci-sms" {',
        '      + name        = "CI SMS sender"',
        '      + scopes      = ["sms:logs:read", "sms:message:send"]',
        '      + permissions = ["PUBLIC_API"]',
        '      + allowed_ips = ["198.51.100.7/32"]',
        "      + valid_from  = (known after apply)",
        '      + valid_to    = "2027-05-24T12:00:00Z"',
        "      + enabled     = true",
        "      + id          = (known after apply)",
        "      + secret      = (sensitive value, to file secrets/ci-sms.env)",
        "    }",
    ]


def test_update_block_folds_unchanged_elements(busy_plan: Plan) -> None:
    assert block(render_text(busy_plan), "api_keys.billing") == [
        "  # api_keys.billing will be updated in-place",
        '  ~ api_key "billing" {',
        '        id     = "573711510E1C002E29679B12C7CB48AE"',
        "      ~ scopes = [",
        '          - "account-management:manage",',
        '          + "sms:logs:read",',
        "            # (2 unchanged elements hidden)",
        "        ]",
        "    }",
    ]


def test_revoke_block_says_infobip_cannot_delete(busy_plan: Plan) -> None:
    assert block(render_text(busy_plan), "api_keys.old-batch") == [
        "  # api_keys.old-batch will be revoked (Infobip keys cannot be deleted; it is disabled)",
        "  # (because it is no longer in the configuration)",
        '  - api_key "old-batch" {',
        "      ~ enabled = true -> false",
        "    }",
    ]


def test_replace_block(busy_plan: Plan) -> None:
    lines = block(render_text(busy_plan), "api_keys.rotated")

    assert (
        lines[0]
        == "  # api_keys.rotated must be replaced (a new key first, then this one is revoked)"
    )
    assert lines[1] == "  # (because a replacement was requested)"
    assert lines[2] == '+/- api_key "rotated" {'
    assert '      ~ id         = "R1" -> (known after apply)' in lines
    assert "      + secret     = (sensitive value, not kept: no secret sink)" in lines


def test_adoption_import_move_and_forget_lines(busy_plan: Plan) -> None:
    text = render_text(busy_plan)

    assert block(text, "api_keys.adopted")[:2] == [
        "  # api_keys.adopted will be adopted by name",
        '    api_key "adopted" {',
    ]
    assert block(text, "api_keys.imported")[:4] == [
        "  # api_keys.imported will be updated in-place",
        '  # (imported from "I1")',
        '  ~ api_key "imported" {',
        '        id   = "I1"',
    ]
    assert block(text, "api_keys.old-home has moved")[0] == (
        "  # api_keys.old-home has moved to api_keys.new-home"
    )
    assert block(text, "api_keys.forgotten")[:2] == [
        "  # api_keys.forgotten will be removed from state",
        "  # (it is no longer in the configuration, and its key is already disabled on Infobip)",
    ]


def test_drift_and_unmanaged_sections(busy_plan: Plan) -> None:
    text = render_text(busy_plan)

    assert "Note: Keys have changed outside of infobip-iac" in text
    drift = block(text, "api_keys.drifted has changed")
    assert '          + "0.0.0.0/0",' in drift
    assert text.index("has changed") < text.index("will perform the following actions")
    assert (
        '  - U1 "stranger" in the main account: will be revoked by this plan' in text.splitlines()
    )
    assert text.index("Unmanaged keys:") < text.index("Plan:")


def test_summary_line_counts_replaces_as_add_and_revoke(busy_plan: Plan) -> None:
    last = render_text(busy_plan).splitlines()[-1]

    assert last == (
        "Plan: 2 to import, 2 to add, 3 to change, 4 to revoke. "
        "Infobip writes: 9 of 40 allowed per day."
    )


def test_no_changes(quiet_plan: Plan) -> None:
    text = render_text(quiet_plan)

    assert text.splitlines()[-1] == NO_CHANGES
    assert "will perform the following actions" not in text
    assert '  - U9 "someone\'s key" in the main account: reported' in text.splitlines()


def _targeted(*others: str) -> Plan:
    """`--target api_keys.steady` (in sync) in a configuration that also declares `others`,
    none of them created yet."""
    key = desired("steady")
    steady = matching(key, "S1")
    return plan(
        config(key, *(desired(other) for other in others)),
        state({key.address: record(steady)}),
        live_map(steady),
        targets=["api_keys.steady"],
    )


def test_a_targeted_plan_does_not_claim_everything_matches() -> None:
    text = render_text(_targeted("fresh", "newer"))

    assert NO_CHANGES not in text
    assert text.splitlines()[-1] == (
        "No changes to the targeted keys. 2 changes outside the targets were left out; "
        "plan without --target to see them."
    )
    assert "Warning: resource targeting is in effect: 2 changes" in text


def test_a_targeted_plan_with_nothing_left_out() -> None:
    text = render_text(_targeted())

    assert text.splitlines()[-1] == "No changes. The targeted keys match the configuration."


def test_colour_only_when_asked(busy_plan: Plan) -> None:
    plain = render_text(busy_plan)
    coloured = render_text(busy_plan, color=True)

    assert "\x1b[" not in plain
    assert "\x1b[32m+\x1b[0m" in coloured  # green +
    assert "\x1b[33m~\x1b[0m" in coloured  # yellow ~
    assert "\x1b[31m-\x1b[0m" in coloured  # red -
    assert ANSI.sub("", coloured) == plain


def test_more_writes_than_allowed_warns(update_plan: Plan) -> None:
    tight = replace(update_plan, write_limit=0)

    text = render_text(tight)

    assert "Infobip writes: 1 of 0 allowed per day." in text
    assert "Warning: this plan needs 1 Infobip writes, more than the 0 Infobip allows" in text


def test_writes_left_today_bound_the_plan(update_plan: Plan) -> None:
    account = update_plan.changes[0].account
    spent = replace(update_plan, writes_left={account: 0})

    text = render_text(spent)

    assert "Infobip writes: 1 of the 0 left today (40 a day)." in text
    assert "more than the 0 left today of the 40 Infobip allows per account and day" in text
    assert "CAUTION" in render_markdown(spent) and "0 are left today" in render_markdown(spent)
    assert json.loads(render_json(spent))["api_writes"]["left_today"] == {account: 0}
    assert "Warning" not in render_text(update_plan)


def test_names_from_infobip_cannot_drive_the_terminal() -> None:
    hostile = live("U1", "evil\x1b[2J\x1b]0;title\x07")
    made = plan(config(unmanaged_keys="report"), state(), live_map(hostile))

    text = render_text(made)

    assert "\x1b" not in text and "\x07" not in text
    assert '"evil\\u001b[2J\\u001b]0;title\\u0007"' in text


def test_refresh_only_plan_explains_itself() -> None:
    key = desired("steady")
    written = matching(key, "S1")
    renamed = replace(written, name="renamed outside")
    made = plan(
        config(key),
        state({key.address: record(written)}),
        live_map(renamed),
        refresh_only=True,
    )

    text = render_text(made)

    assert "This is a refresh-only plan" in text
    assert "  # (a refresh-only plan records it in state)" in text
    assert text.splitlines()[-1] == (
        "Refresh-only plan: 1 key to record in state; no key is written."
    )


def test_the_text_ends_with_one_newline(update_plan: Plan) -> None:
    text = render_text(update_plan)

    assert text.endswith(".\n") and not text.endswith("\n\n")


def test_file_sink_shows_the_path_apply_will_write() -> None:
    """Placeholders known at plan time are filled as the file sink fills them, relative to
    the declaring manifest's folder; the id is known only after creation."""
    sink = SecretSinkSpec(sink="file", path="secrets/{address}-{id}.env", base_dir="teams")
    created = desired("ci-sms", name="CI SMS", secret=sink)
    text = render_text(plan(config(created), state(), live_map()))
    assert (
        "+ secret      = (sensitive value, to file teams/secrets/api_keys.ci-sms-{id}.env)" in text
    )
