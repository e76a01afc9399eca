"""A plan as plain data: what will change, why, and what it costs in Infobip writes.

The planner produces a `Plan`; renderers read it (also when it was loaded from a saved plan
file) and apply executes it. Nothing here talks to Infobip or touches files.

Rules the planner keeps (and tests check):
- `before` is None for a create; `after` is None for nothing (a revoke's `after` is the key
  with `enabled: false`). Both use the manifest's attribute names (`MANAGED_ATTRIBUTES`) and
  JSON values: sorted lists, RFC 3339 instants with `Z`.
- `after_unknown` lists attributes known only after apply (`id`, server-default validity).
- `changes` holds every declared key, no-ops included (as Terraform's resource_changes),
  plus removed and unmanaged keys that will be revoked or forgotten. A no-op may still touch
  state (`touches_state`: a move, an import, an adoption, forgetting a removed key).
- `write` is the exact body apply sends: every changed field for an update, the full key for
  a create. `writes` counts the API writes the change costs (create + revoke = 2).
- A rotation is a REPLACE with reason ROTATION and a `rotation` note: the successor is
  created now (1 write) and the predecessor stays enabled for the overlap, so it is not
  among `revokes()`. A later plan revokes it (reason ROTATION_OVERLAP_ENDED). Rotations the
  day's write budget cannot take are `deferred_rotations`, soonest expiry first.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, get_args, get_type_hints

from infobip_iac.domain.keys import KeyWrite, SecretSinkSpec

__all__ = [
    "PLAN_FORMAT_VERSION",
    "AccountRead",
    "Action",
    "AttributeChange",
    "ChangeAuthor",
    "DeferredRotation",
    "DriftItem",
    "Plan",
    "Reason",
    "ResourceChange",
    "RotationNote",
    "UnmanagedKey",
    "WaitingPredecessor",
    "value_types",
]

PLAN_FORMAT_VERSION = 1


class Action(StrEnum):
    """What happens to one key. The values are Terraform's action names."""

    CREATE = "create"
    UPDATE = "update"
    REVOKE = "delete"  # Terraform's word; Infobip cannot delete, so it is a disable
    REPLACE = "replace"  # create the new key first, then revoke the old one
    NOOP = "no-op"

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]

    @property
    def terraform_actions(self) -> list[str]:
        """The `actions` array of Terraform's plan JSON."""
        if self is Action.REPLACE:
            return ["create", "delete"]
        return [self.value]


_SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REVOKE: "-",
    Action.REPLACE: "+/-",
    Action.NOOP: " ",
}


class Reason(StrEnum):
    """Why an action was chosen; rendered next to the change and kept in plan JSON."""

    NEW = "new"  # declared, no live key found
    CHANGED = "changed"  # declared attributes differ from live
    REENABLE = "re-enable"  # declared enabled, live disabled
    DISABLED_IN_CONFIG = "disabled-in-config"  # declared with enabled: false
    REMOVED_FROM_CONFIG = "removed-from-config"  # in state, no longer declared
    UNMANAGED = "unmanaged"  # live, in neither state nor manifest; policy says revoke
    ACCOUNT_CHANGED = "account-changed"  # keys cannot move between accounts: replace
    REPLACE_REQUESTED = "replace-requested"  # --replace / rotate
    SECRET_LOST = "secret-lost"  # noqa: S105 - a reason, not a password; the secret never reached its sink: offer a new key
    GONE = "gone"  # in state, but the live key no longer exists: create again
    ROTATION = "rotation"  # the rotation policy says a successor is due
    ROTATION_OVERLAP_ENDED = "rotation-overlap-ended"  # a predecessor's overlap has passed
    NONE = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeChange:
    """One attribute's difference. For set attributes, `added`/`removed` list the members
    that differ and `unchanged` counts the rest (renderers fold those)."""

    attribute: str
    before: Any = None
    after: Any = None
    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()
    unchanged: int = 0
    sensitive: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RotationNote:
    """Why a key is rotated now, and what becomes of its predecessor."""

    due: str  # "expires in 9 days", "92 days old", "requested"
    predecessor_id: str
    overlap: str  # a duration: the predecessor is revoked this long after the successor
    revoke_predecessor_after: datetime  # planned; apply records it from Infobip's clock


