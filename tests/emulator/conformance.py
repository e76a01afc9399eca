"""Checks answers of the emulator against Infobip's OpenAPI document: the schema of the
operation and status, with `date-time` formats really checked; and request bodies against
the operation's request schema, with no field the schema lacks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["SPEC_PATH", "ConformanceChecker"]

# Vendored with the tests (tests/data/infobip/README.md says from where and what was mended).
SPEC_PATH = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "infobip"
    / "account-management-openapi.validating.json"
)
_BASE = "urn:infobip-account-management"
_METHODS = ("get", "put", "post", "delete", "patch")


# Infobip's own clients write request date-times as `yyyy-MM-dd'T'HH:mm:ss.SSSZ` (and the
# spec's request examples do too): `+0000` is not RFC 3339, but it is Infobip's dialect.
INFOBIP_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}")
_REQUEST_FORMATS = FormatChecker()
_REQUEST_FORMATS.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)


@_REQUEST_FORMATS.checks("date-time")
def _request_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if INFOBIP_DATE_TIME.fullmatch(value):
        return True
    return Draft202012Validator.FORMAT_CHECKER.conforms(value, "date-time")


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


class ConformanceChecker:
    """`check()` records a problem for every answer that does not validate; `problems` lists
    them. A status the spec does not declare for an operation is accepted only for errors
    (gateways answer 429 and 5xx anywhere, frameworks 400) and then its body must still match
    the operation's declared error schema; a success status must be declared."""

    def __init__(self, spec_path: Path = SPEC_PATH) -> None:
        self.document: dict[str, Any] = json.loads(spec_path.read_text(encoding="utf-8"))
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_BASE, resource)
        self._validators: dict[str, Draft202012Validator] = {}
        self.problems: list[str] = []
        self.undeclared: list[str] = []
        self.checked = 0

    def check(self, method: str, template: str, status: int, body: Any) -> None:
        self.checked += 1
        self.problems.extend(self.problems_of(method, template, status, body))

    def problems_of(self, method: str, template: str, status: int, body: Any) -> list[str]:
        where = f"{method} {template} -> {status}"
        operation = self.document["paths"].get(template, {}).get(method.lower())
        if operation is None:
            if status != 404:
                return [f"{where}: an unknown operation must answer 404"]
            return self._validate(where, "#/components/schemas/ApiError", body)
        base = _pointer("paths", template, method.lower(), "responses")
        declared = operation["responses"]
        code = next(
            (c for c in (str(status), f"{status // 100}XX", "default") if c in declared), None
        )
        if code is None:
            if status < 400:
                return [f"{where}: status not declared by the spec"]
            code = next((c for c in declared if c[0] in "45" and c != "401"), None)
            if code is None:
                return [f"{where}: status not declared and no error schema to check against"]
            self.undeclared.append(where)
        pointer = f"#/{base}/{_pointer(code)}"
        response = declared[code]
        if "$ref" in response:
            pointer = response["$ref"]
            response = self._resolve(pointer)
        content = response.get("content")
        if not content:
            return [] if body is None else [f"{where}: the spec declares no body, got one"]
        if "application/json" not in content:
            return [f"{where}: the spec declares no JSON body"]
        if body is None:
            return [f"{where}: the spec declares a JSON body, got none"]
        schema_pointer = f"{pointer}/content/{_pointer('application/json')}/schema"
        return self._validate(where, schema_pointer, body)

    def request_problems(self, method: str, template: str, body: Any) -> list[str]:
        """What is wrong with a request body: not the request schema of the operation, a
        field the schema does not have (at any depth), or `platform` sent together with
        `permissions` or `scopeGuids`, which the spec's descriptions forbid."""
        where = f"{method} {template} request"
        operation = self.document["paths"].get(template, {}).get(method.lower())
        if operation is None:
            return [f"{where}: no such operation in the spec"]
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            return [] if body is None else [f"{where}: the spec declares no JSON body"]
        pointer = "#/" + _pointer(
            "paths", template, method.lower(), "requestBody", "content", "application/json"
        )
        problems = self._validate(where, f"{pointer}/schema", body, formats=_REQUEST_FORMATS)
        problems += self._unknown_fields(where, content["application/json"]["schema"], body, "")
        if isinstance(body, dict) and "platform" in body:
            problems += [
                f"{where}: platform is sent together with {other}"
                for other in ("permissions", "scopeGuids")
                if other in body
            ]
        return problems

    def _unknown_fields(self, where: str, schema: dict[str, Any], value: Any, at: str) -> list[str]:
        if "$ref" in schema:
            schema = self._resolve(schema["$ref"])
        if isinstance(value, list) and "items" in schema:
            return [
                problem
                for index, item in enumerate(value)
                for problem in self._unknown_fields(where, schema["items"], item, f"{at}/{index}")
            ]
        if not isinstance(value, dict) or "properties" not in schema:
            return []
        properties: dict[str, Any] = schema["properties"]
        problems = [
            f"{where}: {at or '(body)'}: {name!r} is not a field of the request schema"
            for name in value
            if name not in properties
        ]
        for name, member in value.items():
            if name in properties:
                problems += self._unknown_fields(where, properties[name], member, f"{at}/{name}")
        return problems

    def _resolve(self, pointer: str) -> dict[str, Any]:
        node: Any = self.document
        for part in pointer.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return dict(node)

    def _validate(
        self, where: str, pointer: str, body: Any, *, formats: FormatChecker | None = None
    ) -> list[str]:
        validator = self._validators.get(pointer)
        if validator is None:
            validator = Draft202012Validator(
                {"$ref": f"{_BASE}{pointer}"},
                registry=self._registry,
                format_checker=formats or Draft202012Validator.FORMAT_CHECKER,
            )
            self._validators[pointer] = validator
        return [
            f"{where}: {'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
            for error in validator.iter_errors(body)
        ]
