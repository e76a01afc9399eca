"""The state document: which Infobip key each address manages, and what we last wrote.

On disk (SPEC §5): `{"version", "lineage", "serial", "endpoint", "configuration",
"accounts", "writes": {account: {"day", "requests"}}, "resources": {address: {...}}}`
("writes" only once a write was tallied; `revoke_after` only on a rotated key's
predecessor). It never holds a secret; `secret` records only where a secret went and
whether it arrived.

A state belongs to one place, as a Terraform state belongs to one backend: `endpoint` is
the Infobip base URL its keys live at (or EMULATOR_ENDPOINT for the embedded emulator), and
`accounts` the Infobip account ids of its keys (derived from `resources`). A run against
another endpoint is refused (state.store), so keys of one place are never planned, revoked
or orphaned from another.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from infobip_iac.domain.keys import SinkKind

if TYPE_CHECKING:
    from infobip_iac.domain.keys import LiveKey

__all__ = [
    "EMULATOR_ENDPOINT",
    "STATE_VERSION",
    "ResourceState",
    "SecretRecord",
    "StateDocument",
    "VersionInfo",
    "WriteTally",
    "describe_endpoint",
]

STATE_VERSION = 3

# The `endpoint` of a state kept against the embedded emulator (`--emulator`), whose
# loopback URL changes with every run.
EMULATOR_ENDPOINT = "emulator"


def describe_endpoint(endpoint: str) -> str:
    """An endpoint as messages name it."""
    if endpoint == EMULATOR_ENDPOINT:
        return "the embedded emulator (--emulator)"
    return endpoint


class SecretRecord(BaseModel):
    """What became of a created key's secret: never the secret itself."""

    model_config = ConfigDict(extra="forbid")

    sink: SinkKind
    status: Literal["delivered", "lost", "not-requested"]
    location: str | None = None  # a file path or the command name; never the value
    detail: str | None = None  # why a delivery failed
    files_written: list[str] = Field(default_factory=list)  # files this key's sink owns


class WriteTally(BaseModel):
    """The write requests this tool sent to one account on one day of Infobip's clock
    (UTC), refused and failed ones included: Infobip's limit of 40 a day counts requests."""

    model_config = ConfigDict(extra="forbid")

    day: date
    requests: int = Field(default=0, ge=0)


class ResourceState(BaseModel):
    """One managed key. `attributes` is LiveKey.attributes() as of our last write or read;
    `valid_for` records a relative validity so that later plans do not re-derive it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    account: str  # the account reference as the manifest wrote it ("_" or an id)
    account_id: str | None = None  # the resolved Infobip account id
    name: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    valid_for: str | None = None
    # Remembered so that removing a key's declaration cannot bypass its guard rail.
    prevent_revoke: bool = False
    secret: SecretRecord | None = None
    # A rotated key's predecessor (at a deposed address): revoked once Infobip's clock
    # passes this; until then it stays enabled, so users of the key can switch.
    revoke_after: datetime | None = None

    @classmethod
    def of_live_key(
        cls,
        key: LiveKey,
        *,
        account: str,
        valid_for: str | None = None,
        prevent_revoke: bool = False,
        secret: SecretRecord | None = None,
    ) -> ResourceState:
        """The entry for `key` as Infobip just showed it, managed under the `account`
        reference the manifest wrote."""
        return cls(
            id=key.id,
            account=account,
            account_id=key.account_id,
            name=key.name,
            attributes=key.attributes(),
            valid_for=valid_for,
            prevent_revoke=prevent_revoke,
            secret=secret,
        )


class StateDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = STATE_VERSION
    lineage: str = Field(default_factory=lambda: str(uuid.uuid4()))
    serial: int = 0
    # The normalised base URL (or EMULATOR_ENDPOINT) of the keys in `resources`; None in a
    # state no run has written yet (or one upgraded from version 1): the next write
    # records the endpoint of its run.
    endpoint: str | None = None
    # The manifest files of the configuration that last applied this state (relative to
    # the working folder where they are inside it): a plan of other manifests that would
    # revoke this state's keys says whose keys they are.
    configuration: list[str] = Field(default_factory=list)
    resources: dict[str, ResourceState] = Field(default_factory=dict)
    # By account reference ("_" or an id), the latest day a write was sent to it.
    writes: dict[str, WriteTally] = Field(default_factory=dict)

    def writes_on(self, account: str, day: date) -> int:
        """Write requests sent to `account` on `day` (0 when none are recorded)."""
        tally = self.writes.get(account)
        return tally.requests if tally is not None and tally.day == day else 0

    def count_writes(self, account: str, day: date, requests: int = 1) -> None:
        """Record `requests` more write requests to `account` on `day`; an earlier day's
        tally is replaced."""
        self.writes[account] = WriteTally(day=day, requests=self.writes_on(account, day) + requests)

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, data: Any) -> Any:
        # `accounts` is written for people and tools reading the file; read back, it is
        # derived from the resources again, so it can never disagree with them.
        if isinstance(data, dict) and "accounts" in data:
            return {name: value for name, value in data.items() if name != "accounts"}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accounts(self) -> list[str]:
        """The Infobip account ids of the managed keys, sorted (written to the file)."""
        return sorted({res.account_id for res in self.resources.values() if res.account_id})

    def by_key_id(self) -> dict[str, str]:
        """Infobip key id -> address."""
        return {res.id: address for address, res in self.resources.items()}


@dataclass(frozen=True)
class VersionInfo:
    """One stored version of a state, as `state history` lists it. (Here, beside the state's
    format, so that the backends and the seam that opens them need not import each other.)"""

    serial: int
    lineage: str
    created: datetime | None
    who: str
    summary: str
