"""An index of the live keys a plan reads: by id, by account, and enabled keys by name.

Account references stay as the manifest writes them (`_` or an id). The same Infobip account
can be named both ways (the caller's own account as `_` and as its id); the index learns the
caller's id from the keys read for `_` and from state, so both spellings compare equal.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from infobip_iac.domain.keys import CALLER_ACCOUNT, LiveKey
from infobip_iac.errors import PlanError
from infobip_iac.infobip.api import AccountKeys
from infobip_iac.state.model import StateDocument

__all__ = ["LiveIndex"]


class LiveIndex:
    """Read-only lookups over `live` (account reference -> AccountKeys)."""

    def __init__(self, live: Mapping[str, AccountKeys], state: StateDocument) -> None:
        self._by_account: dict[str, list[LiveKey]] = {}
        self._by_id: dict[str, tuple[str, LiveKey]] = {}
        self._named: dict[tuple[str, str], list[LiveKey]] | None = None
        for account in sorted(live):
            keys = sorted(live[account].keys, key=lambda key: key.id)
            self._by_account[account] = keys
            for key in keys:
                # A key read under both `_` and its account id is indexed once, under the
                # first reference in sorted order, so it is never reported twice.
                self._by_id.setdefault(key.id, (account, key))
        self._caller_id = self._learn_caller_id(state)

    def _learn_caller_id(self, state: StateDocument) -> str | None:
        for key in self._by_account.get(CALLER_ACCOUNT, ()):
            return key.account_id
        for record in state.resources.values():
            if record.account == CALLER_ACCOUNT and record.account_id:
                return record.account_id
        return None

    def require_accounts(self, accounts: set[str]) -> None:
        """Every account the plan names must have been read; anything else is a caller bug
        that would make keys look deleted."""
        missing = sorted(accounts - set(self._by_account))
        if missing:
            raise PlanError(
                "no live keys were read for account(s) "
                + ", ".join(missing)
                + "; every account the configuration or the state names must be read first"
            )

    def get(self, key_id: str) -> LiveKey | None:
        found = self._by_id.get(key_id)
        return found[1] if found else None

    def account_of(self, key_id: str) -> str | None:
        found = self._by_id.get(key_id)
        return found[0] if found else None

    def in_account(self, account: str, key_id: str) -> bool:
        """True when the key was read for `account` or for another reference to it."""
        found = self._by_id.get(key_id)
        return found is not None and self.same_account(found[0], account)

    def enabled_named(self, account: str, name: str) -> list[LiveKey]:
        """Enabled keys of `account` called exactly `name`, by id."""
        if self._named is None:
            named: dict[tuple[str, str], list[LiveKey]] = {}
            for ref, keys in self._by_account.items():
                for key in keys:
                    if key.enabled:
                        named.setdefault((ref, key.name), []).append(key)
            self._named = named
        return list(self._named.get((account, name), ()))

    def resolve(self, account: str) -> str | None:
        """The Infobip account id a reference names, None when `_` cannot be resolved."""
        return self._caller_id if account == CALLER_ACCOUNT else account

    def same_account(self, first: str, second: str) -> bool:
        if first == second:
            return True
        resolved = self.resolve(first)
        return resolved is not None and resolved == self.resolve(second)

    def unique_keys(self) -> Iterator[tuple[str, LiveKey]]:
        """Every distinct live key with the account reference it was indexed under, in
        (account, id) order."""
        yield from sorted(self._by_id.values(), key=lambda item: (item[0], item[1].id))
