"""The exec sink: no shell, the secret on stdin only, failures reported without it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.secret import Secret
from infobip_iac.errors import SecretSinkError
from infobip_iac.secrets.exec_sink import _STDERR_KEPT_BYTES
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.redact import MAX_DETAIL_CHARS, MIN_FRAGMENT_CHARS, REDACTED
from infobip_iac.secrets.sinks import deliver


def exec_spec(*command: str) -> SecretSinkSpec:
    return SecretSinkSpec(sink="exec", command=command)


def run(spec: SecretSinkSpec, secret: Secret, meta: KeyMeta, timeout: float = 30) -> str:
    """Deliver and return the failure message (the test expects a failure)."""
    with pytest.raises(SecretSinkError) as caught:
        deliver(spec, secret, meta, show_secrets=False, timeout=timeout)
    return str(caught.value)


def test_the_command_gets_the_secret_on_stdin_and_only_there(
    tmp_path: Path,
    recorder: tuple[str, ...],
    secret: Secret,
    secret_value: str,
    meta: KeyMeta,
) -> None:
    out = tmp_path / "received.json"

    record = deliver(
        exec_spec(*recorder, str(out), "$(touch pwned)"), secret, meta, show_secrets=False
    )

    received = json.loads(out.read_text())
    assert received["stdin"] == secret_value  # exactly: no newline added
    assert all(secret_value not in arg for arg in received["argv"])
    assert all(secret_value not in value for value in received["env"].values())
    assert received["env"]["INFOBIP_KEY_ADDRESS"] == meta.address
    assert received["env"]["INFOBIP_KEY_ID"] == meta.key_id
    assert received["env"]["INFOBIP_KEY_NAME"] == meta.name
    assert received["env"]["INFOBIP_ACCOUNT"] == meta.account
    # No shell: the argument arrives literally and nothing was expanded or run.
    assert received["argv"][-1] == "$(touch pwned)"
    assert not (tmp_path / "pwned").exists()
    assert (record.sink, record.status, record.location) == ("exec", "delivered", recorder[0])
    assert record.files_written == []


def test_a_failing_command_reports_its_status_and_stderr_without_the_secret(
    python_command: tuple[str, ...], secret: Secret, secret_value: str, meta: KeyMeta
) -> None:
    echo_and_fail = (
        "import sys; s = sys.stdin.read(); "
        "sys.stderr.write('vault: permission denied for value ' + s + '\\n'); sys.exit(3)"
    )

    message = run(exec_spec(*python_command, echo_and_fail), secret, meta)

    assert "exited with status 3" in message
    assert "vault: permission denied for value ***" in message
    assert secret_value not in message


def test_long_stderr_is_cut(python_command: tuple[str, ...], secret: Secret, meta: KeyMeta) -> None:
    chatty = "import sys; sys.stderr.write('e' * 100000); sys.exit(1)"

    message = run(exec_spec(*python_command, chatty), secret, meta)

    assert len(message) < MAX_DETAIL_CHARS + 500
    assert "more characters" in message


def test_a_missing_program_is_named(secret: Secret, meta: KeyMeta) -> None:
    message = run(exec_spec("no-such-program-infobip-iac-test", "put"), secret, meta)

    assert 'the secret command "no-such-program-infobip-iac-test" was not found' in message
    assert "without a shell" in message


def test_a_command_that_hangs_is_stopped_at_the_timeout(
    python_command: tuple[str, ...], secret: Secret, meta: KeyMeta
) -> None:
    started = time.monotonic()

    message = run(
        exec_spec(*python_command, "import time; time.sleep(30)"), secret, meta, timeout=0.5
    )

    assert time.monotonic() - started < 10
    assert "did not finish within 0.5s" in message


def test_a_command_killed_by_a_signal_says_so(
    python_command: tuple[str, ...], secret: Secret, meta: KeyMeta
) -> None:
    suicide = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"

    message = run(exec_spec(*python_command, suicide), secret, meta)

    assert "was killed by signal 9" in message


def test_an_exec_sink_without_a_command_is_an_error(secret: Secret, meta: KeyMeta) -> None:
    message = run(SecretSinkSpec(sink="exec"), secret, meta)

    assert 'needs a "command"' in message


def test_the_tools_own_infobip_credentials_are_withheld_from_the_command(
    tmp_path: Path,
    recorder: tuple[str, ...],
    secret: Secret,
    meta: KeyMeta,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INFOBIP_PASSWORD", "account-password")
    monkeypatch.setenv("INFOBIP_CLIENT_SECRET", "oauth-client-secret")
    monkeypatch.setenv("VAULT_ADDR", "https://vault.example")
    out = tmp_path / "received.json"

    deliver(exec_spec(*recorder, str(out)), secret, meta, show_secrets=False)

    env = json.loads(out.read_text())["env"]
    assert "INFOBIP_PASSWORD" not in env
    assert "INFOBIP_CLIENT_SECRET" not in env
    assert env["VAULT_ADDR"] == "https://vault.example"


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def test_a_timeout_also_stops_what_the_command_started(
    tmp_path: Path, secret: Secret, meta: KeyMeta
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    # A shell, not Python: it starts its child and writes the pid within milliseconds, far
    # inside the timeout however loaded the machine is.
    spawner = 'sleep 60 & echo $! > "$1"; sleep 60'

    message = run(exec_spec("sh", "-c", spawner, "sh", str(pid_file)), secret, meta, timeout=1.5)

    assert "did not finish within 1.5s" in message
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(grandchild)


def _pieces(value: str) -> list[str]:
    """Every run of the secret long enough to be hidden."""
    width = MIN_FRAGMENT_CHARS
    return [value[i : i + width] for i in range(len(value) - width + 1)]


def test_stderr_cut_inside_the_secret_leaves_no_piece_of_it(
    python_command: tuple[str, ...], secret: Secret, secret_value: str, meta: KeyMeta
) -> None:
    """The audit's first command: blank lines push the secret across the 64 KiB kept of
    stderr; cut first and stripped, all but its last character used to come out."""
    pad_then_echo = (
        "import sys; s = sys.stdin.read(); "
        "sys.stderr.write(chr(10) * (65536 - len(s) + 1) + s); sys.exit(1)"
    )

    message = run(exec_spec(*python_command, pad_then_echo), secret, meta)

    assert "exited with status 1" in message
    assert not any(piece in message for piece in _pieces(secret_value)), message


def test_stderr_quoting_most_of_the_secret_leaves_no_piece_of_it(
    python_command: tuple[str, ...], secret: Secret, secret_value: str, meta: KeyMeta
) -> None:
    """The audit's second command: the secret echoed without its last character."""
    echo_most = (
        "import sys; s = sys.stdin.read(); "
        "sys.stderr.write('bad token ' + s[:-1] + ' end'); sys.exit(1)"
    )

    message = run(exec_spec(*python_command, echo_most), secret, meta)

    assert f"bad token {REDACTED} end" in message
    assert not any(piece in message for piece in _pieces(secret_value)), message


def test_a_secret_begun_just_before_the_end_of_what_is_kept_is_not_shown(
    python_command: tuple[str, ...], secret: Secret, secret_value: str, meta: KeyMeta
) -> None:
    """Stderr beyond what is kept is dropped; a secret it cuts leaves a beginning too short
    to be recognised as a piece of it, which must not be shown either."""
    beginning = 5
    keep = _STDERR_KEPT_BYTES + len(secret_value)
    cut_inside = (
        "import sys; s = sys.stdin.read(); "
        f"sys.stderr.write(chr(10) * ({keep} - {beginning}) + s); sys.exit(1)"
    )

    message = run(exec_spec(*python_command, cut_inside), secret, meta)

    assert secret_value[:beginning] not in message
    assert "more bytes not kept" in message
