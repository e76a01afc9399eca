"""What an apply is given and what it gives back: its options, its progress events, its result.

Apart from `engine.apply` so that every part of an apply (the writes, the settling of
unanswered creates, the secret delivery) and the recovery before it can speak in the same
events without importing the apply that composes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TextIO

from infobip_iac.engine.guard_rails import DEFAULT_MAX_WRITES
from infobip_iac.state.model import StateDocument

__all__ = ["ApplyEvent", "ApplyOptions", "ApplyResult", "EventKind"]


class EventKind(StrEnum):
    WRITING = "writing"  # a write is about to be sent
    WRITTEN = "written"  # Infobip confirmed a write
    STATE = "state"  # state changed without a write (move, import, forget)
    SECRET = "secret"  # noqa: S105 - an event name; a secret reached its sink
    WARNING = "warning"  # something the user must act on (a lost secret, an adoption)
    STOPPED = "stopped"  # the apply ended early (daily write limit, an API error)


@dataclass(frozen=True)
class ApplyEvent:
    """One line of progress. `message` never holds a secret."""

    kind: EventKind
    address: str
    message: str


@dataclass(frozen=True)
class ApplyOptions:
    max_writes: int = DEFAULT_MAX_WRITES
    allow_revokes: bool = False
    show_secrets: bool = False
    # A plan read from a file is checked against the state and live keys before use.
    saved_plan: bool = False
    sink_timeout: float = 30.0
    # Where a `stdout` sink prints (only with show_secrets).
    stdout: TextIO | None = None


@dataclass
class ApplyResult:
    created: int = 0
    updated: int = 0
    revoked: int = 0
    # Keys put under an address without a write: `imports` blocks, `import`-style
    # adoptions by name, and `moved` blocks. Counted so that an apply that only did these
    # does not read as having done nothing.
    imported: int = 0
    moved: int = 0
    state_changes: int = 0
    writes: int = 0
    secrets_lost: list[str] = field(default_factory=list)
    # Addresses whose create got no answer, was sent again, and may still make a second
    # key: the journal keeps them for the next apply to look for.
    unsettled_creates: list[str] = field(default_factory=list)
    # Every step ran, and all that is left is to learn what became of unsettled_creates.
    only_settling_left: bool = False
    stopped_by_limit: bool = False
    retry_after: float | None = None
    resume_after: datetime | None = None
    # What was left undone when the apply stopped early: "create api_keys.x", …
    remaining: list[str] = field(default_factory=list)
    error: str | None = None
    # The state as last saved (None when the apply saved nothing).
    state: StateDocument | None = None

    @property
    def exit_code(self) -> int:
        """0 done; 3 stopped by the daily write limit (resumable); 1 anything else."""
        if self.stopped_by_limit:
            return 3
        if self.error or self.secrets_lost or self.unsettled_creates:
            return 1
        return 0
