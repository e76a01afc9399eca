"""Requests and answers as the emulator's operations see them, and the table that maps a
method and path to an operation by its path template."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

from infobip_iac.emulator.failures import Family, OperationError

__all__ = ["Answer", "Call", "Route", "Router"]

Budget = Literal["read", "write", "none"]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    params: Mapping[str, str] = field(default_factory=dict)
    client_ip: str = ""  # the peer's address, which the audit log records

    def json(self) -> Any:
        """The body as JSON, or a 400 naming the problem."""
        if not self.body.strip():
            raise OperationError(400, "The request needs a JSON body.", [("body", "is missing")])
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise OperationError(
                400, "The request body is not valid JSON.", [("body", str(error))]
            ) from None

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {name: values[-1] for name, values in parsed.items()}

    def single(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass
class Answer:
    status: int
    body: Any = None  # JSON value; None = no body
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Answer]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    family: Family = "api-error"
    budget: Budget = "none"
    control: bool = False

    @property
    def operation(self) -> str:
        return f"{self.method} {self.template}"


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], Route]] = []

    def add(self, route: Route) -> None:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.template))
        self._routes.append((re.compile(f"^{pattern}$"), route))

    def operations(self, *, control: bool = False) -> list[str]:
        return [route.operation for _, route in self._routes if route.control == control]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for pattern, route in self._routes:
            if route.method != method:
                continue
            found = pattern.match(path)
            if found is not None:
                return route, found.groupdict()
        return None
