"""`infobip-iac apply` through main(): approval, guard rails before any write, saved-plan
rules, secrets on stdout only when asked, and the summary."""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from e2e.workspace import CREATE, Workspace, writes
from leakguard import LeakWatch

from infobip_iac.cli.apply_cmd import _summarize
from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.emulator import EmulatorServer
from infobip_iac.engine.apply import ApplyResult
from infobip_iac.planfile import read_plan_file, write_plan_file
from infobip_iac.state.lock import locked

TWO_KEYS = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
    api_keys:
      reports:
        scopes: [sms:logs:read]
      sender:
        scopes: [sms:message:send]
"""


class _Terminal(io.StringIO):
    """Typed answers on a stdin that looks like a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def ws(
    tmp_path: Path,
    emulator: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    workspace = Workspace.open(tmp_path, emulator, capsys, monkeypatch)
    workspace.write(TWO_KEYS)
    return workspace


def test_without_a_terminal_apply_needs_auto_approve(ws: Workspace) -> None:
    with ws.counting() as counts:
        outcome = ws.run("apply", str(ws.manifests))
    assert outcome.code == 1
    assert "--auto-approve" in outcome.err and "plan --out" in outcome.err
    assert counts == {}  # refused before reading anything


def test_yes_on_a_terminal_applies(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal("yes\n"))
    outcome = ws.run("apply", str(ws.manifests))
    assert outcome.code == 0, outcome
    assert "Only 'yes' will be accepted" in outcome.out
    assert "Apply complete! Keys: 2 created, 0 updated, 0 revoked; 2 Infobip writes." in outcome.out
    assert sorted(ws.live()) == ["reports", "sender"]


def test_anything_but_yes_cancels(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    with ws.counting() as counts:
        outcome = ws.run("apply", str(ws.manifests))
    assert outcome.code == 1
    assert "Apply cancelled." in outcome.err
    assert writes(counts) == 0
    assert not ws.state_path.exists()


def test_a_plan_without_changes_applies_nothing(ws: Workspace) -> None:
    assert ws.apply().code == 0
    with ws.counting() as counts:
        outcome = ws.apply()
    assert outcome.code == 0
    assert "No changes." in outcome.out and "Apply complete" not in outcome.out
    assert writes(counts) == 0


def test_more_writes_than_max_writes_are_refused_before_any(ws: Workspace) -> None:
    with ws.counting() as counts:
        outcome = ws.apply("--max-writes", "1")
    assert outcome.code == 1
    assert "--max-writes 1" in outcome.err
    assert writes(counts) == 0


def test_policy_max_revokes_needs_allow_revokes(ws: Workspace) -> None:
    assert ws.apply().code == 0
    ws.write("version: 1\npolicy:\n  max_revokes: 1\napi_keys: {}\n")
    refused = ws.apply()
    assert refused.code == 1 and "--allow-revokes" in refused.err
    planfile = ws.root / "revoke.plan"
    assert ws.plan("--out", str(planfile)).code == 0
    assert ws.run("apply", str(planfile)).code == 1  # the saved plan keeps the guard rail
    allowed = ws.run("apply", str(planfile), "--allow-revokes")
    assert allowed.code == 0, allowed
    assert {key.enabled for key in ws.live().values()} == {False}


def test_a_stdout_sink_prints_the_secret_only_with_show_secrets(ws: Workspace) -> None:
    ws.write(
        """
        version: 1
        api_keys:
          loud:
            scopes: [sms:logs:read]
            allowed_ips: [203.0.113.0/24]
            secret: {sink: stdout}
        """
    )
    refused = ws.apply()
    assert refused.code == 1 and "--show-secrets" in refused.err
    assert ws.live() == {}

    shown = ws.apply("--show-secrets")

    assert shown.code == 0, shown
    (secret,) = ws.emulator.control.secrets()
    assert f"api_keys.loud: {secret}" in shown.out
    assert secret not in shown.err and secret not in ws.state_path.read_text()


def test_a_saved_plan_cannot_be_reshaped(ws: Workspace) -> None:
    planfile = ws.root / "saved.plan"
    assert ws.plan("--out", str(planfile)).code == 0
    outcome = ws.run("apply", str(planfile), "--target", "api_keys.sender")
    assert outcome.code == 1 and "plan --out" in outcome.err


def test_a_file_that_is_not_a_plan_is_refused(ws: Workspace) -> None:
    notes = ws.root / "notes.txt"
    notes.write_text("not a plan\n")
    outcome = ws.run("apply", str(notes))
    assert outcome.code == 1
    assert "not a saved plan" in outcome.err and "Traceback" not in outcome.err


def test_a_locked_state_is_not_applied(ws: Workspace) -> None:
    with locked(ws.state_path, "plan"), ws.counting() as counts:
        outcome = ws.apply("--lock-timeout", "0")
    assert outcome.code == 1
    assert "locked by" in outcome.err and "force-unlock" in outcome.err
    assert counts == {}


def test_a_tampered_plan_is_reported_before_missing_credentials(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    planfile = ws.root / "saved.plan"
    assert ws.plan("--out", str(planfile)).code == 0
    planfile.write_text(planfile.read_text().replace("reports", "rep0rts"))
    for name in ("INFOBIP_BASE_URL", "INFOBIP_USERNAME", "INFOBIP_PASSWORD"):
        monkeypatch.delenv(name)
    outcome = ws.run("apply", str(planfile))
    assert outcome.code == 1
    assert f"{planfile} is corrupt or was edited" in outcome.err
    assert "credentials" not in outcome.err


@pytest.mark.parametrize("approve", [(), ("--auto-approve",)])
def test_a_saved_plan_among_manifests_is_refused(ws: Workspace, approve: tuple[str, ...]) -> None:
    planfile = ws.root / "saved.plan"
    assert ws.plan("--out", str(planfile)).code == 0
    with ws.counting() as counts:
        outcome = ws.run("apply", str(planfile), str(ws.manifests / "main.yaml"), *approve)
    assert outcome.code == 1
    assert f"{planfile} is a saved plan, and a saved plan is applied alone" in outcome.err
    assert "E202" not in outcome.err
    assert counts == {}


def test_a_saved_plan_is_known_by_its_content_whatever_its_name(ws: Workspace) -> None:
    planfile = ws.root / "saved.plan"
    assert ws.plan("--out", str(planfile)).code == 0
    renamed = planfile.rename(ws.root / "saved.yml")
    outcome = ws.run("apply", str(renamed))  # no prompt: a saved plan was reviewed
    assert outcome.code == 0, outcome
    assert sorted(ws.live()) == ["reports", "sender"]

    renamed.write_text(renamed.read_text().replace("sender", "s3nder"))
    outcome = ws.run("apply", str(renamed))
    assert outcome.code == 1
    assert f"{renamed} is corrupt or was edited" in outcome.err
    assert "E20" not in outcome.err  # not read as a manifest


def test_an_apply_left_only_with_an_unanswered_create_says_every_change_was_made(
    ws: Workspace,
) -> None:
    """Every step ran; the one thing left is a create whose first sending got no answer:
    the summary says so instead of calling the apply stopped, and exit stays 1."""
    ws.emulator.control.set_faults([{"operation": CREATE, "kind": "drop", "times": 1}])

    outcome = ws.apply()

    assert outcome.code == 1, outcome
    assert sorted(ws.live()) == ["reports", "sender"]
    assert "Apply stopped" not in outcome.err and "Apply complete" not in outcome.out
    assert "\nEvery change was made (saved in state): 2 created, 0 updated, 0 revoked" in (
        outcome.err
    )
    assert (
        "The outcome of the unanswered create of api_keys.reports is still unknown" in outcome.err
    )
    assert "Run apply again in a few minutes to settle it" in outcome.err


def test_an_apply_stopped_with_steps_left_is_still_called_stopped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The wording above is only for an apply whose steps all ran: one an error ended early
    says it stopped, even when a create of it is also unsettled."""
    result = ApplyResult(
        created=1,
        writes=2,
        unsettled_creates=["api_keys.a"],
        remaining=["create api_keys.b"],
        error="Infobip answered 500",
    )

    _summarize(result)

    err = capsys.readouterr().err
    assert "Apply stopped: Infobip answered 500" in err and "Every change was made" not in err
    assert "Left to do: create api_keys.b." in err


def test_imports_and_moves_count_in_the_plan_exit_code_and_the_summary(ws: Workspace) -> None:
    """A plan that only imports or only moves keys is a plan with changes (exit 2 with
    --detailed-exitcode), and the apply summary counts what it did instead of reading
    `0 created, 0 updated, 0 revoked` as if nothing happened."""
    (legacy_id,) = ws.seed(
        {
            "name": "legacy",
            "scopeGuids": ["sms:logs:read"],
            "allowedIPs": ["203.0.113.0/24"],
            "validTo": "2030-01-01T00:00:00Z",
        }
    )
    ws.write(
        f"""
        version: 1
        api_keys:
          legacy:
            scopes: [sms:logs:read]
            allowed_ips: [203.0.113.0/24]
            valid_to: 2030-01-01T00:00:00Z
        imports:
          - {{to: api_keys.legacy, id: {legacy_id}}}
        """
    )
    assert ws.plan("--detailed-exitcode").code == 2
    with ws.counting() as counts:
        imported = ws.apply()
    assert imported.code == 0, imported
    assert writes(counts) == 0
    summary = "Apply complete! Keys: 1 imported, 0 created, 0 updated, 0 revoked; 0 Infobip writes."
    assert summary in imported.out
    ws.assert_converged()

    ws.write(
        """
        version: 1
        api_keys:
          billing:
            name: legacy
            scopes: [sms:logs:read]
            allowed_ips: [203.0.113.0/24]
            valid_to: 2030-01-01T00:00:00Z
        moved:
          - {from: api_keys.legacy, to: api_keys.billing}
        """
    )
    assert ws.plan("--detailed-exitcode").code == 2
    moved = ws.apply()
    assert moved.code == 0, moved
    assert summary.replace("imported", "moved") in moved.out
    assert ws.state().resources["api_keys.billing"].id == legacy_id


@pytest.mark.parametrize(
    ("field", "value"),
    [("path", '"secrets/a\\0b.env"'), ("command", '["cat", "a\\0b"]')],
)
def test_a_nul_in_a_sink_is_refused_at_its_place_by_every_command(
    ws: Workspace, field: str, value: str
) -> None:
    sink = "file" if field == "path" else "exec"
    ws.write(
        "version: 1\n"
        "api_keys:\n"
        "  nul:\n"
        "    scopes: [sms:logs:read]\n"
        "    allowed_ips: [203.0.113.0/24]\n"
        f"    secret: {{sink: {sink}, {field}: {value}}}\n"
    )
    for command in (["validate"], ["plan"], ["apply", "--auto-approve"]):
        with ws.counting() as counts:
            outcome = ws.run(*command, str(ws.manifests))
        assert outcome.code == 1, (command, outcome)
        assert "main.yaml:6:" in outcome.out + outcome.err
        assert "NUL character" in outcome.out + outcome.err
        assert "Traceback" not in outcome.err and "embedded null" not in outcome.err
        assert writes(counts) == 0
    assert not ws.state_path.exists()


@pytest.mark.parametrize(
    ("sink", "nul"),
    [
        (SecretSinkSpec(sink="file", path="secrets/{address}.env"), {"path": "secrets/a\0b.env"}),
        (SecretSinkSpec(sink="exec", command=("cat",)), {"command": ("cat", "a\0b")}),
    ],
    ids=["file", "exec"],
)
def test_a_nul_in_a_saved_plans_sink_is_refused_before_any_write(
    ws: Workspace, sink: SecretSinkSpec, nul: dict[str, object]
) -> None:
    # A saved plan is read without its manifest, so validation's E209 never sees it; the
    # sink's own check before the create refuses it (the digest is recomputed here, as
    # whoever edited the plan could).
    planfile = ws.root / "saved.plan"
    assert ws.plan("--out", str(planfile)).code == 0
    plan = read_plan_file(planfile)
    edited = tuple(replace(change, secret_sink=replace(sink, **nul)) for change in plan.changes)
    write_plan_file(replace(plan, changes=edited), planfile)

    with ws.counting() as counts:
        outcome = ws.run("apply", str(planfile))
    assert outcome.code == 1, outcome
    assert "NUL character" in outcome.err and "Nothing was written to Infobip" in outcome.err
    assert "Traceback" not in outcome.err and "embedded null" not in outcome.err
    assert "\0" not in outcome.out + outcome.err
    assert writes(counts) == 0 and ws.live() == {}


FILE_SINK_KEY = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
      secret: {sink: file, path: "secrets/{address}.env"}
    api_keys:
      reports:
        scopes: [sms:logs:read]
"""


def _full_disk_for(monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    """Every write of `target` through the state store fails as on a full disk: the full
    version, and the small write of a step (its change log)."""
    from infobip_iac.state import store as store_module

    def failing_for(
        real: Callable[[Path, bytes], None], *paths: Path
    ) -> Callable[[Path, bytes], None]:
        def failing(path: Path, data: bytes) -> None:
            if Path(path).absolute() in paths:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            real(path, data)

        return failing

    changes = store_module.changes_path_for(target)
    monkeypatch.setattr(
        store_module, "write_atomically", failing_for(store_module.write_atomically, target)
    )
    monkeypatch.setattr(
        store_module, "append_durably", failing_for(store_module.append_durably, changes)
    )


def test_a_state_write_failing_after_a_create_names_the_key_its_secret_and_the_next_step(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write(FILE_SINK_KEY)
    with monkeypatch.context() as patched:
        _full_disk_for(patched, ws.state_path)
        failed = ws.apply()
    (key,) = ws.live().values()
    assert failed.code == 1, failed
    assert f"api_keys.reports was created at Infobip [id={key.id}]" in failed.err
    assert "No space left on device" in failed.err
    assert "Its secret was NOT delivered" in failed.err
    assert f"finds key {key.id} by its name 'reports', revokes it, and creates" in failed.err
    assert not (ws.manifests / "secrets" / "api_keys.reports.env").exists()
    assert not ws.state_path.exists()

    # What it said the next apply does is what the next apply does.
    again = ws.apply()
    assert again.code == 0, again
    with ws.client() as client:
        keys = client.list_keys("_").keys
    enabled = [k for k in keys if k.enabled]
    assert [k.id for k in keys if not k.enabled] == [key.id]
    assert len(enabled) == 1 and enabled[0].id != key.id
    written = (ws.manifests / "secrets" / "api_keys.reports.env").read_text()
    assert f"INFOBIP_API_KEY_ID={enabled[0].id}" in written
    ws.assert_converged()


def test_a_state_write_failing_after_a_delivery_says_the_secret_was_delivered(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write(FILE_SINK_KEY)
    from infobip_iac.engine import delivery as delivery_module

    real = delivery_module.deliver

    def deliver_then_fill_the_disk(*args: object, **kwargs: object) -> object:
        record = real(*args, **kwargs)  # type: ignore[arg-type]
        _full_disk_for(monkeypatch, ws.state_path)
        return record

    monkeypatch.setattr(delivery_module, "deliver", deliver_then_fill_the_disk)
    failed = ws.apply()
    monkeypatch.undo()
    (key,) = ws.live().values()
    secret_file = ws.manifests / "secrets" / "api_keys.reports.env"
    assert failed.code == 1, failed
    assert f"api_keys.reports was created [id={key.id}] and its secret delivered to " in failed.err
    assert str(secret_file) in failed.err
    assert "the next apply replaces the key" in failed.err
    assert f"INFOBIP_API_KEY_ID={key.id}" in secret_file.read_text()


def test_re_adding_a_removed_address_moves_its_old_secret_file_aside(
    ws: Workspace, leak_guard: LeakWatch
) -> None:
    ws.write(FILE_SINK_KEY)
    assert ws.apply().code == 0
    first = ws.live()["reports"]
    ws.write(FILE_SINK_KEY.replace("reports", "other"))
    removed = ws.apply()
    assert removed.code == 0, removed
    assert "api_keys.reports" not in ws.state().resources
    secret_file = ws.manifests / "secrets" / "api_keys.reports.env"
    assert f"INFOBIP_API_KEY_ID={first.id}" in secret_file.read_text()  # left behind

    ws.write(FILE_SINK_KEY)
    assert ws.plan_json()["warnings"] == []
    readded = ws.apply()

    assert readded.code == 0, readded
    aside = secret_file.with_name(f"api_keys.reports.replaced-{first.id}.env")
    assert f"moved it to {aside}" in readded.err
    assert f"INFOBIP_API_KEY_ID={first.id}" in aside.read_text()
    leak_guard.allow(aside)  # the sink's own file, moved aside by the sink
    new_id = ws.state().resources["api_keys.reports"].id
    assert new_id != first.id
    assert f"INFOBIP_API_KEY_ID={new_id}" in secret_file.read_text()
