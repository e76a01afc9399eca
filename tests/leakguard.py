"""A pytest plugin that fails any test in which an emulator-issued apiKeySecret leaked.

While a test runs, the plugin learns every secret an emulator of this process issued: it
reads `apiKeySecret` out of every answer an `EmulatorServer` sends (creates, reads, lists)
and asks each emulator for all the secrets it holds before it stops. When the test's call
is over it searches, for each of those secrets:

- captured stdout, stderr and log records (what pytest keeps, and what the test took
  through `capsys`/`capfd.readouterr()` or holds in `caplog`);
- every file under the test's `tmp_path` and working folder (state, backups, plan files,
  anything else), and crash reports infobip-iac wrote to the temp folder during the test.

Places where a secret belongs are not searched: the emulator's own data files (Infobip's
side), the files a `file` sink wrote (seen in-process, or listed in a state document for
runs in child processes), lines a `stdout` sink printed (`<address>: <secret>`, which only
`--show-secrets` allows), and files a test allows through the `leak_guard` fixture (for an
`exec` sink command that writes one). A leak turns a passing test into a failure naming
where the secret was found (never the secret).

Active in every test in which an emulator ran, which covers every test using the
`emulator`, `make_emulator` or `emulator_control` fixtures and every in-process `--emulator`
run.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from infobip_iac.emulator import EmulatorServer

__all__ = ["LeakWatch", "find_leaks", "secrets_in_answer"]

# Secrets shorter than this could match by chance (a seeded test key such as "x"); the
# emulator's own are 69 characters.
MIN_SECRET_LENGTH = 12
# A file larger than this is read only this far: the tool writes nothing near it.
MAX_FILE_BYTES = 32 * 1024 * 1024
# The line a `stdout` sink prints for a key (see infobip_iac.secrets.stdout_sink).
_STDOUT_SINK_LINE = re.compile(r"^api_keys\.[a-z0-9][a-z0-9_-]{0,62}: (?P<secret>\S+)$")
# Characters of the tokens searched when many secrets are known (see _TokenIndex).
_TOKEN_CHARS = "A-Za-z0-9_.+/=:-"
_TOKEN_RE = re.compile(rf"[{_TOKEN_CHARS}]{{{MIN_SECRET_LENGTH},}}")
_TOKEN_BYTES_RE = re.compile(rf"[{_TOKEN_CHARS}]{{{MIN_SECRET_LENGTH},}}".encode())
_PLAIN_SEARCH_LIMIT = 64
# State documents larger than this are not looked into for sink files.
_MAX_STATE_BYTES = 8 * 1024 * 1024


def secrets_in_answer(body: Any) -> Iterator[str]:
    """Every `apiKeySecret` value in a decoded JSON answer, at any depth."""
    stack = [body]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for name, item in value.items():
                if name == "apiKeySecret" and isinstance(item, str):
                    yield item
                elif isinstance(item, dict | list):
                    stack.append(item)
        elif isinstance(value, list):
            stack.extend(item for item in value if isinstance(item, dict | list))


class _TokenIndex:
    """Finds which of many secrets occur in a text in one pass: every secret made only of
    token characters lies inside one maximal token run, so only runs are compared. Secrets
    with other characters are searched one by one."""

    def __init__(self, secrets: Collection[str]) -> None:
        token = re.compile(rf"[{_TOKEN_CHARS}]+")
        self.plain = {s for s in secrets if not token.fullmatch(s)}
        self.indexed = set(secrets) - self.plain
        self.lengths = sorted({len(s) for s in self.indexed})

    def found(self, text: str) -> set[str]:
        hits = {s for s in self.plain if s in text}
        for match in _TOKEN_RE.finditer(text):
            run = match.group()
            for length in self.lengths:
                for start in range(len(run) - length + 1):
                    if run[start : start + length] in self.indexed:
                        hits.add(run[start : start + length])
        return hits

    def found_bytes(self, data: bytes) -> set[str]:
        hits = {s for s in self.plain if s.encode() in data}
        for match in _TOKEN_BYTES_RE.finditer(data):
            run = match.group().decode("ascii")
            for length in self.lengths:
                for start in range(len(run) - length + 1):
                    if run[start : start + length] in self.indexed:
                        hits.add(run[start : start + length])
        return hits


_Search = tuple[Callable[[str], set[str]], Callable[[bytes], set[str]]]


def _matches(secrets: Collection[str]) -> _Search:
    if len(secrets) <= _PLAIN_SEARCH_LIMIT:
        encoded = {s: s.encode() for s in secrets}
        return (
            lambda text: {s for s in secrets if s in text},
            lambda data: {s for s, b in encoded.items() if b in data},
        )
    index = _TokenIndex(secrets)
    return index.found, index.found_bytes


def _without_stdout_sink_lines(text: str, secrets: Collection[str]) -> str:
    kept = []
    for line in text.splitlines():
        printed = _STDOUT_SINK_LINE.match(line)
        if printed is None or printed.group("secret") not in secrets:
            kept.append(line)
    return "\n".join(kept)


def find_leaks(
    secrets: Collection[str],
    texts: Iterable[tuple[str, str, bool]],
    files: Iterable[Path],
) -> list[str]:
    """Where any of `secrets` occurs: `texts` are (where, text, is_stdout) and `files` are
    read up to MAX_FILE_BYTES. One line per place, naming the secret by its position in the
    sorted list of secrets, never by its value."""
    known = sorted(s for s in set(secrets) if len(s) >= MIN_SECRET_LENGTH)
    if not known:
        return []
    number = {secret: index for index, secret in enumerate(known)}
    in_text, in_bytes = _matches(known)
    leaks: list[str] = []

    def note(where: str, hits: set[str]) -> None:
        if hits:
            which = ", ".join(f"#{number[s]}" for s in sorted(hits, key=number.__getitem__))
            leaks.append(f"{where}: secret {which} of {len(known)}")

    for where, text, is_stdout in texts:
        if is_stdout:
            text = _without_stdout_sink_lines(text, known)
        note(where, in_text(text))
    for path in files:
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES)
        except OSError:
            continue
        note(str(path), in_bytes(data))
    return leaks


@dataclass
class LeakWatch:
    """What the guard knows during one test. Tests reach it through the `leak_guard`
    fixture, to allow a file an `exec` sink command wrote, or to turn the guard off for a
    test that puts secrets in files on purpose (say why)."""

    started: float = field(default_factory=time.time)
    servers: list[EmulatorServer] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    emulator_files: set[Path] = field(default_factory=set)
    sink_files: set[Path] = field(default_factory=set)
    allowed: set[Path] = field(default_factory=set)
    outputs: list[tuple[str, str, bool]] = field(default_factory=list)
    off_because: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, path: Path) -> None:
        """A file where a secret is expected (e.g. one an `exec` sink command wrote)."""
        self.allowed.add(path.resolve())

    def disable(self, reason: str) -> None:
        if not reason:
            raise ValueError("say why the leak guard is off for this test")
        self.off_because = reason

    def learn(self, secrets: Iterable[str]) -> None:
        with self.lock:
            self.secrets.update(secrets)

    def track(self, server: EmulatorServer) -> None:
        with self.lock:
            self.servers.append(server)
            if server.data_path is not None:
                self.emulator_files.add(server.data_path.resolve())

    def collect_from_running_servers(self) -> None:
        for server in list(self.servers):
            _collect(server, self)


_watch: LeakWatch | None = None
_originals: dict[str, Any] = {}
_installs: list[None] = []


def _current() -> LeakWatch | None:
    return _watch


def _collect(server: EmulatorServer, watch: LeakWatch) -> None:
    """Every secret a running emulator holds (its control API); nothing when it is down."""
    try:
        server.port  # noqa: B018 - raises RuntimeError when the server is not running
    except RuntimeError:
        return
    try:
        watch.learn(server.control.secrets())
    except Exception as error:  # a wedged emulator must not hide the test's own outcome
        watch.outputs.append(("leak guard", f"could not ask an emulator: {error}", False))


def _install() -> None:
    """Wrap the emulator, the capture fixture and the file sink so the guard sees them."""
    _installs.append(None)
    if len(_installs) > 1:
        return  # a nested in-process pytest run: the outer session's wrappers serve it
    import _pytest.capture

    import infobip_iac.secrets.file_sink as file_sink

    original_init = EmulatorServer.__init__
    original_stop = EmulatorServer.stop
    original_readouterr = _pytest.capture.CaptureFixture.readouterr
    original_write = file_sink.write_secret_file
    _originals.update(
        init=original_init,
        stop=original_stop,
        readouterr=original_readouterr,
        write=original_write,
    )

    def init(self: EmulatorServer, *args: Any, **kwargs: Any) -> None:
        hook = kwargs.get("on_response")

        def harvesting(method: str, template: str, status: int, body: Any) -> None:
            watch = _current()
            if watch is not None:
                watch.learn(secrets_in_answer(body))
            if hook is not None:
                hook(method, template, status, body)

        kwargs["on_response"] = harvesting
        original_init(self, *args, **kwargs)
        watch = _current()
        if watch is not None:
            watch.track(self)

    def stop(self: EmulatorServer) -> None:
        watch = _current()
        if watch is not None:
            _collect(self, watch)
        original_stop(self)

    def readouterr(self: Any) -> Any:
        captured = original_readouterr(self)
        watch = _current()
        if watch is not None:
            for stream, text in (("stdout", captured.out), ("stderr", captured.err)):
                if isinstance(text, bytes):
                    text = text.decode("utf-8", "replace")
                watch.outputs.append((f"{stream} read by the test", text, stream == "stdout"))
        return captured

    def write_secret_file(*args: Any, **kwargs: Any) -> Any:
        record = original_write(*args, **kwargs)
        watch = _current()
        if watch is not None:
            watch.sink_files.update(Path(p).resolve() for p in record.files_written)
        return record

    EmulatorServer.__init__ = init  # type: ignore[method-assign]
    EmulatorServer.stop = stop  # type: ignore[method-assign]
    _pytest.capture.CaptureFixture.readouterr = readouterr  # type: ignore[method-assign]
    file_sink.write_secret_file = write_secret_file  # type: ignore[assignment]


def _uninstall() -> None:
    import _pytest.capture

    import infobip_iac.secrets.file_sink as file_sink

    if _installs:
        _installs.pop()
    if _installs or not _originals:
        return
    EmulatorServer.__init__ = _originals["init"]  # type: ignore[method-assign]
    EmulatorServer.stop = _originals["stop"]  # type: ignore[method-assign]
    _pytest.capture.CaptureFixture.readouterr = _originals["readouterr"]  # type: ignore[method-assign]
    file_sink.write_secret_file = _originals["write"]
    _originals.clear()


# -- which files a test's tool runs wrote ---------------------------------------------------


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _files_below(folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path


def _sink_files_in_states(files: Iterable[Path], base: Path) -> set[Path]:
    """Files listed as written by a sink in any state document among `files` (runs in child
    processes: their sink writes were not seen in-process)."""
    listed: set[Path] = set()
    for path in files:
        try:
            if path.stat().st_size > _MAX_STATE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if not data.lstrip().startswith(b"{") or b'"lineage"' not in data:
            continue
        try:
            document = json.loads(data)
        except ValueError:
            continue
        resources = document.get("resources") if isinstance(document, dict) else None
        if not isinstance(resources, dict) or "lineage" not in document:
            continue
        for entry in resources.values():
            record = entry.get("secret") if isinstance(entry, dict) else None
            if isinstance(record, dict) and record.get("sink") == "file":
                for written in record.get("files_written") or []:
                    listed.add((base / written).resolve())
    return listed


def _is_emulator_file(path: Path, emulator_files: Collection[Path]) -> bool:
    for data in emulator_files:
        if path == data:
            return True
        if path.parent == data.parent and path.name.startswith(f".{data.name}."):
            return True  # the emulator's temp file on its way to replace the data file
    return False


def _searched_files(item: pytest.Item, watch: LeakWatch) -> list[Path]:
    roots: list[Path] = []
    tmp_path = item.funcargs.get("tmp_path") if hasattr(item, "funcargs") else None
    if isinstance(tmp_path, Path):
        roots.append(tmp_path.resolve())
    cwd = Path.cwd().resolve()
    temp_root = Path(tempfile.gettempdir()).resolve()
    basetemp = item.config._tmp_path_factory.getbasetemp().resolve()  # type: ignore[attr-defined]
    in_a_temp_folder = _under(cwd, basetemp) or _under(cwd, temp_root)
    searched_already = any(_under(cwd, root) for root in roots)
    if in_a_temp_folder and not searched_already and cwd != item.config.rootpath.resolve():
        roots.append(cwd)
    files: list[Path] = []
    for root in roots:
        files.extend(p.resolve() for p in _files_below(root))
    for crash in temp_root.glob("infobip-iac-crash-*.txt"):
        try:
            if crash.stat().st_mtime >= watch.started - 1:
                files.append(crash.resolve())
        except OSError:
            continue
    sink_files = watch.sink_files | _sink_files_in_states(files, cwd)
    return [
        path
        for path in dict.fromkeys(files)
        if path not in sink_files
        and path not in watch.allowed
        and not _is_emulator_file(path, watch.emulator_files)
    ]


def _captured_texts(
    item: pytest.Item, report: pytest.TestReport, watch: LeakWatch
) -> list[tuple[str, str, bool]]:
    texts = [(title, text, "stdout" in title) for title, text in report.sections]
    texts.extend(watch.outputs)
    caplog = item.funcargs.get("caplog") if hasattr(item, "funcargs") else None
    if isinstance(caplog, pytest.LogCaptureFixture):
        texts.append(("caplog", caplog.text, False))
        texts.append(("caplog messages", "\n".join(caplog.messages), False))
    return texts


# -- the hooks ------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "leak_guard: the emulator-secret leak guard (tests/leakguard.py) is on for every test "
        "in which an emulator ran; the `leak_guard` fixture allows files or turns it off",
    )
    _install()


def pytest_unconfigure(config: pytest.Config) -> None:
    _uninstall()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    global _watch
    _watch = LeakWatch()
    try:
        return (yield)
    finally:
        _watch = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    watch = _current()
    if call.when != "call" or watch is None or watch.off_because or not watch.servers:
        return report
    watch.collect_from_running_servers()
    if not watch.secrets:
        return report
    leaks = find_leaks(
        watch.secrets, _captured_texts(item, report, watch), _searched_files(item, watch)
    )
    if not leaks:
        return report
    message = (
        "leak guard: an apiKeySecret issued by the emulator appeared outside its sink\n  "
        + "\n  ".join(leaks)
    )
    if report.passed:
        report.outcome = "failed"
        report.longrepr = message
    else:
        report.sections.append(("leak guard", message))
    return report


@pytest.fixture
def leak_guard() -> LeakWatch:
    """The leak guard of the running test (see tests/leakguard.py)."""
    watch = _current()
    if watch is None:  # pragma: no cover - set for every test by pytest_runtest_protocol
        raise RuntimeError("the leak guard is not running")
    return watch
