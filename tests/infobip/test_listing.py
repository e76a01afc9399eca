"""Paging logic against an in-memory server: fewest pages, both ends of a filter, the split
beyond 20,200 keys, sweeps in other orders, lookups by name, lying servers."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

import pytest

from infobip_iac.domain.keys import LiveKey
from infobip_iac.errors import BadRequestError, TransportError
from infobip_iac.infobip.listing import BOTH_ENDS, REACH, read_account, read_by_name
from infobip_iac.infobip.wire import KeyPage


class _Server:
    """Infobip's list operation over a list of keys: filters, orders (`id`, `name`; any
    other is refused as a bad request), paging limits, a request log."""

    def __init__(self, keys: list[LiveKey]) -> None:
        self.keys = sorted(keys, key=lambda key: key.id)
        self.requests: list[dict[str, str]] = []
        # Each distinct filter and order is worked out once: the sweep tests page tens of
        # thousands of keys hundreds of times.
        self._selections: dict[tuple[str | None, ...], list[LiveKey]] = {}

    def _select(self, params: Mapping[str, str]) -> list[LiveKey]:
        order = params.get("orderBy", "id")
        if order not in ("id", "name"):
            raise BadRequestError("orderBy: unknown", operation="list API keys")
        wanted = (params.get("enabled"), params.get("name"), order, params.get("orderDirection"))
        chosen = self._selections.get(wanted)
        if chosen is None:
            chosen = [
                key
                for key in self.keys
                if ("enabled" not in params or str(key.enabled).lower() == params["enabled"])
                and ("name" not in params or key.name == params["name"])
            ]
            if order == "name":
                chosen.sort(key=lambda key: (key.name, key.id))
            if params.get("orderDirection") == "desc":
                chosen.reverse()
            self._selections[wanted] = chosen
        return chosen

    def fetch(self, params: Mapping[str, str]) -> KeyPage:
        self.requests.append(dict(params))
        page, size = int(params["page"]), int(params["size"])
        assert 0 <= page <= 100 and 1 <= size <= 100
        chosen = self._select(params)
        return KeyPage(
            keys=chosen[page * size : (page + 1) * size],
            total_count=len(chosen),
            total_pages=math.ceil(len(chosen) / size),
        )


def _keys(count: int, *, enabled: bool = True, prefix: str = "K") -> list[LiveKey]:
    return [
        LiveKey(id=f"{prefix}{i:06d}", account_id="ACC", name=f"{prefix}-{i}", enabled=enabled)
        for i in range(count)
    ]


@pytest.mark.parametrize("count", [0, 1, 100, 101, 250, 10_100, 10_101, 15_050, 20_200])
def test_fewest_pages(count: int) -> None:
    server = _Server(_keys(count))
    result = read_account("_", fetch=server.fetch)
    assert len(result.keys) == count
    assert {k.id for k in result.keys} == {k.id for k in server.keys}
    assert result.requests == len(server.requests) == max(1, math.ceil(count / 100))
    assert result.complete and result.notes == []
    assert all("accountId" not in r and r["size"] == "100" for r in server.requests)


def test_account_id_sent_for_other_accounts() -> None:
    server = _Server(_keys(3))
    read_account("8F0792F86035A9F4290821F1EE6BC06A", fetch=server.fetch)
    assert server.requests == [
        {"size": "100", "accountId": "8F0792F86035A9F4290821F1EE6BC06A", "page": "0"}
    ]


def test_progress_reports_each_page() -> None:
    server = _Server(_keys(250))
    seen: list[tuple[str, int, int]] = []
    read_account("_", fetch=server.fetch, progress=lambda *a: seen.append(a))
    assert seen == [("_", 1, 1), ("_", 2, 3), ("_", 3, 3)]


def test_far_end_is_read_newest_first_until_the_ends_meet() -> None:
    server = _Server(_keys(REACH + 150))
    result = read_account("_", fetch=server.fetch)
    assert len(result.keys) == REACH + 150 and result.complete
    far = [r for r in server.requests if r.get("orderDirection") == "desc"]
    assert [r["page"] for r in far] == ["0", "1"]
    assert result.requests == 101 + 2


def test_split_by_enabled_beyond_both_ends_reads_everything() -> None:
    server = _Server(_keys(15_000, prefix="E") + _keys(8_000, enabled=False, prefix="D"))
    result = read_account("_", fetch=server.fetch)
    assert len(result.keys) == 23_000
    assert result.complete
    assert "enabled and disabled keys were read separately" in result.notes[0]
    # one probe of the whole account, then each part in full from its two ends
    assert result.requests == 1 + 150 + 80


def test_part_beyond_both_ends_looks_up_the_few_missing_declared_names() -> None:
    enabled = _keys(BOTH_ENDS + 300, prefix="E")
    server = _Server([*enabled, *_keys(10, enabled=False, prefix="D")])
    middle = enabled[REACH + 5 : REACH + 8]
    declared = [key.name for key in middle] + [enabled[-1].name, enabled[5].name, "not-live"]
    result = read_account("_", fetch=server.fetch, names=declared)
    found = {k.id for k in result.keys}
    assert {key.id for key in middle} | {enabled[-1].id, enabled[5].id} <= found
    assert len(found) == BOTH_ENDS + 3 + 10
    assert not result.complete
    assert any("looked up one by one" in note for note in result.notes)
    assert any("up to 297 enabled keys" in note for note in result.notes)
    name_requests = [r for r in server.requests if "name" in r]
    # only the names not already paged: the three in the middle and the one not live
    assert sorted(r["name"] for r in name_requests) == sorted(
        [key.name for key in middle] + ["not-live"]
    )
    assert all(r["enabled"] == "true" for r in name_requests)
    assert result.requests == 1 + 202 + 1 + 4


def test_many_missing_names_are_swept_by_name_before_any_lookup() -> None:
    # Names in no relation to ids, as on Infobip (ids are random).
    count = BOTH_ENDS + 2_000
    order = list(range(count))
    random.Random(3).shuffle(order)
    keys = [
        LiveKey(id=f"K{i:06d}", account_id="ACC", name=f"n-{order[i]:06d}") for i in range(count)
    ]
    server = _Server(keys)
    result = read_account("_", fetch=server.fetch, names=[key.name for key in keys])
    assert {k.id for k in result.keys} == {k.id for k in keys}
    assert result.complete
    assert any("then by name" in note for note in result.notes)
    lookups = [r for r in server.requests if "name" in r]
    swept = [r for r in server.requests if r.get("orderBy") == "name"]
    # The id ends leave 2,000 keys in the middle; the name sweeps find most of them, and the
    # server refuses the validity orders (one request each), so the rest is looked up.
    assert 0 < len(swept) <= 2 * 101
    assert len(lookups) < 300
    assert result.requests == len(server.requests) == 1 + 202 + 1 + len(swept) + 2 + len(lookups)


def test_read_by_name_is_exact() -> None:
    keys = _keys(5)
    loose = [*keys, LiveKey(id="X1", account_id="ACC", name="K-1 copy")]

    def contains_filter(params: Mapping[str, str]) -> KeyPage:
        chosen = [k for k in loose if params["name"] in k.name]
        return KeyPage(keys=chosen, total_count=len(chosen), total_pages=1)

    found, requests = read_by_name("_", "K-1", fetch=contains_filter)
    assert [k.id for k in found] == ["K000001"]
    assert requests == 1


def test_endless_total_pages_stops_at_the_page_limit() -> None:
    calls = 0

    def liar(params: Mapping[str, str]) -> KeyPage:
        nonlocal calls
        calls += 1
        page = int(params["page"])
        fresh = [LiveKey(id=f"P{page}-{i}", account_id="A", name="n") for i in range(100)]
        return KeyPage(keys=fresh, total_count=500, total_pages=page + 2)

    with pytest.raises(TransportError, match="claims more than 101 pages"):
        read_account("_", fetch=liar)
    assert calls == 101


def test_repeating_pages_stop_the_listing() -> None:
    same = [LiveKey(id=f"S{i}", account_id="A", name="n") for i in range(100)]

    def repeater(params: Mapping[str, str]) -> KeyPage:
        return KeyPage(keys=same, total_count=1_000, total_pages=10)

    with pytest.raises(TransportError, match="page 1 repeats keys"):
        read_account("_", fetch=repeater)


def test_empty_page_ends_a_listing_that_promised_more() -> None:
    keys = _keys(100)

    def short(params: Mapping[str, str]) -> KeyPage:
        chosen = keys if params["page"] == "0" else []
        return KeyPage(keys=chosen, total_count=300, total_pages=3)

    result = read_account("_", fetch=short)
    assert len(result.keys) == 100
    assert result.requests == 2


def test_without_names_sweep_all_reaches_keys_the_id_ends_leave_out() -> None:
    # As export reads an account: no declared names to look up.
    count = BOTH_ENDS + 2_000
    order = list(range(count))
    random.Random(5).shuffle(order)
    keys = [
        LiveKey(id=f"K{i:06d}", account_id="ACC", name=f"n-{order[i]:06d}") for i in range(count)
    ]

    plain = read_account("_", fetch=_Server(keys).fetch)
    swept = read_account("_", fetch=_Server(keys).fetch, sweep_all=True)

    assert len(plain.keys) == BOTH_ENDS  # the id order's two ends, nothing more
    # The name sweeps find about 80% of the 2,000 in the middle (the rest is out of reach).
    assert len(swept.keys) > BOTH_ENDS + 1_500
    assert not swept.complete
    assert any("then by name" in note for note in swept.notes)


def test_a_name_with_more_keys_than_paging_reaches_fails_the_lookup_at_its_first_page() -> None:
    """Protection: whether a declared key exists cannot be told from part of its name's
    keys, so the read fails (before, it went on as incomplete and the plan created it)."""
    crowd = [
        LiveKey(id=f"N{i:06d}", account_id="ACC", name="crowded", enabled=True)
        for i in range(REACH + 1)
    ]
    server = _Server(crowd)

    with pytest.raises(TransportError, match="10,101 keys named 'crowded', more than the 10,100"):
        read_by_name("_", "crowded", fetch=server.fetch)
    assert len(server.requests) == 1  # the first page's count told it all
