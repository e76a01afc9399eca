"""The control API under `/_emulator/` (never part of Infobip's): reset, seed, clock, faults,
stats, accounts, users and issued secrets. JSON in and out, no authentication.

No authentication makes it reachable by anything that can reach the port, a web page open in
a browser on the same machine included: a page may POST `text/plain` (or a form) anywhere
without a CORS preflight. So `check_not_from_a_browser` refuses every control request that
carries an `Origin` header (browsers add one to every cross-origin POST, and no tool of ours
sends one) and every request with a body that is not declared `application/json` (which a
page can only send after a preflight this server never grants).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from infobip_iac.emulator.clock import format_instant, parse_duration, parse_instant
from infobip_iac.emulator.failures import OperationError
from infobip_iac.emulator.faults import FaultPlan, parse_rules
from infobip_iac.emulator.model import Account, EmulatorUser, StoredKey, new_hex_id
from infobip_iac.emulator.routing import Answer, Call, Route
from infobip_iac.emulator.services import ServedApi, Services
from infobip_iac.emulator.stats import RequestStats
from infobip_iac.emulator.validation import build_new_key, read_key_request

__all__ = ["CONTROL_PREFIX", "ControlApi", "ControlError", "check_not_from_a_browser"]

CONTROL_PREFIX = "/_emulator"


class ControlError(OperationError):
    """A bad control request: answered 400 with {"error": ..., "violations": [...]}."""


# The methods a browser can send without a preflight carry a body only with POST; DELETE is
# held to the same rule so that every changing request is.
_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check_not_from_a_browser(method: str, headers: Mapping[str, str]) -> None:
    """Refuse a control request a web page could have sent (see the module docstring).
    `headers` has lower-case names. Raises ControlError (403 or 415)."""
    if "origin" in headers:
        raise ControlError(
            403,
            "the control API refuses requests that carry an Origin header (a browser sends "
            "one): it must not be driven from a web page",
        )
    if method in _CHANGING_METHODS:
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise ControlError(
                415,
                f"{method} to the control API needs Content-Type: application/json "
                f"(got {media_type or 'none'})",
            )


class ControlApi(ServedApi):
    def __init__(
        self,
        services: Services,
        *,
        faults: FaultPlan,
        stats: RequestStats,
        initial_users: Sequence[EmulatorUser],
        infobip_operations: Callable[[], list[str]],
    ) -> None:
        super().__init__(services)
        self._faults = faults
        self._stats = stats
        self._initial_users = list(initial_users)
        self._infobip_operations = infobip_operations

    def routes(self) -> list[Route]:
        entries: list[tuple[str, str, Callable[[Call], Answer]]] = [
            ("POST", "/reset", self.reset),
            ("POST", "/seed", self.seed),
            ("GET", "/clock", self.get_clock),
            ("POST", "/clock", self.move_clock),
            ("GET", "/faults", self.get_faults),
            ("POST", "/faults", self.set_faults),
            ("DELETE", "/faults", self.clear_faults),
            ("GET", "/stats", self.get_stats),
            ("GET", "/accounts", self.get_accounts),
            ("POST", "/accounts", self.add_account),
            ("POST", "/users", self.add_user),
            ("GET", "/secrets", self.get_secrets),
        ]
        return [
            Route(method, CONTROL_PREFIX + path, handler, control=True)
            for method, path, handler in entries
        ]

    def reset(self, call: Call) -> Answer:
        """No keys, no sub-accounts, the users the emulator started with; real time again;
        no faults; counters, budgets and sign-ins cleared."""
        self._store.clear()
        self._store.users = {}
        for user in self._initial_users:
            self._store.add_user(user)
        self._auth.forget_all()
        self._clock.reset()
        self._faults.clear()
        self._stats.reset()
        self._reads.reset()
        self._persist()
        return Answer(200, {"mainAccountId": self._store.main_account_id})

    def seed(self, call: Call) -> Answer:
        """Keys straight into an account: no limits, no validFrom-not-in-the-past rule; every
        other rule applies, each violation named `keys[i].<property>`."""
        body = _object(call)
        account = body.get("accountId") or self._store.main_account_id
        if account not in self._store.accounts:
            raise ControlError(400, f"no account {account!r}; add it with POST /_emulator/accounts")
        raw_keys = body.get("keys")
        if not isinstance(raw_keys, list):
            raise ControlError(400, 'expected {"accountId"?, "keys": [ApiKey, ...]}')
        now = self._clock.now()
        keys: list[StoredKey] = []
        seen: set[str] = set()
        for index, raw in enumerate(raw_keys):
            prefix = f"keys[{index}]."
            request = read_key_request(raw, self._catalog, prefix=prefix, seeding=True)
            key = build_new_key(
                request,
                account_id=account,
                now=now,
                platform_allowed=True,
                seeding=True,
                prefix=prefix,
            )
            if key.id in seen or self._store.find_key(key.id) is not None:
                raise ControlError(400, "", [(prefix + "id", f"{key.id} is already taken")])
            seen.add(key.id)
            keys.append(key)
        self._store.put_new_keys(account, keys)
        self._persist()
        return Answer(200, {"ids": [key.id for key in keys]})

    def get_clock(self, call: Call) -> Answer:
        return Answer(200, {"now": format_instant(self._clock.now())})

    def move_clock(self, call: Call) -> Answer:
        body = _object(call)
        try:
            if isinstance(body.get("set"), str):
                now = self._clock.set(parse_instant(body["set"]))
            elif isinstance(body.get("advance"), str):
                now = self._clock.advance(parse_duration(body["advance"]))
            else:
                raise ValueError('expected {"set": "<RFC 3339>"} or {"advance": "36h"}')
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        return Answer(200, {"now": format_instant(now)})

    def get_faults(self, call: Call) -> Answer:
        return Answer(200, {"rules": self._faults.rules()})

    def set_faults(self, call: Call) -> Answer:
        """Replace the fault rules; `seed` makes `probability` draws reproducible."""
        body = _object(call)
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ControlError(400, "seed must be an integer")
        try:
            rules = parse_rules(body, self._infobip_operations())
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        self._faults.replace(rules, seed)
        return Answer(200, {"rules": self._faults.rules()})

    def clear_faults(self, call: Call) -> Answer:
        self._faults.clear()
        return Answer(200, {"rules": []})

    def get_stats(self, call: Call) -> Answer:
        return Answer(200, self._stats.to_json())

    def get_accounts(self, call: Call) -> Answer:
        return Answer(
            200,
            {
                "mainAccountId": self._store.main_account_id,
                "accounts": [a.to_api() for a in self._store.accounts.values()],
            },
        )

    def add_account(self, call: Call) -> Answer:
        body = _object(call)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ControlError(400, "name is required")
        account_id = body.get("id") or new_hex_id()
        if not isinstance(account_id, str) or account_id in self._store.accounts:
            raise ControlError(400, f"account id {account_id!r} is taken or not a string")
        self._store.add_account(Account(account_id, name, owner_id=self._store.main_account_id))
        self._persist()
        return Answer(200, {"id": account_id})

    def add_user(self, call: Call) -> Answer:
        body = _object(call)
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not username or not isinstance(password, str):
            raise ControlError(400, "username and password are required strings")
        roles = body.get("roles", ["Account Manager"])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ControlError(400, "roles must be a list of role names")
        canonical = []
        for role in roles:
            found = self._catalog.find_role(role)
            if found is None:
                known = ", ".join(sorted(self._catalog.roles))
                raise ControlError(400, f"unknown role {role!r}; known roles: {known}")
            canonical.append(found)
        account_id = body.get("accountId")
        if account_id is not None and account_id not in self._store.accounts:
            raise ControlError(400, f"no account {account_id!r}")
        if account_id == self._store.main_account_id:
            account_id = None
        user = EmulatorUser(username, password, tuple(canonical), account_id)
        self._store.add_user(user)
        self._persist()
        return Answer(
            200,
            {"username": username, "accountId": self._store.account_of(user), "roles": canonical},
        )

    def get_secrets(self, call: Call) -> Answer:
        """Every apiKeySecret the emulator holds: all were issued since the last reset, so a
        leak test can look for each of them in output, logs and files."""
        return Answer(200, {"secrets": [key.secret for key in self._store.all_keys()]})


def _object(call: Call) -> dict[str, Any]:
    body = call.json() if call.body.strip() else {}
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body
