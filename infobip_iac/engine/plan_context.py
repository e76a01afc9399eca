"""What the parts of the planner share while one plan is made.

The inputs (configuration, state, the live keys' index, Infobip's `now`, the flags) and
what the parts collect on the way: problems that stop the plan (collected, not raised, so
that `--target` can plan around a problem elsewhere), warnings, predecessors waiting for
their overlap to end, unmanaged keys, rotations deferred, and the count of changes
`--target` leaves out. One context per `make_plan` call; nothing outlives it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from infobip_iac.domain.keys import DesiredConfig, LiveKey
from infobip_iac.domain.plan import DeferredRotation, UnmanagedKey, WaitingPredecessor
from infobip_iac.engine.diff import Attributes
from infobip_iac.engine.identity import Problem
from infobip_iac.engine.live import LiveIndex
from infobip_iac.errors import PlanError
from infobip_iac.state.model import StateDocument

__all__ = ["PlanContext"]


@dataclass(slots=True, kw_only=True)
class PlanContext:
    config: DesiredConfig
    state: StateDocument
    index: LiveIndex
    now: datetime
    write_limit: int
    refresh_only: bool = False
    targets: frozenset[str] = frozenset()
    replace: frozenset[str] = frozenset()
    rotate: frozenset[str] = frozenset()

    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    waiting: list[WaitingPredecessor] = field(default_factory=list)
    unmanaged: list[UnmanagedKey] = field(default_factory=list)
    deferred: tuple[DeferredRotation, ...] = ()
    # Keys --target leaves out that a plan without it would change (planned, then
    # dropped: only their count is kept, for the summary).
    outside_targets: int = 0
    # A live key's plan JSON is asked for by its change, its drift and its fingerprint.
    _attributes: dict[str, Attributes] = field(default_factory=dict, init=False)

    def live_key(self, key_id: str) -> LiveKey:
        key = self.index.get(key_id)
        if key is None:  # pragma: no cover - changes only name keys the index holds
            raise PlanError(f"internal: key {key_id} is not among the live keys")
        return key

    def attributes_of(self, key: LiveKey) -> Attributes:
        cached = self._attributes.get(key.id)
        if cached is None:
            cached = self._attributes[key.id] = key.attributes()
        return cached

    def fingerprint(self, key_id: str) -> str:
        key = self.live_key(key_id)
        return key.fingerprint(self.attributes_of(key))

    def in_scope(self, *addresses: str | None) -> bool:
        """`--target`: an address is planned when it, or the address it moved from, is
        targeted."""
        return not self.targets or any(a in self.targets for a in addresses if a)

    def refuse(self, address: str, message: str) -> None:
        """A problem that stops the plan of `address`."""
        self.problems.append(Problem((address,), message))
