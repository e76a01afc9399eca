"""Everything the emulator knows, in memory: accounts, users, keys per account (kept in id
order, names indexed, so a page of a 20,000-key account is a slice), keys by secret and the
daily write counts and the audit log. Callers hold `Store.lock` around every use."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from infobip_iac.emulator.audit import AuditEntry
from infobip_iac.emulator.model import Account, EmulatorUser, StoredKey, new_hex_id

__all__ = ["AccountKeys", "Store"]

STORE_FORMAT = 1


@dataclass
class AccountKeys:
    """The keys of one account: by id, the ids sorted, and ids by exact name."""

    by_id: dict[str, StoredKey] = field(default_factory=dict)
    ordered_ids: list[str] = field(default_factory=list)
    ids_by_name: dict[str, set[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.by_id)

    def put(self, key: StoredKey) -> None:
        previous = self.by_id.get(key.id)
        if previous is None:
            bisect.insort(self.ordered_ids, key.id)
        elif previous.name != key.name:
            self._unindex_name(previous)
        self.by_id[key.id] = key
        self.ids_by_name.setdefault(key.name, set()).add(key.id)

    def add_new(self, keys: list[StoredKey]) -> None:
        for key in keys:
            self.by_id[key.id] = key
            self.ids_by_name.setdefault(key.name, set()).add(key.id)
        self.ordered_ids = sorted(self.by_id)

    def ordered(self) -> Iterator[StoredKey]:
        return (self.by_id[key_id] for key_id in self.ordered_ids)

    def _unindex_name(self, key: StoredKey) -> None:
        ids = self.ids_by_name.get(key.name)
        if ids is not None:
            ids.discard(key.id)
            if not ids:
                del self.ids_by_name[key.name]


class Store:
    def __init__(self, main_account_id: str | None = None) -> None:
        self.lock = threading.RLock()
        self.main_account_id = main_account_id or new_hex_id()
        self.accounts: dict[str, Account] = {}
        self.users: dict[str, EmulatorUser] = {}
        self.keys: dict[str, AccountKeys] = {}
        self.key_by_secret: dict[str, tuple[str, str]] = {}
        # (UTC day of the emulator clock, budget owner) -> writes done that day
        self.writes_by_day: dict[tuple[str, str], int] = {}
        self.audit: list[AuditEntry] = []  # oldest first
        self.clear()

    def clear(self) -> None:
        """Back to a main account with no keys and no sub-accounts; users are kept."""
        self.accounts = {self.main_account_id: Account(self.main_account_id, "Main account")}
        self.keys = {self.main_account_id: AccountKeys()}
        self.key_by_secret = {}
        self.writes_by_day = {}
        self.audit = []

    # accounts and users

    def add_account(self, account: Account) -> None:
        self.accounts[account.id] = account
        self.keys.setdefault(account.id, AccountKeys())

    def add_user(self, user: EmulatorUser) -> None:
        self.users[user.username] = user

    def account_of(self, user: EmulatorUser) -> str:
        return user.account_id or self.main_account_id

    def sub_accounts(self, owner_id: str) -> list[Account]:
        return [a for a in self.accounts.values() if a.owner_id == owner_id]

    def can_reach(self, caller_account: str, account_id: str) -> bool:
        """A caller reaches its own account and, from a main account, its sub-accounts."""
        if caller_account == account_id:
            return True
        account = self.accounts.get(account_id)
        return account is not None and account.owner_id == caller_account

    # keys

    def account_keys(self, account_id: str) -> AccountKeys:
        return self.keys.setdefault(account_id, AccountKeys())

    def find_key(self, key_id: str) -> StoredKey | None:
        for keys in self.keys.values():
            found = keys.by_id.get(key_id)
            if found is not None:
                return found
        return None

    def put_key(self, key: StoredKey) -> None:
        self.account_keys(key.account_id).put(key)
        self.key_by_secret[key.secret] = (key.account_id, key.id)

    def put_new_keys(self, account_id: str, keys: list[StoredKey]) -> None:
        """Many new keys at once (seeding): one sort instead of an insertion per key."""
        self.account_keys(account_id).add_new(keys)
        for key in keys:
            self.key_by_secret[key.secret] = (key.account_id, key.id)

    def key_for_secret(self, secret: str) -> StoredKey | None:
        where = self.key_by_secret.get(secret)
        if where is None:
            return None
        return self.keys[where[0]].by_id.get(where[1])

    def all_keys(self) -> Iterable[StoredKey]:
        for keys in self.keys.values():
            yield from keys.ordered()

    # writes per day

    def writes_on(self, day: str, owner: str) -> int:
        return self.writes_by_day.get((day, owner), 0)

    def count_write(self, day: str, owner: str) -> None:
        # Only today's counts matter; older days are dropped so the map stays small.
        for stale in [k for k in self.writes_by_day if k[0] != day]:
            del self.writes_by_day[stale]
        self.writes_by_day[(day, owner)] = self.writes_on(day, owner) + 1

    # persistence

    def to_document(self) -> dict[str, Any]:
        return {
            "format": STORE_FORMAT,
            "mainAccountId": self.main_account_id,
            "accounts": [a.to_record() for a in self.accounts.values()],
            "users": [u.to_record() for u in self.users.values()],
            "keys": [k.to_record() for k in self.all_keys()],
            "writes": [
                {"day": day, "owner": owner, "count": count}
                for (day, owner), count in self.writes_by_day.items()
            ],
            "auditLogs": [entry.to_record() for entry in self.audit],
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Store:
        if document.get("format") != STORE_FORMAT:
            raise ValueError(f"unknown emulator data format {document.get('format')!r}")
        store = cls(document["mainAccountId"])
        for record in document["accounts"]:
            store.add_account(Account.from_record(record))
        for record in document["users"]:
            store.add_user(EmulatorUser.from_record(record))
        by_account: dict[str, list[StoredKey]] = {}
        for record in document["keys"]:
            key = StoredKey.from_record(record)
            by_account.setdefault(key.account_id, []).append(key)
        for account_id, keys in by_account.items():
            store.put_new_keys(account_id, keys)
        for record in document.get("writes", []):
            store.writes_by_day[(record["day"], record["owner"])] = int(record["count"])
        store.audit = [AuditEntry.from_record(record) for record in document.get("auditLogs", [])]
        return store
