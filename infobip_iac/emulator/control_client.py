"""A small client of the control API, for tests and benchmarks that drive a running emulator."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ControlRequestError", "EmulatorControl"]


class ControlRequestError(RuntimeError):
    """The control API refused a request (its `error` text is the message)."""

    def __init__(self, status: int, answer: Any) -> None:
        self.status = status
        self.answer = answer
        message = answer.get("error") if isinstance(answer, dict) else answer
        super().__init__(f"control API answered {status}: {message}")


class EmulatorControl:
    def __init__(self, base_url: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def reset(self) -> None:
        self._call("POST", "/reset")

    def seed(
        self, keys: Sequence[Mapping[str, Any]], *, account_id: str | None = None
    ) -> list[str]:
        body: dict[str, Any] = {"keys": list(keys)}
        if account_id is not None:
            body["accountId"] = account_id
        ids: list[str] = self._call("POST", "/seed", body)["ids"]
        return ids

    def now(self) -> str:
        return str(self._call("GET", "/clock")["now"])

    def set_clock(self, instant: str) -> str:
        return str(self._call("POST", "/clock", {"set": instant})["now"])

    def advance_clock(self, duration: str) -> str:
        return str(self._call("POST", "/clock", {"advance": duration})["now"])

    def set_faults(self, rules: Sequence[Mapping[str, Any]], *, seed: int | None = None) -> None:
        body: dict[str, Any] = {"rules": list(rules)}
        if seed is not None:
            body["seed"] = seed
        self._call("POST", "/faults", body)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def stats(self) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("GET", "/stats")
        return answer

    def add_account(self, name: str, *, account_id: str | None = None) -> str:
        body = {"name": name} if account_id is None else {"name": name, "id": account_id}
        return str(self._call("POST", "/accounts", body)["id"])

    def add_user(
        self,
        username: str,
        password: str,
        *,
        roles: Sequence[str] = ("Account Manager",),
        account_id: str | None = None,
    ) -> None:
        body: dict[str, Any] = {"username": username, "password": password, "roles": list(roles)}
        if account_id is not None:
            body["accountId"] = account_id
        self._call("POST", "/users", body)

    def secrets(self) -> list[str]:
        return [str(s) for s in self._call("GET", "/secrets")["secrets"]]

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        # Always JSON, never an Origin: the control API refuses anything a browser could send.
        request = urllib.request.Request(  # noqa: S310 - the URL is the emulator's own
            f"{self.base_url}/_emulator{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise ControlRequestError(error.code, json.loads(error.read() or b"null")) from None
