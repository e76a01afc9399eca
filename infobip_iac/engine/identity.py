"""Which live key each address manages: state ids, `moved` and `imports` blocks, adoption.

SPEC §2: the state maps an address to a key id; `moved` renames state addresses first;
`imports` adopt a live key by id; an address with neither is matched by (account, name)
among enabled keys nobody claims. Problems are collected per address rather than raised,
so that `--target` can plan around a problem elsewhere in the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from infobip_iac.domain.keys import DesiredConfig, LiveKey, SourceRef
from infobip_iac.engine.live import LiveIndex
from infobip_iac.state.model import ResourceState, StateDocument

__all__ = ["Identities", "Identity", "Problem", "resolve_identities", "state_identities"]


class Identity(NamedTuple):
    """What one address is bound to. `record` is the state entry (after moves); `live` the
    key it manages, None when there is none (a create, or the state's key is gone).
    A named tuple: a plan makes one per address."""

    address: str
    record: ResourceState | None = None
    live: LiveKey | None = None
    previous_address: str | None = None
    importing_id: str | None = None
    adopted_by_name: bool = False


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that stops these addresses from being planned."""

    addresses: tuple[str, ...]
    message: str


@dataclass(slots=True)
class Identities:
    declared: dict[str, Identity] = field(default_factory=dict)
    removed: dict[str, Identity] = field(default_factory=dict)  # in state, not declared
    claimed: set[str] = field(default_factory=set)  # live ids some address manages
    problems: list[Problem] = field(default_factory=list)


def _where(source: SourceRef | None) -> str:
    return f" at {source}" if source else ""


def state_identities(state: StateDocument, index: LiveIndex) -> Identities:
    """Every state entry bound to its live key, nothing else (a refresh-only plan)."""
    found = Identities()
    for address in sorted(state.resources):
        record = state.resources[address]
        found.removed[address] = Identity(address, record=record, live=index.get(record.id))
        found.claimed.add(record.id)
    return found


def resolve_identities(config: DesiredConfig, state: StateDocument, index: LiveIndex) -> Identities:
    found = Identities()
    records, origin = _apply_moves(config, state, found)
    _check_duplicate_ids(records, found)
    found.claimed.update(record.id for record in records.values())
    imported = _resolve_imports(config, records, index, found)

    for address in sorted(config.keys):
        desired = config.keys[address]
        record = records.get(address)
        moved_from = origin.get(address)
        key = index.get(record.id) if record is not None else None
        if key is not None:
            found.declared[address] = Identity(
                address, record=record, live=key, previous_address=moved_from
            )
            continue
        if address in imported:
            key = imported[address]
            found.declared[address] = Identity(
                address, live=key, importing_id=key.id, previous_address=moved_from
            )
            continue
        # No state entry, or one whose key no longer exists: Infobip cannot delete keys, so
        # such an entry binds nothing, and the address is matched by name like a new one
        # (else a later plan, after the entry is dropped, would decide differently).
        candidates = [
            key
            for key in index.enabled_named(desired.account, desired.name)
            if key.id not in found.claimed
        ]
        if len(candidates) == 1:
            key = candidates[0]
            found.claimed.add(key.id)
            found.declared[address] = Identity(
                address,
                live=key,
                importing_id=key.id,
                adopted_by_name=True,
                previous_address=moved_from,
            )
        elif candidates:
            ids = [key.id for key in candidates]
            found.problems.append(
                Problem(
                    (address,),
                    f"{address}{_where(desired.source)}: {len(ids)} enabled live keys in "
                    f'account {desired.account} are named "{desired.name}" '
                    f"({', '.join(ids)}), so it cannot be adopted by name. Pick one with an "
                    f"imports block (imports: [{{to: {address}, id: {ids[0]}}}]) or give the "
                    "key another name",
                )
            )
        else:
            found.declared[address] = Identity(address, record=record, previous_address=moved_from)

    for address in sorted(set(records) - set(config.keys)):
        record = records[address]
        found.removed[address] = Identity(
            address,
            record=record,
            live=index.get(record.id),
            previous_address=origin.get(address),
        )
    return found


def _apply_moves(
    config: DesiredConfig, state: StateDocument, found: Identities
) -> tuple[dict[str, ResourceState], dict[str, str]]:
    """State entries by address after the `moved` blocks, and new address -> the address
    the entry had in state. A block whose `from` is not in state has been applied already
    (or never had anything to move) and is skipped, as Terraform does."""
    records = dict(state.resources)
    origin: dict[str, str] = {}
    for block in config.moved:
        source, target = block.from_address, block.to_address
        if source in config.keys:
            # Otherwise every plan would move the key away and then declare a new one.
            found.problems.append(
                Problem(
                    (source, target),
                    f"moved block{_where(block.source)}: {source} is moved to {target} but "
                    f"is still declared; remove the declaration of {source}, or the block",
                )
            )
            continue
        if source not in records or source == target:
            continue
        if target in records:
            found.problems.append(
                Problem(
                    (source, target),
                    f"moved block{_where(block.source)}: cannot move {source} to {target}, "
                    f"because {target} is already in state (key {records[target].id}). "
                    f"Remove the moved block, or run `infobip-iac state rm {target}` first",
                )
            )
            continue
        records[target] = records.pop(source)
        origin[target] = origin.pop(source, source)
    return records, origin


def _check_duplicate_ids(records: dict[str, ResourceState], found: Identities) -> None:
    owners: dict[str, list[str]] = {}
    for address in sorted(records):
        owners.setdefault(records[address].id, []).append(address)
    for key_id, addresses in sorted(owners.items()):
        if len(addresses) > 1:
            found.problems.append(
                Problem(
                    tuple(addresses),
                    f"state binds {' and '.join(addresses)} to the same key {key_id}; "
                    f"keep one with `infobip-iac state rm {addresses[-1]}`",
                )
            )


def _resolve_imports(
    config: DesiredConfig,
    records: dict[str, ResourceState],
    index: LiveIndex,
    found: Identities,
) -> dict[str, LiveKey]:
    imported: dict[str, LiveKey] = {}
    # The ids imported so far, kept beside `imported`: an exported account has an imports
    # block per key, and looking each id up among the values made that quadratic.
    imported_ids: set[str] = set()
    owners = {record.id: address for address, record in records.items()}
    for block in config.imports:
        target, key_id = block.to_address, block.key_id
        prefix = f"imports block{_where(block.source)}"
        desired = config.keys.get(target)
        record = records.get(target)
        if desired is None:
            message = (
                f"{prefix}: {target} is not declared; declare the key under api_keys, "
                "or correct `to`"
            )
        elif record is not None and index.get(record.id) is not None:
            # Already managed (imported earlier, maybe replaced since): as in Terraform,
            # an imports block only ever adopts a key for an address that has none.
            continue
        elif (key := index.get(key_id)) is None:
            message = (
                f"{prefix}: no live key has id {key_id} in account {desired.account}; "
                "check the id (list the account's keys on Infobip) and the account"
            )
        elif not index.in_account(desired.account, key_id):
            message = (
                f"{prefix}: key {key_id} belongs to account {index.account_of(key_id)}, "
                f"but {target} declares account {desired.account}"
            )
        elif key_id in owners:
            message = f"{prefix}: key {key_id} is already managed by {owners[key_id]}"
        elif target in imported:
            if imported[target].id == key_id:
                continue  # the same block written twice
            message = f"{prefix}: {target} is the target of more than one imports block"
        elif key_id in imported_ids:
            message = f"{prefix}: key {key_id} is imported by more than one block"
        else:
            imported[target] = key
            imported_ids.add(key_id)
            found.claimed.add(key_id)
            continue
        found.problems.append(Problem((target,), message))
    return imported
