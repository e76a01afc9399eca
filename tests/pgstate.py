"""A PostgreSQL state of a test's own, for the database backend's tests (imported by name,
like builders and leakguard: a `from conftest import` finds whichever conftest came first)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PgState:
    """A state of its own in the test database: `url` for --state, `admin` for queries."""

    admin: str  # the server URL the tests were given
    schema: str
    name: str

    @property
    def url(self) -> str:
        return self.url_for(self.name)

    def url_for(self, name: str) -> str:
        joiner = "&" if "?" in self.admin else "?"
        return f"{self.admin}{joiner}name={name}&schema={self.schema}"

    def query(self, text: str, *params: object) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            cursor = conn.execute(text, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description is not None else []


def with_password(url: str, password: str) -> str:
    """`url` with `password` in it (the test server trusts loopback, so it is ignored)."""
    scheme, rest = url.split("://", 1)
    user, at, host = rest.partition("@")
    return (
        f"{scheme}://{user}:{password}@{host}" if at else f"{scheme}://postgres:{password}@{rest}"
    )
