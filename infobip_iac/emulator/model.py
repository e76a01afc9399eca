"""What the emulator stores: accounts, users and API keys, and their JSON forms."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from infobip_iac.emulator.clock import format_key_instant, parse_instant

__all__ = [
    "DEFAULT_ROLE",
    "Account",
    "EmulatorUser",
    "StoredKey",
    "new_hex_id",
    "new_secret",
]

DEFAULT_ROLE = "Account Manager"


def new_hex_id() -> str:
    """An id as Infobip writes its key and account ids: 32 upper-case hex digits."""
    return secrets.token_hex(16).upper()


def new_secret() -> str:
    """A secret shaped like Infobip's: 32 lower-case hex digits, a dash, a UUID."""
    return f"{secrets.token_hex(16)}-{uuid.uuid4()}"


@dataclass(frozen=True)
class EmulatorUser:
    """A user who can sign in. `account_id` None means the main account."""

    username: str
    password: str
    roles: Sequence[str] = (DEFAULT_ROLE,)
    account_id: str | None = None

    def __repr__(self) -> str:
        # The password stays out of reprs, so it cannot land in a test report by accident.
        return f"EmulatorUser(username={self.username!r}, roles={list(self.roles)!r})"

    def to_record(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "password": self.password,
            "roles": list(self.roles),
            "accountId": self.account_id,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> EmulatorUser:
        return cls(
            username=record["username"],
            password=record["password"],
            roles=tuple(record["roles"]),
            account_id=record.get("accountId"),
        )


@dataclass(frozen=True)
class Account:
    """An Infobip account; `owner_id` is the main account for a sub-account, None for main."""

    id: str
    name: str
    owner_id: str | None = None
    enabled: bool = True

    def to_api(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"key": self.id, "name": self.name, "enabled": self.enabled}
        if self.owner_id is not None:
            answer["ownerKey"] = self.owner_id
        return answer

    def to_record(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "ownerId": self.owner_id, "enabled": self.enabled}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Account:
        return cls(
            id=record["id"],
            name=record["name"],
            owner_id=record.get("ownerId"),
            enabled=bool(record.get("enabled", True)),
        )


@dataclass(frozen=True)
class StoredKey:
    """One API key as Infobip holds it. A key linked to CPaaS X `platform` entries carries no
    permissions or scopes (Infobip refuses the combination)."""

    id: str
    secret: str
    account_id: str
    name: str
    valid_from: datetime
    valid_to: datetime
    enabled: bool = True
    allowed_ips: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ("PUBLIC_API",)
    platform: tuple[dict[str, str], ...] = field(default=())
    scope_guids: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"StoredKey(id={self.id!r}, account_id={self.account_id!r}, name={self.name!r})"

    def to_api(self) -> dict[str, Any]:
        """The key as Infobip's `ApiKey` schema answers it (the spec includes the secret)."""
        answer: dict[str, Any] = {
            "id": self.id,
            "apiKeySecret": self.secret,
            "accountId": self.account_id,
            "name": self.name,
            "allowedIPs": list(self.allowed_ips),
            "validFrom": format_key_instant(self.valid_from),
            "validTo": format_key_instant(self.valid_to),
            "enabled": self.enabled,
        }
        if self.platform:
            answer["platform"] = [dict(link) for link in self.platform]
        else:
            answer["permissions"] = list(self.permissions)
            answer["scopeGuids"] = list(self.scope_guids)
        return answer

    def to_record(self) -> dict[str, Any]:
        """The key as the data file holds it (the API shape); computed once per key version,
        since the whole store is written after every mutation. Callers must not modify it."""
        return self._record

    @cached_property
    def _record(self) -> dict[str, Any]:
        return self.to_api()

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> StoredKey:
        return cls(
            id=record["id"],
            secret=record["apiKeySecret"],
            account_id=record["accountId"],
            name=record["name"],
            valid_from=parse_instant(record["validFrom"]),
            valid_to=parse_instant(record["validTo"]),
            enabled=bool(record["enabled"]),
            allowed_ips=tuple(record.get("allowedIPs", ())),
            permissions=tuple(record.get("permissions", ())),
            platform=tuple(dict(link) for link in record.get("platform", ())),
            scope_guids=tuple(record.get("scopeGuids", ())),
        )
