"""The run's workflow (engine/run.py) driven without the CLI: the embedded emulator stands in
for Infobip, plain functions for the terminal."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from builders import config, declared

from infobip_iac.domain.keys import DesiredConfig, Lifecycle, SecretSinkSpec
from infobip_iac.domain.plan import Action, Plan
from infobip_iac.engine.apply import ApplyEvent, ApplyOptions
from infobip_iac.engine.run import (
    ApplyOutcome,
    ApplyRequest,
    PlanRequest,
    PlanShape,
    RunHooks,
    run_apply,
    run_plan,
)
from infobip_iac.errors import ApplyRefusedError, ConfigurationError, CredentialsError
from infobip_iac.infobip.api import KeyService
from infobip_iac.infobip.connection import open_key_service
from infobip_iac.manifest import load_or_raise
from infobip_iac.state.backend import open_backend
from infobip_iac.state.model import EMULATOR_ENDPOINT


@dataclass
class Terminal:
    """What a CLI would do, recorded: each connection, event, shown plan and question."""

    emulator_data: Path
    answer: bool = True
    connections: int = 0
    events: list[ApplyEvent] = field(default_factory=list)
    shown: list[Plan] = field(default_factory=list)
    asked: int = 0

    def connect(self) -> AbstractContextManager[KeyService]:
        self.connections += 1
        return open_key_service(emulator=True, emulator_data=self.emulator_data, timeout=10)

    def approve(self) -> bool:
        self.asked += 1
        return self.answer

    def hooks(self) -> RunHooks:
        return RunHooks(
            connect=self.connect,
            events=self.events.append,
            show_plan=self.shown.append,
            approve=self.approve,
        )


@pytest.fixture
def terminal(tmp_path: Path) -> Terminal:
    return Terminal(tmp_path / "emulator.json")


@pytest.fixture
def state_path(tmp_path: Path) -> str:
    return str(tmp_path / "state.json")


def _keys(tmp_path: Path, *idents: str) -> DesiredConfig:
    sink = SecretSinkSpec(sink="file", path="{address}.env", base_dir=str(tmp_path / "secrets"))
    return config(*(declared(ident, secret=sink) for ident in idents))


def _apply(
    terminal: Terminal,
    state_path: str,
    source: Plan | DesiredConfig,
    *,
    auto_approve: bool = False,
    **options: object,
) -> ApplyOutcome:
    request = ApplyRequest(
        state=state_path,
        endpoint=EMULATOR_ENDPOINT,
        source=source,
        options=ApplyOptions(saved_plan=isinstance(source, Plan), **options),  # type: ignore[arg-type]
        auto_approve=auto_approve,
    )
    return run_apply(request, terminal.hooks())


def _plan(
    terminal: Terminal,
    state_path: str,
    load: Callable[[], DesiredConfig],
    endpoint: Callable[[], str] = lambda: EMULATOR_ENDPOINT,
) -> Plan:
    return run_plan(PlanRequest(state=state_path, endpoint=endpoint, load=load), terminal.hooks())


def _load_broken_manifest(folder: Path) -> DesiredConfig:
    manifest = folder / "keys.yaml"
    manifest.write_text("api_keys:\n  a:\n    scopes: 7\n", encoding="utf-8")
    config, _ = load_or_raise([manifest])
    return config


def _state_addresses(state_path: str) -> set[str]:
    with open_backend(state_path) as backend:
        return set(backend.store.read().resources)


def test_an_approved_apply_shows_the_plan_asks_once_and_makes_it(
    terminal: Terminal, state_path: str, tmp_path: Path
) -> None:
    wanted = _keys(tmp_path, "a", "b")

    outcome = _apply(terminal, state_path, wanted)

    assert outcome.result is not None and not outcome.quiet
    assert (outcome.result.created, outcome.result.exit_code) == (2, 0)
    assert terminal.asked == 1 and terminal.connections == 1
    (shown,) = terminal.shown
    assert sorted(c.action for c in shown.changes) == [Action.CREATE, Action.CREATE]
    assert shown.endpoint == EMULATOR_ENDPOINT
    assert _state_addresses(state_path) == {"api_keys.a", "api_keys.b"}
    assert {event.address for event in terminal.events} >= {"api_keys.a", "api_keys.b"}
    # Planned again, the same manifests have nothing left to do.
    assert not _plan(terminal, state_path, lambda: wanted).applyable


def test_an_apply_not_approved_changes_nothing(
    terminal: Terminal, state_path: str, tmp_path: Path
) -> None:
    terminal.answer = False
    wanted = _keys(tmp_path, "a")

    outcome = _apply(terminal, state_path, wanted)

    assert outcome.result is None and terminal.asked == 1
    assert outcome.plan is not None and outcome.plan.applyable
    assert not Path(state_path).exists() and not (tmp_path / "secrets").exists()
    # Infobip was not written to either: a fresh plan still creates the key.
    (change,) = _plan(terminal, state_path, lambda: wanted).changes
    assert change.action is Action.CREATE


def test_an_auto_approved_apply_asks_nothing_and_a_plan_without_changes_is_quiet(
    terminal: Terminal, state_path: str, tmp_path: Path
) -> None:
    wanted = _keys(tmp_path, "a")
    first = _apply(terminal, state_path, wanted, auto_approve=True)
    assert first.result is not None and first.result.created == 1
    terminal.events.clear()
    # Only state changes: the key's lifecycle.prevent_revoke, which no `yes` is asked for.
    guarded = config(
        *(replace(key, lifecycle=Lifecycle(prevent_revoke=True)) for key in wanted.keys.values())
    )

    again = _apply(terminal, state_path, guarded)

    assert again.quiet and again.result is not None and again.result.exit_code == 0
    assert again.result.writes == 0
    with open_backend(state_path) as backend:
        assert backend.store.read().resources["api_keys.a"].prevent_revoke
    # Nothing to approve, and bookkeeping is not news.
    assert terminal.asked == 0 and terminal.events == []
    assert len(terminal.shown) == 2


def test_guard_rails_refuse_before_anyone_is_asked(
    terminal: Terminal, state_path: str, tmp_path: Path
) -> None:
    with pytest.raises(ApplyRefusedError):
        _apply(terminal, state_path, _keys(tmp_path, "a", "b"), max_writes=1)

    assert terminal.asked == 0 and len(terminal.shown) == 1
    assert not Path(state_path).exists()


def test_a_saved_plan_is_applied_as_it_is_without_a_question(
    terminal: Terminal, state_path: str, tmp_path: Path
) -> None:
    saved = _plan(terminal, state_path, lambda: _keys(tmp_path, "a"))
    assert not Path(state_path).exists()

    outcome = _apply(terminal, state_path, saved)

    assert outcome.result is not None and outcome.result.created == 1
    assert terminal.asked == 0 and terminal.shown == []
    assert _state_addresses(state_path) == {"api_keys.a"}


def test_a_manifest_error_is_reported_before_missing_credentials(
    terminal: Terminal, state_path: str, tmp_path: Path
) -> None:
    def no_credentials() -> str:
        raise CredentialsError("INFOBIP_API_KEY is not set")

    def broken() -> DesiredConfig:
        return _load_broken_manifest(tmp_path)

    with pytest.raises(ConfigurationError):
        _plan(terminal, state_path, broken, endpoint=no_credentials)
    with pytest.raises(CredentialsError):
        _plan(terminal, state_path, lambda: _keys(tmp_path, "a"), endpoint=no_credentials)
    # Neither run reached Infobip.
    assert terminal.connections == 0


def test_a_plan_reads_live_keys_only_after_the_manifests_are_valid_when_state_is_empty(
    terminal: Terminal, state_path: str, tmp_path: Path
) -> None:
    order: list[str] = []
    real_connect = terminal.connect

    def connect() -> AbstractContextManager[KeyService]:
        order.append("connect")
        return real_connect()

    def load() -> DesiredConfig:
        order.append("load")
        return _load_broken_manifest(tmp_path)

    hooks = RunHooks(connect=connect)
    with pytest.raises(ConfigurationError):
        run_plan(
            PlanRequest(state=state_path, endpoint=lambda: EMULATOR_ENDPOINT, load=load), hooks
        )
    assert order == ["load"]
    assert not terminal.emulator_data.exists()


def test_the_plan_shape_reaches_the_planner(
    terminal: Terminal, state_path: str, tmp_path: Path
) -> None:
    wanted = _keys(tmp_path, "a", "b")
    request = PlanRequest(
        state=state_path,
        endpoint=lambda: EMULATOR_ENDPOINT,
        load=lambda: wanted,
        shape=PlanShape(targets=("api_keys.a",)),
    )

    made = run_plan(request, terminal.hooks())

    assert [(c.address, c.action) for c in made.changes if c.action is not Action.NOOP] == [
        ("api_keys.a", Action.CREATE)
    ]
