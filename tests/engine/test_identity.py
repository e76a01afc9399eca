"""Identity resolution on its own: what each address is bound to, and why not."""

from __future__ import annotations

import pytest
from builders import config, desired, live, live_map, matching, record, state

from infobip_iac.engine.identity import resolve_identities, state_identities
from infobip_iac.engine.live import LiveIndex


def test_bindings_by_state_move_import_and_name() -> None:
    kept, moved, imported, adopted, new = (
        desired(i) for i in ("kept", "moved", "imported", "adopted", "new")
    )
    keys = [
        matching(kept, "K1"),
        matching(moved, "K2"),
        matching(imported, "K3", name="x"),
        matching(adopted, "K4"),
    ]
    current = state(
        {
            "api_keys.kept": record(keys[0]),
            "api_keys.was": record(keys[1]),
            "api_keys.dropped": record(live("K5")),
        }
    )
    declared = config(
        kept,
        moved,
        imported,
        adopted,
        new,
        moved=[("api_keys.was", "api_keys.moved")],
        imports=[("api_keys.imported", "K3")],
    )

    found = resolve_identities(declared, current, LiveIndex(live_map(*keys), current))

    bound = {
        a: (i.live.id if i.live else None, i.previous_address, i.importing_id, i.adopted_by_name)
        for a, i in found.declared.items()
    }
    assert bound == {
        "api_keys.adopted": ("K4", None, "K4", True),
        "api_keys.imported": ("K3", None, "K3", False),
        "api_keys.kept": ("K1", None, None, False),
        "api_keys.moved": ("K2", "api_keys.was", None, False),
        "api_keys.new": (None, None, None, False),
    }
    assert list(found.removed) == ["api_keys.dropped"]
    assert found.removed["api_keys.dropped"].live is None
    assert found.claimed >= {"K1", "K2", "K3", "K4", "K5"}
    assert found.problems == []


def test_problems_name_their_addresses() -> None:
    twin = desired("twin", name="same")
    found = resolve_identities(
        config(twin), state(), LiveIndex(live_map(live("A", "same"), live("B", "same")), state())
    )

    (problem,) = found.problems
    assert problem.addresses == ("api_keys.twin",)
    assert "A, B" in problem.message
    assert "api_keys.twin" not in found.declared


def test_state_identities_bind_only_state() -> None:
    key = live("K1")
    current = state({"api_keys.a": record(key), "api_keys.b": record(live("GONE"))})

    found = state_identities(current, LiveIndex(live_map(key), current))

    assert {a: (i.live.id if i.live else None) for a, i in found.removed.items()} == {
        "api_keys.a": "K1",
        "api_keys.b": None,
    }
    assert found.declared == {}


@pytest.mark.slow
def test_an_exported_accounts_imports_resolve_in_linear_time() -> None:
    # `export` writes an imports block per key; with the imported ids looked up among the
    # values of a growing dict, 20,000 blocks took tens of seconds here.
    import time

    count = 20_000
    keys = [desired(f"k{i:05d}") for i in range(count)]
    lives = [matching(key, f"{i:032X}") for i, key in enumerate(keys)]
    declared = config(
        *keys, imports=[(k.address, key.id) for k, key in zip(keys, lives, strict=True)]
    )
    index = LiveIndex(live_map(*lives), state())

    started = time.process_time()
    found = resolve_identities(declared, state(), index)
    spent = time.process_time() - started

    assert found.problems == []
    assert len(found.claimed) == count
    assert spent < 10.0, f"{spent:.1f} s of CPU for {count} imports"
