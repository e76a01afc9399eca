"""`infobip-iac validate` through the real entry point: output, formats and exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest

from infobip_iac.cli.main import main
from infobip_iac.cli.validate_cmd import render_text
from infobip_iac.errors import Diagnostic

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CORPUS = REPO / "tests" / "manifest" / "bad"
# One bad manifest of each family: YAML, structure, identity, scopes, IPs, time, policy.
SAMPLE = [
    "e103-latin1.yaml",
    "e104-unclosed-bracket.yaml",
    "e106-alias-bomb.yaml",
    "e202-unknown-key-field.yaml",
    "e300-duplicate-id",
    "e400-unknown-scope.yaml",
    "e403-sdk-with-others.yaml",
    "e501-host-bits.yaml",
    "e603-valid-to-with-valid-for.yaml",
    "e703-forbidden-through-role.yaml",
]
_EXPECT = re.compile(r"^# expect: (\w+) at (?:[\w.-]+:)?(\d+):(\d+)$", re.M)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", "--no-color", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_examples_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(EXAMPLES))
    assert code == 0
    assert out.strip() == "Valid: 4 keys in 3 files."
    assert err == ""


@pytest.mark.parametrize("name", SAMPLE)
def test_a_bad_manifest_exits_1_with_its_code_and_place(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = CORPUS / name
    first = sorted(path.glob("*.yaml"))[0] if path.is_dir() else path
    expected = _EXPECT.search(first.read_bytes().decode("latin-1"))
    assert expected is not None
    code_word, line, column = expected.groups()
    code, out, err = _run(capsys, str(path))
    assert code == 1
    assert f":{line}:{column}: error {code_word}: " in out
    assert "    hint: " in out
    assert out.strip().splitlines()[-1].startswith("Invalid: 1 error")
    assert "Traceback" not in out + err


def test_json_lists_the_diagnostics_and_keeps_the_summary_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(capsys, "--format", "json", str(CORPUS / "e400-unknown-scope.yaml"))
    assert code == 1
    found = json.loads(out)
    errors = [d for d in found if d["severity"] == "error"]
    assert [(d["code"], d["line"], d["column"]) for d in errors] == [("E400", 6, 29)]
    assert set(found[0]) == {"file", "line", "column", "severity", "code", "message", "hint"}
    assert err.strip().startswith("Invalid: 1 error")


def test_warnings_alone_exit_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "version: 1\napi_keys:\n  k: {scopes: [sms:manage, sms:logs:read]}\n"
    )
    code, out, _ = _run(capsys, str(tmp_path))
    assert code == 0
    assert "warning W100" in out and "warning W102" in out and "warning W103" in out
    assert out.strip().splitlines()[-1] == "Valid: 1 key in 1 file, 3 warnings."


def test_unknown_scopes_can_be_allowed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\napi_keys:\n  k: {allowed_ips: [192.0.2.1], scopes: [sms:new]}\n")
    assert _run(capsys, str(path))[0] == 1
    code, out, _ = _run(capsys, "--allow-unknown-scopes", str(path))
    assert code == 0 and "warning W104" in out


def test_the_default_path_is_the_current_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keys.yaml").write_text("version: 1\napi_keys:\n  k: {allowed_ips: [192.0.2.1]}\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys)
    assert code == 0 and out.strip() == "Valid: 1 key in 1 file."


def test_a_missing_path_is_an_error_not_a_crash(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _run(capsys, str(tmp_path / "nowhere"))
    assert code == 1
    assert "error E100: no such file or folder" in out
    assert "Traceback" not in out + err


def test_colour_marks_the_severity() -> None:
    found = [Diagnostic(file="m.yaml", line=1, column=2, code="E400", message="m", hint="h")]
    coloured = render_text(found, color=True)
    assert "\x1b[" in coloured and click.unstyle(coloured) == found[0].render()
    assert render_text(found, color=False) == "m.yaml:1:2: error E400: m\n    hint: h"


def test_the_summary_counts_the_files_the_errors_are_in(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    unsupported = tmp_path / "a.yaml"
    unsupported.write_text("version: 2\napi_keys:\n  a: {allowed_ips: [192.0.2.1]}\n")
    typo = tmp_path / "b.yaml"
    typo.write_text("version: 1\napi_keys:\n  b: {allowed_ips: [192.0.2.1], scopez: [x]}\n")
    unparsable = tmp_path / "c.yaml"
    unparsable.write_text("version: 1\napi_keys: [\n")

    assert _run(capsys, str(unparsable))[1].splitlines()[-1] == "Invalid: 1 error in 1 file."
    code, out, _ = _run(capsys, str(unsupported), str(typo))
    assert code == 1
    assert out.splitlines()[-1] == "Invalid: 2 errors in 2 files."


def test_text_and_json_show_what_diagnostic_render_and_its_fields_hold(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = CORPUS / "e400-unknown-scope.yaml"
    _, out, _ = _run(capsys, str(path))
    _, listed, _ = _run(capsys, "--format", "json", str(path))
    found = [Diagnostic(**fields) for fields in json.loads(listed)]
    assert out.splitlines()[:-1] == "\n".join(d.render() for d in found).splitlines()
