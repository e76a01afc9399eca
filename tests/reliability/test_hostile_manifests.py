"""Hostile manifests: alias bombs, files over 10 MB, deep nesting, non-UTF-8 and binary
files, links that loop or lead nowhere, and files that are not files. Each ends `validate`
(and `plan`) with exit 1 and a message naming the file, in bounded time and memory."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from infobip_iac.cli.main import main
from infobip_iac.manifest import load as load_module
from infobip_iac.manifest import load_configuration
from infobip_iac.manifest.bounds import MAX_SCOPE_ITEMS

VALID = """\
version: 1
api_keys:
  fine:
    scopes: [sms:logs:read]
    allowed_ips: [203.0.113.0/24]
"""
SECONDS = 10
MEMORY_BOUND = 256 * 1024 * 1024


def _alias_bomb() -> str:
    """Nine levels of ten aliases each: a billion strings if expanded."""
    lines = ["version: 1", 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def _deep_flow() -> str:
    return "version: 1\nnested: " + "[" * 100_000 + "]" * 100_000 + "\n"


def _deep_block() -> str:
    """A thousand levels of block mappings, two spaces each."""
    body = "".join(f"{'  ' * level}k{level}:\n" for level in range(1, 1000))
    return "version: 1\n" + body + "  " * 1000 + "leaf: 1\n"


def _merge_bomb() -> str:
    """Merge keys (<<) that each pull in the level below ten times."""
    lines = ["version: 1", "m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}"]
    for level in range(1, 10):
        refs = ", ".join([f"*m{level - 1}"] * 10)
        lines.append(f"m{level}: &m{level} {{x{level}: [{refs}]}}")
    return "\n".join(lines) + "\n"


CONTENT_CASES = {
    "alias-bomb": (_alias_bomb, "aliases expand to more than", "alias expansion is counted"),
    "merge-bomb": (_merge_bomb, "aliases expand to more than", "merges count as expansion"),
    "deep-flow": (_deep_flow, "", "nesting depth is bounded for flow collections"),
    "deep-block": (_deep_block, "", "nesting depth is bounded for block mappings"),
}


@contextlib.contextmanager
def _bounded(limit_seconds: float = SECONDS) -> Iterator[dict[str, float]]:
    """The block uses under `limit_seconds` of this process's CPU time and under
    MEMORY_BOUND of Python allocations. CPU time rather than wall time: the bound is on the
    work done (a bomb expanded runs for minutes or out of memory), which other jobs on a
    loaded machine do not inflate; the per-test timeout catches a hang."""
    measured: dict[str, float] = {}
    tracemalloc.start()
    started = time.process_time()
    try:
        yield measured
    finally:
        measured["seconds"] = time.process_time() - started
        measured["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert measured["seconds"] < limit_seconds, measured
    assert measured["peak"] < MEMORY_BOUND, measured


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _assert_clear_error(code: int, output: str, file: Path, says: str = "") -> None:
    assert code == 1, output
    assert str(file) in output, output
    assert says in output, output
    assert "Traceback" not in output and "crashed" not in output, output


@pytest.mark.parametrize("case", sorted(CONTENT_CASES))
def test_a_bomb_or_deep_nesting_is_a_clear_error_in_bounded_time_and_memory(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Protection: CONTENT_CASES[case][2]; without it the loader expands or recurses until
    memory or the interpreter's stack runs out."""
    make, says, _protection = CONTENT_CASES[case]
    hostile = tmp_path / f"{case}.yaml"
    hostile.write_text(make())

    with _bounded():
        code, output = _run(capsys, "validate", str(hostile))

    _assert_clear_error(code, output, hostile, says)


