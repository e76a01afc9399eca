"""`infobip-iac state list|show|rm|mv` and `force-unlock`, run through main()."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from infobip_iac.cli.main import main
from infobip_iac.logs import configure_logging
from infobip_iac.state.lock import LockInfo, StateLock
from infobip_iac.state.model import ResourceState, SecretRecord, StateDocument
from infobip_iac.state.store import StateStore


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    path = tmp_path / ".infobip-iac" / "state.json"
    doc = StateDocument()
    doc.resources["api_keys.ci-sms"] = ResourceState(
        id="573711510E1C002E29679B12C7CB48AE",
        account="_",
        account_id="8F0792F86035A9F4290821F1EE6BC06A",
        name="CI SMS sender",
        attributes={
            "name": "CI SMS sender",
            "scopes": ["sms:logs:read", "sms:message:send"],
            "allowed_ips": ["198.51.100.7/32"],
            "enabled": True,
        },
        prevent_revoke=True,
        secret=SecretRecord(
            sink="file",
            status="delivered",
            location="secrets/api_keys.ci-sms.env",
            files_written=["secrets/api_keys.ci-sms.env"],
        ),
    )
    doc.resources["api_keys.billing"] = ResourceState(
        id="0C2E5A5C4C0B4C8C9B7F5C3B7E2D1A90",
        account="_",
        name="billing",
        secret=SecretRecord(sink="exec", status="lost", location="vault", detail="exit 2"),
    )
    StateStore(path).write(doc)
    return path


def run(*args: str) -> int:
    return main(list(args))


def test_list_prints_addresses_sorted_one_per_line(
    state_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("state", "list", "--state", str(state_file)) == 0

    assert capsys.readouterr().out == "api_keys.billing\napi_keys.ci-sms\n"


@pytest.mark.parametrize(
    "command",
    [
        ("list",),
        ("show", "api_keys.a"),
        ("rm", "api_keys.a"),
        ("mv", "api_keys.a", "api_keys.b"),
    ],
)
def test_every_state_command_says_when_there_is_no_state_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    missing = tmp_path / "nowhere" / "typo.json"

    assert run("state", *command, "--state", str(missing)) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    expected = f"there is no state at {missing}; pass --state with the right path or URL"
    assert expected in captured.err
    assert not missing.parent.exists()


def test_show_prints_the_resource_and_its_secret_status(
    state_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("state", "show", "api_keys.ci-sms", "--state", str(state_file)) == 0

    out = capsys.readouterr().out
    assert out.startswith("# api_keys.ci-sms\n")
    assert 'id             = "573711510E1C002E29679B12C7CB48AE"' in out
    assert 'account        = "_" (account id "8F0792F86035A9F4290821F1EE6BC06A")' in out
    assert 'name           = "CI SMS sender"' in out
    assert 'scopes         = ["sms:logs:read", "sms:message:send"]' in out
    assert "prevent_revoke = true" in out
    assert (
        "secret         = (sensitive value, delivered to file secrets/api_keys.ci-sms.env)" in out
    )


def test_show_marks_a_lost_secret_loudly(
    state_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("state", "show", "api_keys.billing", "--state", str(state_file)) == 0

    out = capsys.readouterr().out
    assert "LOST, not delivered to exec vault: exit 2" in out
    assert "offers to replace the key" in out


@pytest.mark.parametrize("command", [["show"], ["rm"], ["mv"]])
def test_an_unknown_address_exits_1_with_a_suggestion(
    state_file: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    extra = ["api_keys.new"] if command == ["mv"] else []
    before = state_file.read_bytes()

    code = run("state", *command, "api_keys.ci-sm", *extra, "--state", str(state_file))

    assert code == 1
    assert 'did you mean "api_keys.ci-sms"?' in capsys.readouterr().err
    assert state_file.read_bytes() == before


def test_an_address_with_no_close_match_points_at_state_list(
    state_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("state", "show", "api_keys.zzzzzzzzzz", "--state", str(state_file)) == 1

    assert "`infobip-iac state list`" in capsys.readouterr().err


def test_rm_forgets_the_key_and_keeps_a_backup(
    state_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("state", "rm", "api_keys.billing", "--state", str(state_file)) == 0

    doc = StateStore(state_file).read()
    assert set(doc.resources) == {"api_keys.ci-sms"}
    assert doc.serial == 2
    backup = StateStore(state_file.with_name("state.json.backup")).read()
    assert "api_keys.billing" in backup.resources
    assert "its Infobip key was not changed" in capsys.readouterr().out
    assert StateLock(state_file).holder() is None


def test_rm_of_several_addresses_removes_none_when_one_is_unknown(state_file: Path) -> None:
    assert run("state", "rm", "api_keys.billing", "api_keys.nope", "--state", str(state_file)) == 1

    assert len(StateStore(state_file).read().resources) == 2


def test_mv_renames_and_keeps_everything_else(
    state_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = StateStore(state_file).read().resources["api_keys.ci-sms"]

    assert run("state", "mv", "api_keys.ci-sms", "api_keys.sms", "--state", str(state_file)) == 0

    doc = StateStore(state_file).read()
    assert set(doc.resources) == {"api_keys.billing", "api_keys.sms"}
    assert doc.resources["api_keys.sms"] == before
    assert capsys.readouterr().out == "Moved api_keys.ci-sms to api_keys.sms.\n"


def test_mv_onto_a_taken_address_is_refused(
    state_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("state", "mv", "api_keys.ci-sms", "api_keys.billing", "--state", str(state_file))

    assert code == 1
    assert '"api_keys.billing" is already in the state' in capsys.readouterr().err
    assert len(StateStore(state_file).read().resources) == 2


@pytest.mark.parametrize("target", ["ci-sms2", "api_keys.Upper", "api_keys.", "other.x"])
def test_mv_to_something_that_is_not_an_address_is_refused(
    state_file: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    assert run("state", "mv", "api_keys.ci-sms", target, "--state", str(state_file)) == 1

    assert "is not a key address" in capsys.readouterr().err


def test_rm_while_another_run_holds_the_lock_names_the_holder(
    state_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = LockInfo.new("apply")
    lock = StateLock(state_file)
    lock.acquire(holder, timeout=0)
    try:
        code = run("state", "rm", "api_keys.billing", "--state", str(state_file))
    finally:
        lock.release(holder.id)

    assert code == 1
    err = capsys.readouterr().err
    assert '"apply"' in err
    assert f"infobip-iac force-unlock {holder.id}" in err
    assert len(StateStore(state_file).read().resources) == 2


def _abandoned_lock(state_file: Path, *, host: str = "runner-7") -> LockInfo:
    """A lock file whose flock nobody holds, left by a run on `host` (another host by
    default: whether its holder still runs cannot be told from here)."""
    mine = LockInfo.new("apply")
    info = LockInfo(
        id=mine.id,
        who=f"ci@{host}",
        operation="apply",
        created=mine.created,
        pid=_ended_pid(),
        host=host,
    )
    StateLock(state_file).info_path.write_text(info.to_json())
    return info


def _ended_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


class _Terminal(io.StringIO):
    """Typed answers on a stdin that looks like a terminal."""

    def isatty(self) -> bool:
        return True


def test_force_unlock_breaks_a_lock_from_another_host_given_its_id_and_force(
    state_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = _abandoned_lock(state_file)

    assert run("force-unlock", "not-the-id", "-force", "--state", str(state_file)) == 1
    assert "is not the id of the lock" in capsys.readouterr().err
    assert StateLock(state_file).holder() == stale

    assert run("force-unlock", stale.id, "-force", "--state", str(state_file)) == 0
    assert f"Lock {stale.id} on {state_file} is broken" in capsys.readouterr().out
    assert StateLock(state_file).holder() is None
    assert run("state", "rm", "api_keys.billing", "--state", str(state_file)) == 0


def test_force_unlock_without_force_refuses_without_a_terminal(
    state_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = _abandoned_lock(state_file)
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))  # piped, not a terminal

    assert run("force-unlock", stale.id, "--state", str(state_file)) == 1

    assert "Pass -force" in capsys.readouterr().err
    assert StateLock(state_file).holder() == stale


@pytest.mark.parametrize(("typed", "broken"), [("yes", True), ("y", False), ("", False)])
def test_force_unlock_asks_and_takes_only_yes(
    state_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    typed: str,
    broken: bool,
) -> None:
    stale = _abandoned_lock(state_file)
    monkeypatch.setattr("sys.stdin", _Terminal(f"{typed}\n"))

    code = run("force-unlock", stale.id, "--state", str(state_file))

    out, err = capsys.readouterr()
    assert "Do you really want to force-unlock?" in out
    assert "Only 'yes' will be accepted to confirm." in out
    assert stale.describe() in out
    if broken:
        assert code == 0 and StateLock(state_file).holder() is None
    else:
        assert code == 1 and "force-unlock cancelled" in err
        assert StateLock(state_file).holder() == stale


def test_a_lock_from_another_host_blocks_state_changes_until_broken(
    state_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = _abandoned_lock(state_file)

    assert run("state", "mv", "api_keys.billing", "api_keys.b", "--state", str(state_file)) == 1

    err = capsys.readouterr().err
    assert "another host" in err
    assert f"infobip-iac force-unlock {stale.id}" in err


def test_a_lock_left_by_a_dead_process_on_this_host_is_taken_over(
    state_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("warning")
    dead = _abandoned_lock(state_file, host=socket.gethostname())

    assert run("state", "mv", "api_keys.billing", "api_keys.b", "--state", str(state_file)) == 0

    err = capsys.readouterr().err
    assert f"took over the state lock of {state_file} left by {dead.describe()}" in err
    assert "api_keys.b" in StateStore(state_file).read().resources
    assert StateLock(state_file).holder() is None


def test_a_terraform_state_is_named_and_not_blamed_on_infobip_iac(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    terraform = tmp_path / "tf.json"
    terraform.write_text(
        '{"version": 4, "terraform_version": "1.5.0", "serial": 3, "lineage": "abc", '
        '"outputs": {}, "resources": []}'
    )

    assert run("state", "list", "--state", str(terraform)) == 1

    err = capsys.readouterr().err
    assert f"the state file {terraform} is not an infobip-iac state: Terraform 1.5.0" in err
    assert "newer" not in err and "Traceback" not in err
