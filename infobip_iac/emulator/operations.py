"""Infobip's operations as the emulator serves them: API keys v2, sub-accounts, the audit
log of key writes, IBSSO sessions and OAuth2 tokens."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from infobip_iac.emulator.audit import AUDIT_PATH, AUDIT_SCOPE, key_write_entry, search
from infobip_iac.emulator.auth import TOKEN_LIFETIME, Caller
from infobip_iac.emulator.failures import OperationError
from infobip_iac.emulator.limits import day_of, write_refusal
from infobip_iac.emulator.model import StoredKey
from infobip_iac.emulator.routing import Answer, Call, Route
from infobip_iac.emulator.services import ServedApi, Services
from infobip_iac.emulator.validation import apply_update, build_new_key, read_key_request

__all__ = ["KEYS_PATH", "InfobipApi", "LimitScope"]

KEYS_PATH = "/settings/2/api-keys"
MAX_PAGE = 100
MAX_SIZE = 100
DEFAULT_ACCOUNTS_LIMIT = 40

LimitScope = Literal["account", "caller"]

# orderBy values accepted, and how each sorts (ties broken by id, as the default order is).
_ORDERINGS: dict[str, Callable[[StoredKey], Any]] = {
    "id": lambda key: key.id,
    "name": lambda key: (key.name, key.id),
    "validFrom": lambda key: (key.valid_from, key.id),
    "validTo": lambda key: (key.valid_to, key.id),
    "enabled": lambda key: (key.enabled, key.id),
}


@dataclass(frozen=True)
class _Page:
    number: int
    size: int
    order_by: str
    descending: bool


@dataclass(frozen=True)
class _Write:
    """A key write admitted under the daily limit."""

    caller: Caller
    body: Any
    account: str
    owner: str
    now: datetime
    client_ip: str


class InfobipApi(ServedApi):
    def __init__(
        self,
        services: Services,
        *,
        write_limit: int,
        count_refused_writes: bool = True,
        limit_scope: LimitScope,
    ) -> None:
        super().__init__(services)
        self._write_limit = write_limit
        self._count_refused_writes = count_refused_writes
        self._limit_scope = limit_scope

    def routes(self) -> list[Route]:
        key_path = KEYS_PATH + "/{apiKeyId}"
        return [
            Route("GET", KEYS_PATH, self.list_keys, budget="read"),
            Route("POST", KEYS_PATH, self.create_key, budget="write"),
            Route("GET", key_path, self.get_key, budget="read"),
            Route("PUT", key_path, self.update_key, budget="write"),
            Route("GET", "/settings/1/accounts", self.list_accounts, family="api-exception"),
            Route("GET", AUDIT_PATH, self.search_audit_logs, family="api-exception"),
            Route("POST", "/auth/1/session", self.create_session, family="api-exception"),
            Route("DELETE", "/auth/1/session", self.destroy_session, family="api-exception"),
            Route("POST", "/auth/1/oauth2/token", self.create_token, family="oauth"),
        ]

    # API keys

    def list_keys(self, call: Call) -> Answer:
        caller = self._key_manager(call)
        account = self._target_account(caller, call.single("accountId"))
        self._reads.take(self._budget_owner(caller, account))
        page = _read_page(call)
        name = call.single("name")
        enabled = _read_boolean(call.single("enabled"), "enabled")
        secret = call.single("apiKeySecret")
        keys = self._store.account_keys(account)
        ids = sorted(keys.ids_by_name.get(name, ())) if name is not None else keys.ordered_ids
        if enabled is None and secret is None and page.order_by == "id":
            # The common case: the page is a slice of the sorted ids, nothing else is read.
            ordered = ids[::-1] if page.descending else ids
            start = page.number * page.size
            selected = [keys.by_id[key_id] for key_id in ordered[start : start + page.size]]
            return _page_answer(selected, len(ids), page)
        matching = [
            key
            for key in map(keys.by_id.__getitem__, ids)
            if (enabled is None or key.enabled is enabled)
            and (secret is None or key.secret == secret)
        ]
        # Candidates come in id order, so only other orderings need a sort.
        if page.order_by != "id":
            matching.sort(key=_ORDERINGS[page.order_by], reverse=page.descending)
        elif page.descending:
            matching.reverse()
        start = page.number * page.size
        return _page_answer(matching[start : start + page.size], len(matching), page)

    def get_key(self, call: Call) -> Answer:
        caller = self._key_manager(call)
        self._reads.take(self._budget_owner(caller, caller.account_id))
        key = self._store.find_key(call.params["apiKeyId"])
        if key is None or not self._store.can_reach(caller.account_id, key.account_id):
            raise OperationError(404, f"No API key with id {call.params['apiKeyId']!r}.")
        return Answer(200, key.to_api())

    def create_key(self, call: Call) -> Answer:
        write = self._admit_write(call)
        request = read_key_request(write.body, self._catalog)
        key = build_new_key(
            request,
            account_id=write.account,
            now=write.now,
            platform_allowed=self._platform_allowed(write.caller, write.account),
        )
        self._store_write(write, key, previous=None)
        return Answer(200, key.to_api())

    def update_key(self, call: Call) -> Answer:
        write = self._admit_write(call)
        key_id = call.params["apiKeyId"]
        stored = self._store.account_keys(write.account).by_id.get(key_id)
        if stored is None:
            raise OperationError(404, f"No API key with id {key_id!r} in account {write.account}.")
        request = read_key_request(write.body, self._catalog)
        updated = apply_update(
            stored, request, platform_allowed=self._platform_allowed(write.caller, write.account)
        )
        self._store_write(write, updated, previous=stored)
        return Answer(200, updated.to_api())

    # accounts

    def list_accounts(self, call: Call) -> Answer:
        caller = self._auth.authenticate(
            call.headers.get("authorization"), self._clock.now(), keys_allowed=True
        )
        self._auth.require_manage(caller)
        name = call.single("name")
        enabled = _read_boolean(call.single("enabled"), "enabled")
        limit = _read_integer(call.single("limit"), "limit", DEFAULT_ACCOUNTS_LIMIT, 1, None)
        accounts = [
            account
            for account in self._store.sub_accounts(caller.account_id)
            if (name is None or account.name == name)
            and (enabled is None or account.enabled == enabled)
        ]
        return Answer(200, {"accounts": [a.to_api() for a in accounts[:limit]]})

    # audit logs

    def search_audit_logs(self, call: Call) -> Answer:
        """The audit log of the caller's account and its sub-accounts; the spec lets API
        keys read it too, given the scope."""
        caller = self._auth.authenticate(
            call.headers.get("authorization"), self._clock.now(), keys_allowed=True
        )
        if AUDIT_SCOPE not in caller.scopes:
            raise OperationError(
                403,
                f"The caller lacks the {AUDIT_SCOPE} scope; give the user a role that "
                "grants it (e.g. Account Manager or Integrations Manager).",
            )
        visible = [
            entry
            for entry in self._store.audit
            if self._store.can_reach(caller.account_id, entry.account_id)
        ]
        filters = {
            name: call.single(name)
            for name in ("action", "item", "description", "ipAddress", "from", "to")
        }
        return Answer(200, search(visible, filters=filters, limit_text=call.single("limit")))

    # sign-in

    def create_session(self, call: Call) -> Answer:
        body = call.json()
        if not isinstance(body, dict):
            raise OperationError(
                400, "The body must be a JSON object.", [("body", "not an object")]
            )
        missing = [
            (field, "is required")
            for field in ("username", "password")
            if not isinstance(body.get(field), str)
        ]
        if missing:
            raise OperationError(400, "Username and password are required.", missing)
        token = self._auth.open_session(body["username"], body["password"], self._clock.now())
        if token is None:
            raise OperationError(401, "Wrong username or password.")
        return Answer(200, {"token": token})

    def destroy_session(self, call: Call) -> Answer:
        token = self._auth.session_token(call.headers.get("authorization"))
        if token is None:
            raise OperationError(401, "Send the session to end as 'Authorization: IBSSO <token>'.")
        # Resolving it first answers 401 for an unknown or expired session.
        self._auth.authenticate(f"IBSSO {token}", self._clock.now(), keys_allowed=False)
        self._auth.close_session(token)
        return Answer(200)

    def create_token(self, call: Call) -> Answer:
        form = call.form()
        missing = [
            (field, "is required")
            for field in ("client_id", "client_secret", "grant_type")
            if not form.get(field)
        ]
        if missing:
            raise OperationError(
                400, "client_id, client_secret and grant_type are required.", missing
            )
        if form["grant_type"] != "client_credentials":
            raise OperationError(
                400,
                "Only grant_type=client_credentials is supported.",
                [("grant_type", "must be client_credentials")],
            )
        token = self._auth.issue_token(form["client_id"], form["client_secret"], self._clock.now())
        if token is None:
            raise OperationError(401, "Wrong client_id or client_secret.")
        return Answer(
            200,
            {
                "access_token": token,
                "expires_in": int(TOKEN_LIFETIME.total_seconds()),
                "token_type": "Bearer",
            },
        )

    # shared steps

    def _admit_write(self, call: Call) -> _Write:
        """Who writes to which account; refused when the daily write limit is spent, before
        the body is validated (creates and updates count alike). An admitted request counts
        toward the limit whatever its outcome, as far as anyone knows Infobip counts:
        a write refused for its body, or for a key that does not exist, is spent too
        (unless `count_refused_writes` is off: then only writes that succeed count)."""
        caller = self._key_manager(call)
        body = call.json()
        account = self._target_account(caller, _account_field(body))
        owner = self._budget_owner(caller, account)
        now = self._clock.now()
        refusal = write_refusal(self._store, owner, now, self._write_limit)
        if refusal is not None:
            raise refusal
        if self._count_refused_writes:
            self._store.count_write(day_of(now), owner)
            self._persist()
        return _Write(
            caller=caller,
            body=body,
            account=account,
            owner=owner,
            now=now,
            client_ip=call.client_ip,
        )

    def _store_write(self, write: _Write, key: StoredKey, *, previous: StoredKey | None) -> None:
        self._store.put_key(key)
        if not self._count_refused_writes:
            self._store.count_write(day_of(write.now), write.owner)
        self._store.audit.append(
            key_write_entry(
                account_id=key.account_id,
                key_id=key.id,
                key_name=key.name,
                was_enabled=None if previous is None else previous.enabled,
                enabled=key.enabled,
                username=write.caller.name,
                ip_address=write.client_ip,
                now=write.now,
            )
        )
        self._persist()

    def _key_manager(self, call: Call) -> Caller:
        caller = self._auth.authenticate(
            call.headers.get("authorization"), self._clock.now(), keys_allowed=False
        )
        self._auth.require_manage(caller)
        return caller

    def _target_account(self, caller: Caller, account_id: str | None) -> str:
        if not account_id:
            return caller.account_id
        if not self._store.can_reach(caller.account_id, account_id):
            raise OperationError(
                403,
                f"Account {account_id} is not the caller's account nor one of its sub-accounts.",
            )
        return account_id

    def _budget_owner(self, caller: Caller, account: str) -> str:
        return caller.name if self._limit_scope == "caller" else account

    def _platform_allowed(self, caller: Caller, account: str) -> bool:
        # Infobip links CPaaS X applications only to keys of the caller's own main account.
        return account == caller.account_id == self._store.main_account_id


def _page_answer(selected: list[StoredKey], total: int, page: _Page) -> Answer:
    return Answer(
        200,
        {
            "apiKeys": [key.to_api() for key in selected],
            "paging": {
                "page": page.number,
                "pageSize": page.size,
                "orderDirection": "desc" if page.descending else "asc",
                "orderBy": page.order_by,
                "totalCount": total,
                "totalPages": math.ceil(total / page.size),
            },
        },
    )


def _account_field(body: Any) -> str | None:
    value = body.get("accountId") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _read_page(call: Call) -> _Page:
    number = _read_integer(call.single("page"), "page", 0, 0, MAX_PAGE)
    size = _read_integer(call.single("size"), "size", MAX_SIZE, 1, MAX_SIZE)
    order_by = call.single("orderBy") or "id"
    if order_by not in _ORDERINGS:
        raise OperationError(400, "", [("orderBy", f"must be one of {', '.join(_ORDERINGS)}")])
    direction = (call.single("orderDirection") or "asc").lower()
    if direction not in ("asc", "desc"):
        raise OperationError(400, "", [("orderDirection", "must be asc or desc")])
    return _Page(number, size, order_by, direction == "desc")


def _read_integer(text: str | None, name: str, default: int, low: int, high: int | None) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise OperationError(400, "", [(name, "must be an integer")]) from None
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise OperationError(400, "", [(name, f"must be {bound}")])
    return value


def _read_boolean(text: str | None, name: str) -> bool | None:
    if text is None or text == "":
        return None
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise OperationError(400, "", [(name, "must be true or false")])
    return lowered == "true"