def test_a_file_over_10_mb_is_refused_without_being_read_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Protection: manifests are read at most 10 MB (+1 byte) deep."""
    huge = tmp_path / "huge.yaml"
    with huge.open("w") as handle:
        handle.write("version: 1\napi_keys: {}\n")
        handle.write(("# padding " + "x" * 90 + "\n") * 120_000)  # 12 MB

    with _bounded() as measured:
        code, output = _run(capsys, "validate", str(huge))

    _assert_clear_error(code, output, huge, "larger than 10 MB")
    assert measured["peak"] < 40 * 1024 * 1024


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("version: 1\napi_keys:\n  café: {}\n".encode("latin-1"), "not UTF-8"),
        (bytes(range(256)) * 64, "not UTF-8"),
        (b"version: 1\n\x00\x01\x02 binary\n", "not allowed"),
    ],
    ids=["latin-1", "binary", "control-characters"],
)
def test_non_utf8_and_binary_files_are_clear_errors(
    content: bytes, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Protection: bytes are decoded as UTF-8 with a diagnostic, and YAML's reader errors
    become diagnostics with a position."""
    odd = tmp_path / "odd.yaml"
    odd.write_bytes(content)

    with _bounded():
        code, output = _run(capsys, "validate", str(odd))

    _assert_clear_error(code, output, odd, says)


def test_a_link_loop_in_a_manifest_folder_is_an_error_not_a_silently_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Protection: a *.yaml entry of a folder that cannot be read (a link loop) is
    reported. Skipped silently, the keys it was meant to declare would be planned for
    revocation."""
    folder = tmp_path / "keys"
    folder.mkdir()
    (folder / "fine.yaml").write_text(VALID)
    (folder / "a.yaml").symlink_to("b.yaml")
    (folder / "b.yaml").symlink_to("a.yaml")
    (folder / "itself").symlink_to(".")  # a folder loop: folders are not descended

    with _bounded():
        code, output = _run(capsys, "validate", str(folder))

    _assert_clear_error(code, output, folder / "a.yaml")
    assert str(folder / "b.yaml") in output


def test_a_dangling_link_in_a_manifest_folder_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protection: as for a loop; a link to a manifest that moved must not drop its keys
    from the configuration without a word."""
    monkeypatch.chdir(tmp_path)  # the embedded emulator keeps its data in the working folder
    folder = tmp_path / "keys"
    folder.mkdir()
    (folder / "fine.yaml").write_text(VALID)
    (folder / "team.yaml").symlink_to(tmp_path / "moved-away.yaml")

    code, output = _run(capsys, "plan", str(folder), "--emulator")

    _assert_clear_error(code, output, folder / "team.yaml")


@contextlib.contextmanager
def _fifo_watch(fifo: Path) -> Iterator[list[str]]:
    """Watch whether anything opens `fifo` for reading while the block runs: a reader
    blocks in open() until a writer comes, so a writer's non-blocking open, tried every
    10 ms, succeeds exactly when one is waiting; it then gives the reader end-of-file, so
    the test fails on the finding instead of hanging. Yields the findings."""
    done = threading.Event()
    found: list[str] = []

    def watch() -> None:
        while not done.wait(0.01):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # ENXIO: no reader
                continue
            found.append(f"{fifo} was opened for reading")

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        done.set()
        thread.join(timeout=15)


def test_a_fifo_named_as_a_manifest_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Protection: only regular files are read. A named pipe (or a device) would block
    the read forever, or feed it without end."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)

    with _fifo_watch(fifo) as opened:
        code, output = _run(capsys, "validate", str(fifo))

    assert opened == []
    _assert_clear_error(code, output, fifo, "not a regular file")