@dataclass(frozen=True, slots=True, kw_only=True)
class DeferredRotation:
    """A rotation due now that today's write budget could not take."""

    address: str
    account: str
    key_id: str
    due: str
    valid_to: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitingPredecessor:
    """A rotated key's predecessor, enabled until its overlap ends."""

    address: str
    key_id: str
    revoke_after: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceChange:
    address: str
    account: str
    name: str
    action: Action
    reason: Reason = Reason.NONE
    key_id: str | None = None  # the live key this change writes to (None for a create)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    after_unknown: tuple[str, ...] = ()
    changes: tuple[AttributeChange, ...] = ()
    write: KeyWrite | None = None  # the body of the create, or of the update/revoke PUT
    writes: int = 0
    secret_sink: SecretSinkSpec | None = None  # where a create's secret goes
    importing_id: str | None = None  # adopted by name or by an `imports` block
    adopted_by_name: bool = False
    previous_address: str | None = None  # set by a `moved` block
    ignored: tuple[str, ...] = ()  # attributes left alone by lifecycle.ignore_changes
    forget: bool = False  # drop the address from state after this change (removed keys)
    # The declaration's lifecycle.prevent_revoke, which apply records in state so that
    # removing the declaration later cannot bypass it.
    prevent_revoke: bool = False
    rotation: RotationNote | None = None  # set when reason is ROTATION

    @property
    def touches_state(self) -> bool:
        """True when apply must record something even without an API write (move, import,
        adoption, forgetting a removed key)."""
        return bool(self.importing_id or self.previous_address or self.forget)

    @property
    def has_effect(self) -> bool:
        """True when applying this change writes to Infobip or to the state."""
        return self.action is not Action.NOOP or self.touches_state

    @property
    def revokes_key(self) -> bool:
        """True when applying it revokes a live key: a revoke, or the second half of a
        replace (which always has the old key's id)."""
        return self.action is Action.REVOKE or (
            self.action is Action.REPLACE and self.key_id is not None and self.rotation is None
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeAuthor:
    """Who last wrote a key, as Infobip's audit log tells it (any field may be missing)."""

    username: str | None = None
    ip_address: str | None = None
    at: datetime | None = None
    action: str | None = None  # the audit log's word: Update, Create, Disable, ...


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftItem:
    """A managed key that changed on Infobip since the tool last wrote it."""

    address: str
    key_id: str
    changes: tuple[AttributeChange, ...]
    will_revert: bool  # False when ignore_changes or --refresh-only leaves it as it is
    # Who changed it, from the audit log; None when the log names no write of this key
    # (or could not be read: then Plan.attribution_unavailable says why).
    changed_by: ChangeAuthor | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnmanagedKey:
    """An enabled live key in neither state nor configuration."""

    account: str
    key_id: str
    name: str
    disposition: Literal["report", "revoke"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountRead:
    """How one account's live keys were read: the plan says when a read was incomplete or
    needed the paging-limit workaround."""

    account: str
    keys: int
    requests: int
    complete: bool = True
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    format_version: int = PLAN_FORMAT_VERSION
    tool_version: str = ""
    created_at: datetime
    refresh_only: bool = False
    targets: tuple[str, ...] = ()
    changes: tuple[ResourceChange, ...] = ()
    drift: tuple[DriftItem, ...] = ()
    unmanaged: tuple[UnmanagedKey, ...] = ()
    reads: tuple[AccountRead, ...] = ()
    warnings: tuple[str, ...] = ()
    # Why the drift could not be attributed (e.g. the credentials lack audit-logs:read);
    # None when it was, or when there was no drift to attribute.
    attribution_unavailable: str | None = None
    # The manifests' validation warnings (DesiredConfig.warnings), apart from the planner's
    # own `warnings` so that each output can place them where a reader looks for them.
    validation_warnings: tuple[str, ...] = ()
    write_limit: int = 40
    # Where the plan's live keys were read (a normalised base URL, or the state's
    # EMULATOR_ENDPOINT): `apply PLANFILE` against another endpoint is refused.
    endpoint: str | None = None
    # The manifest files the plan was made from (relative to the working folder where
    # inside it); apply records them in the state (StateDocument.configuration).
    configuration: tuple[str, ...] = ()
    # By account reference, what is left of today's `write_limit` (Infobip's day), where
    # the state records write requests sent today; other accounts have the whole limit.
    writes_left: dict[str, int] = field(default_factory=dict)
    # Staleness guards for saved plans.
    state_lineage: str | None = None
    state_serial: int | None = None
    # live key id -> LiveKey.fingerprint() at plan time
    fingerprints: dict[str, str] = field(default_factory=dict)
    # policy.max_revokes of the configuration, so a saved plan keeps that guard rail.
    max_revokes: int | None = None
    # With `targets`: how many keys outside them a plan without --target would change, so
    # that a targeted plan with nothing to do does not read as "everything matches".
    changes_outside_targets: int = 0
    # Rotations due that today's write budget could not take, soonest expiry first.
    deferred_rotations: tuple[DeferredRotation, ...] = ()
    # Predecessors of rotated keys still in their overlap, soonest revoke first.
    waiting_predecessors: tuple[WaitingPredecessor, ...] = ()

    @property
    def writes(self) -> int:
        return sum(change.writes for change in self.changes)

    def writes_by_account(self) -> dict[str, int]:
        """API writes per account reference, in account order; Infobip's daily write
        limit counts per account."""
        counts: dict[str, int] = {}
        for change in self.changes:
            if change.writes:
                counts[change.account] = counts.get(change.account, 0) + change.writes
        return dict(sorted(counts.items()))

    def writes_allowed(self, account: str) -> int:
        """The writes `account` has left today, as far as the tool knows."""
        return self.writes_left.get(account, self.write_limit)

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action is action)

    def revokes(self) -> tuple[ResourceChange, ...]:
        """Every change that revokes a live key, replaces included: what the summary's
        "to revoke", the markdown warning and policy.max_revokes all count."""
        return tuple(change for change in self.changes if change.revokes_key)

    @property
    def has_changes(self) -> bool:
        return any(change.has_effect for change in self.changes)

    @property
    def applyable(self) -> bool:
        """True when applying would change anything: keys, or (refresh-only) the state."""
        return self.has_changes or (self.refresh_only and bool(self.drift))


def value_types(root: type) -> list[type]:
    """`root` and every dataclass its fields can hold, at any depth: for `Plan`, every
    shape a saved plan file holds (planfile.py reads them all)."""
    found: list[type] = []
    pending = [root]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.append(current)
        hints = get_type_hints(current)
        for item in fields(current):
            parts = [hints[item.name]]
            while parts:
                part = parts.pop()
                parts.extend(get_args(part))
                if isinstance(part, type) and is_dataclass(part):
                    pending.append(part)
    return found
