"""A project folder wired to a running emulator: write manifests, run commands in-process,
read live keys and the emulator's request counts. The builder every end-to-end and command
test uses."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from infobip_iac.cli.main import main
from infobip_iac.domain.keys import LiveKey
from infobip_iac.domain.secret import Secret
from infobip_iac.emulator import EmulatorServer
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.infobip.settings import UserCredentials
from infobip_iac.state.model import StateDocument
from infobip_iac.state.store import StateStore

KEYS_PATH = "/settings/2/api-keys"
CREATE = f"POST {KEYS_PATH}"
UPDATE = f"PUT {KEYS_PATH}/{{apiKeyId}}"
LIST = f"GET {KEYS_PATH}"
READ_ONE = f"GET {KEYS_PATH}/{{apiKeyId}}"


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@dataclass
class Workspace:
    root: Path
    emulator: EmulatorServer
    capsys: pytest.CaptureFixture[str]
    # Everything any command printed, for the secret-leak checks.
    transcript: list[str] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        root: Path,
        emulator: EmulatorServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> Workspace:
        """Point the connection settings at `emulator` and work inside `root`."""
        for name in ("INFOBIP_CLIENT_ID", "INFOBIP_CLIENT_SECRET", "INFOBIP_IBSSO_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("INFOBIP_BASE_URL", emulator.base_url)
        monkeypatch.setenv("INFOBIP_USERNAME", "admin")
        monkeypatch.setenv("INFOBIP_PASSWORD", "admin")
        monkeypatch.setenv("NO_COLOR", "1")
        monkeypatch.chdir(root)
        (root / "keys").mkdir(exist_ok=True)
        return cls(root=root, emulator=emulator, capsys=capsys)

    # -- files ---------------------------------------------------------------------------

    @property
    def manifests(self) -> Path:
        return self.root / "keys"

    @property
    def state_path(self) -> Path:
        return self.root / ".infobip-iac" / "state.json"

    def write(self, text: str, name: str = "main.yaml") -> Path:
        path = self.manifests / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def state(self) -> StateDocument:
        """The state as a read sees it (its last full version and the changes since)."""
        if not self.state_path.exists():
            raise FileNotFoundError(self.state_path)
        return StateStore(self.state_path).read()

    # -- commands ------------------------------------------------------------------------

    def run(self, *args: str) -> Outcome:
        self.capsys.readouterr()
        code = main(list(args))
        captured = self.capsys.readouterr()
        self.transcript.extend([captured.out, captured.err])
        return Outcome(code, captured.out, captured.err)

    def plan(self, *extra: str) -> Outcome:
        return self.run("plan", str(self.manifests), *extra)

    def plan_json(self, *extra: str) -> dict[str, Any]:
        outcome = self.plan("--format", "json", *extra)
        assert outcome.code in (0, 2), outcome
        document: dict[str, Any] = json.loads(outcome.out)
        return document

    def apply(self, *extra: str) -> Outcome:
        return self.run("apply", str(self.manifests), "--auto-approve", *extra)

    def assert_converged(self) -> None:
        """A second plan has nothing to do."""
        outcome = self.plan("--detailed-exitcode")
        assert outcome.code == 0, outcome
        assert "No changes." in outcome.out, outcome

    # -- the emulator --------------------------------------------------------------------

    @contextmanager
    def client(self) -> Iterator[InfobipClient]:
        with InfobipClient(
            base_url=self.emulator.base_url,
            credentials=UserCredentials("admin", Secret("admin")),
            timeout=10,
        ) as client:
            yield client

    def live(self, account: str = "_") -> dict[str, LiveKey]:
        """Live keys by name; fails if two keys share a name (a key created twice)."""
        with self.client() as client:
            keys = client.list_keys(account).keys
        names = [key.name for key in keys]
        assert len(names) == len(set(names)), f"duplicate key names: {sorted(names)}"
        return {key.name: key for key in keys}

    def requests(self) -> dict[str, int]:
        counts: dict[str, int] = self.emulator.control.stats()["requests"]
        return counts

    @contextmanager
    def counting(self) -> Iterator[dict[str, int]]:
        """The emulator's request counts of the block (filled in when it ends)."""
        before = self.requests()
        delta: dict[str, int] = {}
        yield delta
        after = self.requests()
        for operation, count in after.items():
            if count - before.get(operation, 0):
                delta[operation] = count - before.get(operation, 0)

    def seed(self, *keys: dict[str, Any], account_id: str | None = None) -> list[str]:
        return self.emulator.control.seed(list(keys), account_id=account_id)


def writes(delta: dict[str, int]) -> int:
    """Creates and updates in a block's request counts."""
    return delta.get(CREATE, 0) + delta.get(UPDATE, 0)
