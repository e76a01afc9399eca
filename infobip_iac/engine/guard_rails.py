"""Checks that refuse an apply before its first write: guard rails and stale saved plans."""

from __future__ import annotations

from datetime import datetime

from infobip_iac.domain.normalize import format_instant
from infobip_iac.domain.plan import Action, Plan, ResourceChange
from infobip_iac.errors import ApplyRefusedError, StalePlanError
from infobip_iac.infobip.api import KeyService
from infobip_iac.secrets.sinks import KeyMeta, refusal_before_create
from infobip_iac.state.model import StateDocument

__all__ = [
    "DEFAULT_MAX_WRITES",
    "check_creates_still_valid",
    "check_guard_rails",
    "check_plan_is_fresh",
    "sink_refusals",
]

DEFAULT_MAX_WRITES = 40


def check_guard_rails(
    plan: Plan,
    state: StateDocument,
    *,
    max_writes: int = DEFAULT_MAX_WRITES,
    max_revokes: int | None = None,
    allow_revokes: bool = False,
    show_secrets: bool = False,
) -> None:
    """Refuse the apply before any write when a rule says so (ApplyRefusedError).

    `max_revokes` is the policy of the configuration the plan was made from (None: no
    limit); the other arguments are apply's flags of the same names (`max_writes` per
    account)."""
    # --max-writes counts per account, as Infobip's daily write limit does.
    by_account = plan.writes_by_account()
    over = {account: n for account, n in by_account.items() if n > max_writes}
    if over:
        account, needed = max(over.items(), key=lambda item: item[1])
        where = f" in account {account}" if len(by_account) > 1 else ""
        writes = "1 Infobip write" if needed == 1 else f"{needed} Infobip writes"
        raise ApplyRefusedError(
            f"the plan needs {writes}{where}, more than --max-writes "
            f"{max_writes} (Infobip allows 40 creates and updates a day per "
            "account); apply it in parts with --target (a saved plan cannot be narrowed: "
            "make a new one with `plan --target ADDR --out FILE`), or raise --max-writes "
            "if the limit allows"
        )
    # A replace revokes its old key too: the policy counts what the plan summary counts.
    revokes = plan.revokes()
    if max_revokes is not None and len(revokes) > max_revokes and not allow_revokes:
        noun = "key" if len(revokes) == 1 else "keys"
        raise ApplyRefusedError(
            f"the plan revokes {len(revokes)} {noun} (replaced keys included), more than "
            f"policy.max_revokes ({max_revokes}); check the plan, then run again with "
            "--allow-revokes"
        )
    by_id = state.by_key_id()
    for change in revokes:
        address = by_id.get(change.key_id or "")
        if address and state.resources[address].prevent_revoke:
            raise ApplyRefusedError(
                f"{change.address} has lifecycle.prevent_revoke; it is never revoked. "
                "Remove prevent_revoke from its declaration first if it must go"
            )
    _check_sink_files(plan, state)
    if not show_secrets:
        for change in plan.changes:
            creates = change.action in (Action.CREATE, Action.REPLACE)
            if creates and change.secret_sink is not None and change.secret_sink.sink == "stdout":
                raise ApplyRefusedError(
                    f"{change.address} sends its new secret to stdout; run apply with "
                    "--show-secrets to allow that, or choose a file or exec sink"
                )


def sink_refusals(plan: Plan, state: StateDocument) -> list[tuple[ResourceChange, str]]:
    """Each new key of `plan` whose secret sink would refuse its secret on this machine (a
    file in the way that the key's sink did not write, a path that cannot be checked),
    with the reason. Apply refuses such a plan; plan warns of it."""
    refusals = []
    for change in plan.changes:
        if change.action not in (Action.CREATE, Action.REPLACE) or change.secret_sink is None:
            continue
        record = state.resources.get(change.address)
        owned = record.secret.files_written if record is not None and record.secret else []
        meta = KeyMeta(address=change.address, key_id="", name=change.name, account=change.account)
        refusal = refusal_before_create(change.secret_sink, meta, owned)
        if refusal is not None:
            refusals.append((change, refusal))
    return refusals


def _check_sink_files(plan: Plan, state: StateDocument) -> None:
    """A new key whose sink would refuse its secret is refused before any write: creating it
    would waste a write on a key nobody can hold the secret of, and the next plan would try
    again, and again."""
    refusals = sink_refusals(plan, state)
    if refusals:
        change, refusal = refusals[0]
        raise ApplyRefusedError(
            f"{change.address}: its secret could not be delivered: {refusal} "
            "Nothing was written to Infobip."
        )


