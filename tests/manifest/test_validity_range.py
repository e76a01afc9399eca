"""Validity windows: whatever instants and durations a manifest writes, a manifest that
validates can be planned and applied without any date arithmetic leaving `datetime`'s
range, and every instant is written as RFC 3339 (four-digit year)."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infobip_iac.domain.keys import LiveKey, Permission
from infobip_iac.domain.normalize import (
    EARLIEST_INSTANT,
    LATEST_INSTANT,
    MAX_DURATION,
    format_instant,
)
from infobip_iac.engine.plan import make_plan
from infobip_iac.errors import PlanError
from infobip_iac.infobip.api import AccountKeys
from infobip_iac.manifest import load_configuration
from infobip_iac.state.model import StateDocument
from manifest.conftest import NOW

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# The codes a validity may earn; anything else would mean the generator wrote junk.
VALIDITY_CODES = {"E600", "E601", "E602", "E603", "E604", "E605", "E700"}

instants = st.builds(
    lambda moment, hours: moment.replace(tzinfo=timezone(timedelta(hours=hours))),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-12, max_value=14),
) | st.sampled_from(
    [
        EARLIEST_INSTANT,
        LATEST_INSTANT,
        LATEST_INSTANT - timedelta(days=365),
        datetime(999, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
    ]
)
durations = st.builds(
    lambda amount, unit: f"{amount}{unit}",
    st.integers(min_value=1, max_value=10**10) | st.sampled_from([100, 36500, 5214, 52560000]),
    st.sampled_from("mhdwy"),
)


@pytest.fixture(scope="module")
def manifest_file() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="validity-") as folder:
        yield Path(folder) / "m.yaml"


def _text(valid_from: datetime | None, valid_to: datetime | None, valid_for: str | None) -> str:
    fields = ["scopes: [sms:message:send]", "allowed_ips: [198.51.100.7]"]
    if valid_from is not None:
        fields.append(f"valid_from: {valid_from.isoformat()}")
    if valid_to is not None:
        fields.append(f"valid_to: {valid_to.isoformat()}")
    if valid_for is not None:
        fields.append(f"valid_for: {valid_for}")
    return "version: 1\napi_keys:\n  ci:\n" + "".join(f"    {f}\n" for f in fields)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    valid_from=st.none() | instants,
    valid_to=st.none() | instants,
    valid_for=st.none() | durations,
    adopt=st.booleans(),
)
def test_a_validated_window_plans_and_resolves_within_rfc3339(
    manifest_file: Path,
    valid_from: datetime | None,
    valid_to: datetime | None,
    valid_for: str | None,
    adopt: bool,
) -> None:
    manifest_file.write_text(_text(valid_from, valid_to, valid_for), encoding="utf-8")
    result = load_configuration([manifest_file], now=NOW)
    if result.config is None:
        assert {d.code for d in result.errors} <= VALIDITY_CODES, result.errors
        return
    key = result.config.keys["api_keys.ci"]
    for instant in (key.valid_from, key.valid_to):
        assert instant is None or EARLIEST_INSTANT <= instant <= LATEST_INSTANT
    assert key.valid_for is None or key.valid_for <= MAX_DURATION
    # An existing key of that name is adopted and updated (its own valid_from is a start
    # for valid_for); without one the key is created.
    live = [
        LiveKey(
            id="14E8CD464C26816D812D9FE8E9C4CF01",
            account_id="8F0792F86035A9F4290821F1EE6BC06A",
            name="ci",
            permissions=frozenset({Permission.PUBLIC_API}),
            valid_from=NOW - timedelta(days=30),
            valid_to=NOW + timedelta(days=335),
        )
    ]
    try:
        plan = make_plan(
            result.config,
            StateDocument(lineage="3f1c8d52-6a0e-4d8e-9d1b-2f7c5a4b9e10"),
            {"_": AccountKeys(account="_", keys=live if adopt else [], requests=1)},
            now=NOW,
        )
    except PlanError as refused:
        # A date Infobip would refuse for this write (a new key valid from the past, say)
        assert "E606" in str(refused)
        return
    for change in plan.changes:
        for attributes in (change.before, change.after):
            for name in ("valid_from", "valid_to"):
                value = (attributes or {}).get(name)
                assert value is None or RFC3339.match(value), value
        if change.write is not None:
            written = change.write.with_valid_to_resolved(lambda: NOW)
            for instant in (written.valid_from, written.valid_to):
                assert instant is None or RFC3339.match(format_instant(instant))


def test_out_of_range_values_are_named_by_field_with_their_place(
    write_manifest: Callable[..., Path],
) -> None:
    path = write_manifest(
        """
        version: 1
        policy:
          max_validity: 9999999d
        api_keys:
          ci:
            valid_from: 0999-01-01
            valid_for: 10000y
          late:
            valid_from: 9999-12-01
            valid_for: 31d
        """
    )
    result = load_configuration([path], now=NOW)
    found = {(d.code, d.line, d.column): d.message for d in result.errors}
    assert found == {
        ("E601", 3, 17): "max_validity: '9999999d' is longer than 100y, the longest validity "
        "a manifest may give",
        ("E600", 6, 17): "valid_from: '0999-01-01' is outside the years 1970 to 9999",
        ("E601", 7, 16): "valid_for: '10000y' is longer than 100y, the longest validity a "
        "manifest may give",
        ("E604", 10, 16): "valid_for 31d from valid_from 9999-12-01T00:00:00Z ends after "
        "9999-12-31T23:59:59Z, the last instant RFC 3339 can write",
    }