def test_a_fifo_inside_a_manifest_folder_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Protection: as for a named file; in a folder it is reported, not waited on."""
    folder = tmp_path / "keys"
    folder.mkdir()
    (folder / "fine.yaml").write_text(VALID)
    os.mkfifo(folder / "pipe.yaml")

    with _fifo_watch(folder / "pipe.yaml") as opened:
        code, output = _run(capsys, "validate", str(folder))

    assert opened == []
    _assert_clear_error(code, output, folder / "pipe.yaml", "not a regular file")


# -- large values, lists and mappings under the 10 MB cap (issue 11, item 9) ---------------

_BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
# (the benchmark's case, the diagnostic expected, at line:column of the generated file)
_LARGE_CASES = {
    "4 MB scalar": ("E112: this value is 4,194,304 characters long", "6:29"),
    "600,000 scopes in a flow list": ("E112: this list has more than 10,000 entries", "6:13"),
    "150,000 keys": ("E112: this mapping has more than 25,000 entries", "5:3"),
    "1 MB name": ("E112: this value is 1,048,576 characters long", "6:11"),
    "100,000 duplicate scopes": ("E112: this list has more than 10,000 entries", "6:13"),
}


@pytest.mark.parametrize("case", sorted(_LARGE_CASES))
def test_a_large_manifest_under_the_cap_is_refused_early_under_256_mb(case: str) -> None:
    """Each measured at 0.3 to 2.8 GB before; now refused with its place, and the whole
    `validate` (a child process reading its own VmHWM) stays under 256 MB."""
    sys.path.insert(0, str(_BENCHMARKS))
    try:
        import hostile_manifests
    finally:
        sys.path.remove(str(_BENCHMARKS))
    with tempfile.TemporaryDirectory() as temp:
        started = time.monotonic()
        report = hostile_manifests.measure(case, Path(temp))
        seconds = time.monotonic() - started
    expected, place = _LARGE_CASES[case]
    assert f"hostile.yaml:{place}: error {expected}" in report, report
    assert "exit 1" in report and "(ok)" in report, report  # (ok): peak under 256 MB
    assert seconds < 60, report


def test_a_name_longer_than_255_characters_is_an_error_at_its_place(tmp_path: Path) -> None:
    manifest = tmp_path / "keys.yaml"
    manifest.write_text(VALID.replace("  fine:\n", f"  fine:\n    name: {'n' * 256}\n"))
    result = load_configuration([manifest])
    assert result.config is None
    (error,) = result.errors
    assert (error.line, error.column, error.code) == (4, 11, "E205")
    assert "is 256 characters long; a key name may have at most 255" in error.message


def test_a_scope_list_longer_than_twice_the_catalog_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "keys.yaml"
    scopes = ", ".join(f"made:up:s{i}" for i in range(MAX_SCOPE_ITEMS + 1))
    manifest.write_text(VALID.replace("[sms:logs:read]", f"[{scopes}]"))
    result = load_configuration([manifest])
    assert result.config is None
    (error,) = result.errors
    assert (error.line, error.code) == (4, "E112")
    assert f"lists {MAX_SCOPE_ITEMS + 1:,} entries; at most {MAX_SCOPE_ITEMS:,}" in error.message


def test_a_scope_listed_twice_is_a_warning_naming_the_second(tmp_path: Path) -> None:
    manifest = tmp_path / "keys.yaml"
    manifest.write_text(
        VALID.replace("[sms:logs:read]", "\n      - sms:logs:read\n      - sms:logs:read")
    )
    result = load_configuration([manifest])
    assert result.config is not None
    (warning,) = [w for w in result.warnings if w.code == "W105"]
    assert (warning.line, warning.column) == (6, 9)
    assert 'scope "sms:logs:read" is listed twice in api_keys.fine.scopes' in warning.message
    assert result.config.keys["api_keys.fine"].scopes == frozenset({"sms:logs:read"})


def test_the_keys_of_all_files_together_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load_module, "MAX_KEYS", 3)
    for name in ("a", "b"):
        body = "".join(f"  {name}{i}:\n    scopes: [sms:logs:read]\n" for i in range(2))
        (tmp_path / f"{name}.yaml").write_text(f"version: 1\napi_keys:\n{body}")
    result = load_configuration([tmp_path])
    assert result.config is None
    (error,) = result.errors
    assert error.file.endswith("b.yaml") and (error.line, error.code) == (2, "E112")
    assert "declares 4 keys or more; a configuration may have at most 3" in error.message