def check_plan_is_fresh(plan: Plan, state: StateDocument, service: KeyService) -> None:
    """Refuse a saved plan (StalePlanError) when the state or a live key it touches changed,
    or when a key it would create has appeared meanwhile (creating it would duplicate it).

    Live keys are re-read account by account with the same listing the plan used, never
    one request per key.
    """
    if not _same_state(plan, state):
        raise StalePlanError(_stale_state_message(plan, state))
    touched: dict[str, dict[str, str]] = {}  # account -> key id -> fingerprint
    created: dict[str, set[str]] = {}  # account -> names about to be created
    for change in plan.changes:
        if change.action is Action.NOOP and not change.touches_state:
            continue
        for key_id in (change.key_id, change.importing_id):
            if key_id is not None and key_id in plan.fingerprints:
                touched.setdefault(change.account, {})[key_id] = plan.fingerprints[key_id]
        if change.action in (Action.CREATE, Action.REPLACE):
            created.setdefault(change.account, set()).add(change.name)
    for unmanaged in plan.unmanaged:
        if unmanaged.disposition == "revoke" and unmanaged.key_id in plan.fingerprints:
            fingerprint = plan.fingerprints[unmanaged.key_id]
            touched.setdefault(unmanaged.account, {})[unmanaged.key_id] = fingerprint
    known = set(state.by_key_id()) | set(plan.fingerprints)
    for account in sorted(touched.keys() | created.keys()):
        names = created.get(account, set())
        live = service.list_keys(account, names=sorted(names))
        by_id = {key.id: key for key in live.keys}
        for key_id, fingerprint in sorted(touched.get(account, {}).items()):
            key = by_id.get(key_id)
            if key is None:
                raise StalePlanError(
                    f"live key {key_id} is gone since the plan was made; run plan again"
                )
            if key.fingerprint() != fingerprint:
                raise StalePlanError(
                    f"live key {key_id} ({key.name}) changed since the plan was made; "
                    "run plan again and apply the new plan"
                )
        for key in live.keys:
            if key.name in names and key.enabled and key.id not in known:
                raise StalePlanError(
                    f'a key named "{key.name}" ({key.id}) appeared in account {account} '
                    "since the plan was made; run plan again (it may adopt that key)"
                )


def check_creates_still_valid(plan: Plan, now: datetime) -> None:
    """Refuse a plan (ApplyRefusedError) whose new key would now be valid from the past, or
    until the past, on Infobip's clock (`now`): a saved plan applied later than it was made.
    Infobip would refuse that create with a 400 after the writes before it were spent."""
    for change in plan.changes:
        if change.action not in (Action.CREATE, Action.REPLACE) or change.write is None:
            continue
        write = change.write
        for field, instant in (("valid_from", write.valid_from), ("valid_to", write.valid_to)):
            if instant is not None and instant < now:
                raise ApplyRefusedError(
                    f"{change.address} would be created with {field} {format_instant(instant)}, "
                    f"now in the past ({format_instant(now)} on Infobip's clock), which Infobip "
                    "refuses; change the date and make a new plan. Nothing was written to "
                    "Infobip."
                )


def _same_state(plan: Plan, state: StateDocument) -> bool:
    if plan.state_serial is None:
        return state.serial == 0
    if plan.state_serial == 0 and state.serial == 0:
        # No state file then and none now: each read invents its own lineage.
        return True
    return plan.state_lineage == state.lineage and plan.state_serial == state.serial


def _stale_state_message(plan: Plan, state: StateDocument) -> str:
    rerun = "run plan again and apply the new plan"
    # A state at serial 0 is no state file yet, whose lineage is made up at each read.
    written = plan.state_serial not in (None, 0) and state.serial != 0
    if written and plan.state_lineage != state.lineage:
        # Serials count within one lineage: comparing them across two would say nothing.
        return (
            f"the saved plan was made against another state (lineage {plan.state_lineage}), "
            f"not this one (lineage {state.lineage}); check --state names the state the "
            f"plan was made with, or {rerun}"
        )
    then = "no state" if plan.state_serial is None else f"state serial {plan.state_serial}"
    return (
        f"the saved plan was made against {then}, but the state is now at serial "
        f"{state.serial}; {rerun}"
    )
