"""From a parsed request to an answer: routing, injected faults, the store lock, failure
bodies in each operation's family, request statistics and the conformance hook."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from infobip_iac.emulator.control import CONTROL_PREFIX, check_not_from_a_browser
from infobip_iac.emulator.failures import OperationError, failure_body
from infobip_iac.emulator.faults import FaultPlan
from infobip_iac.emulator.hostile import HostileAnswer
from infobip_iac.emulator.routing import Answer, Call, Route, Router
from infobip_iac.emulator.stats import RequestStats
from infobip_iac.emulator.store import Store

__all__ = ["DROP", "Dispatcher", "RequestHook", "ResponseHook"]

log = logging.getLogger("infobip_iac.emulator")

# on_response(method, path_template, status, body_json)
ResponseHook = Callable[[str, str, int, Any], None]
# on_request(method, path_template, headers, body_bytes), before the operation runs
RequestHook = Callable[[str, str, Mapping[str, str], bytes], None]


class _Drop:
    """Close the connection without answering."""


DROP = _Drop()


class Dispatcher:
    def __init__(
        self,
        *,
        store: Store,
        infobip: list[Route],
        control: list[Route],
        faults: FaultPlan,
        stats: RequestStats,
        on_response: ResponseHook | None,
        on_request: RequestHook | None = None,
    ) -> None:
        self._store = store
        self._faults = faults
        self._stats = stats
        self._on_response = on_response
        self._on_request = on_request
        self.infobip = Router()
        for route in infobip:
            self.infobip.add(route)
        self._control = Router()
        for route in control:
            self._control.add(route)

    def dispatch(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
        client_ip: str = "",
    ) -> Answer | _Drop | HostileAnswer:
        incoming = Call(method, path, query, headers, body, client_ip=client_ip)
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._dispatch_control(incoming)
        found = self.infobip.match(method, path)
        if found is None:
            answer = Answer(
                404,
                failure_body("api-error", 404, description=f"No operation {method} {path} exists."),
            )
            return self._answered(method, path, answer)
        route, params = found
        call = replace(incoming, params=params)
        self._stats.request(route.operation)
        if self._on_request is not None:
            try:
                self._on_request(method, route.template, headers, body)
            except Exception:
                log.exception("on_request hook failed")
        delay_ms, rule = self._faults.select(route.operation)
        if delay_ms:
            time.sleep(delay_ms / 1000)
        if rule is None:
            answer = self._run(route, call)
        elif rule.kind == "drop":
            self._stats.dropped()
            return DROP
        elif rule.kind == "commit-then-drop":
            self._run(route, call)
            self._stats.dropped()
            return DROP
        elif rule.kind in ("trickle-headers", "gzip-bomb"):
            made = self._run(route, call)
            self._stats.dropped()
            return HostileAnswer(rule.kind, made.status)
        elif rule.kind == "rate-limit":
            answer = self._failure(
                route,
                OperationError(
                    429,
                    "Too many requests (injected fault).",
                    headers={"Retry-After": str(rule.retry_after_s)},
                ),
            )
        else:
            answer = self._failure(route, OperationError(rule.status, "Injected fault."))
        return self._answered(method, route.template, answer)

    def _run(self, route: Route, call: Call) -> Answer:
        try:
            with self._store.lock:
                return route.handler(call)
        except OperationError as failure:
            return self._failure(route, failure)
        except Exception:
            log.exception("emulator failed on %s", route.operation)
            return self._failure(route, OperationError(500))

    @staticmethod
    def _failure(route: Route, failure: OperationError) -> Answer:
        return Answer(failure.status, failure.body(route.family), dict(failure.headers))

    def _answered(self, method: str, template: str, answer: Answer) -> Answer:
        self._stats.answered(answer.status)
        if self._on_response is not None:
            try:
                self._on_response(method, template, answer.status, answer.body)
            except Exception:
                log.exception("on_response hook failed")
        return answer

    def _dispatch_control(self, incoming: Call) -> Answer:
        method, path = incoming.method, incoming.path
        found = self._control.match(method, path)
        if found is None:
            known = ", ".join(self._control.operations(control=True))
            return Answer(404, {"error": f"no control operation {method} {path}; known: {known}"})
        route, params = found
        try:
            check_not_from_a_browser(method, incoming.headers)
            with self._store.lock:
                return route.handler(replace(incoming, params=params))
        except OperationError as failure:
            return Answer(
                failure.status,
                {
                    "error": failure.description or "the request is not valid",
                    "violations": [{"property": p, "violation": v} for p, v in failure.violations],
                },
            )
