"""The leak guard (tests/leakguard.py) fires on planted leaks and stays quiet otherwise.

Each planted leak runs as a test of an inner pytest session (pytester, in a child process so
that its plugin state is its own); the outer test reads that session's verdicts."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from leakguard import find_leaks, secrets_in_answer

TESTS = Path(__file__).resolve().parents[1]
SECRET = "0123456789abcdef0123456789abcdef-1b4e28ba-2fa1-11d2-883f-0016d3cca427"

INNER_CONFTEST = """
    import pytest

    from infobip_iac.emulator import EmulatorServer

    pytest_plugins = ("leakguard",)


    @pytest.fixture
    def emulator():
        with EmulatorServer() as server:
            yield server


    @pytest.fixture
    def secret(emulator):
        emulator.control.seed([{"name": "planted"}])
        (value,) = emulator.control.secrets()
        return value
"""

INNER_TESTS = """
    import logging
    import subprocess
    import sys

    from infobip_iac.domain.keys import SecretSinkSpec
    from infobip_iac.domain.secret import Secret
    from infobip_iac.secrets.sinks import KeyMeta, deliver


    def test_leak_printed(secret):
        print("debug:", secret)


    def test_leak_read_through_capsys(secret, capsys):
        sys.stderr.write(f"oops {secret}\\n")
        assert "oops" in capsys.readouterr().err


    def test_leak_logged(secret):
        logging.getLogger("planted").warning("secret is %s", secret)


    def test_leak_logged_into_caplog(secret, caplog):
        with caplog.at_level(logging.INFO):
            logging.getLogger("planted").info("secret is %s", secret)


    def test_leak_in_a_state_file(secret, tmp_path):
        (tmp_path / ".infobip-iac").mkdir()
        (tmp_path / ".infobip-iac" / "state.json").write_text(f'{{"x": "{secret}"}}')


    def test_leak_in_the_working_folder(secret, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        with open("changes.plan", "w") as plan:
            plan.write(secret)


    def test_leak_by_a_child_process(secret, tmp_path):
        subprocess.run(
            [sys.executable, "-c", f"open('leak.txt', 'w').write({secret!r})"],
            cwd=tmp_path,
            check=True,
        )


    def test_clean_secret_only_in_its_file_sink(secret, tmp_path):
        spec = SecretSinkSpec(sink="file", path="secrets/{address}.env", base_dir=str(tmp_path))
        meta = KeyMeta(address="api_keys.planted", key_id="K1", name="planted", account="_")
        record = deliver(spec, Secret(secret), meta, show_secrets=False)
        assert record.status == "delivered"
        print("delivered to", record.location)


    def test_clean_stdout_sink_line(secret):
        print(f"api_keys.planted: {secret}")


    def test_clean_allowed_exec_output(secret, tmp_path, leak_guard):
        (tmp_path / "vault.txt").write_text(secret)
        leak_guard.allow(tmp_path / "vault.txt")


    def test_clean_without_an_emulator(tmp_path):
        # No emulator ran: nothing is known to be secret, so nothing is searched.
        print("PLANTED_SECRET")
"""


@pytest.mark.slow
def test_planted_leaks_fail_their_tests_and_clean_tests_pass(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard fires for a secret in printed output, output the test read, log records,
    caplog, state and plan files, and a file a child process wrote; it stays quiet for the
    file a file sink wrote, a stdout-sink line, an allowed file, and tests with no emulator."""
    pytester.makeconftest(textwrap.dedent(INNER_CONFTEST))
    pytester.makepyfile(test_planted=textwrap.dedent(INNER_TESTS).replace("PLANTED_SECRET", SECRET))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=120)

    outcomes = result.parseoutcomes()
    failed = sorted(
        line.split("::")[1].split()[0]
        for line in result.outlines
        if line.startswith("FAILED test_planted.py::")
    )
    assert failed == [
        "test_leak_by_a_child_process",
        "test_leak_in_a_state_file",
        "test_leak_in_the_working_folder",
        "test_leak_logged",
        "test_leak_logged_into_caplog",
        "test_leak_printed",
        "test_leak_read_through_capsys",
    ], result.stdout.str()
    assert outcomes.get("passed") == 4, result.stdout.str()
    report = result.stdout.str()
    assert "leak guard: an apiKeySecret issued by the emulator appeared outside its sink" in report
    assert "state.json: secret #0 of 1" in report
    # The failure names where, never what.
    planted_secret = [line for line in result.outlines if "0123456789abcdef" in line]
    emulated = [line for line in planted_secret if "leak guard" in line]
    assert emulated == []


def test_find_leaks_names_places_and_positions_not_values(tmp_path: Path) -> None:
    secrets = ["b" * 20, "a" * 20]
    (tmp_path / "state.json").write_text("x" + "b" * 20)
    (tmp_path / "clean.txt").write_text("nothing here")

    leaks = find_leaks(
        secrets,
        [("stderr", "had " + "a" * 20, False), ("stdout", "api_keys.k: " + "a" * 20, True)],
        [tmp_path / "state.json", tmp_path / "clean.txt", tmp_path / "missing"],
    )

    assert leaks == ["stderr: secret #0 of 2", f"{tmp_path / 'state.json'}: secret #1 of 2"]


def test_find_leaks_ignores_secrets_too_short_to_tell_apart() -> None:
    assert find_leaks(["abc"], [("stdout", "abc abc", False)], []) == []


def test_find_leaks_with_many_secrets_finds_each_inside_longer_runs(tmp_path: Path) -> None:
    """Above 64 secrets a one-pass token index is used; it must find the same leaks."""
    secrets = [f"{index:032x}-secret" for index in range(200)]
    (tmp_path / "log.txt").write_bytes(b"prefix" + secrets[150].encode() + b"suffix")
    text = f"id={secrets[7]}X and {secrets[199]}"

    leaks = find_leaks(secrets, [("stderr", text, False)], [tmp_path / "log.txt"])

    ordered = sorted(secrets)
    positions = sorted(ordered.index(secrets[i]) for i in (7, 199))
    assert leaks == [
        f"stderr: secret #{positions[0]}, #{positions[1]} of 200",
        f"{tmp_path / 'log.txt'}: secret #{ordered.index(secrets[150])} of 200",
    ]


def test_secrets_are_read_out_of_answers_at_any_depth() -> None:
    answer = {
        "apiKeys": [{"id": "1", "apiKeySecret": "s1"}, {"id": "2", "apiKeySecret": "s2"}],
        "paging": {"page": 0},
        "apiKeySecret": "s0",
    }
    assert sorted(secrets_in_answer(answer)) == ["s0", "s1", "s2"]
    assert list(secrets_in_answer(None)) == []
