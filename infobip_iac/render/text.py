"""The human plan: Terraform's layout (SPEC §4), read from a `Plan` and nothing else.

Values are printed as JSON literals, so a key name holding quotes or terminal control
characters comes out escaped and cannot disturb the reviewer's terminal; free text from
Infobip outside those literals (ids, account references) goes through `_printable` too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

from infobip_iac.domain.keys import MANAGED_ATTRIBUTES, SecretSinkSpec, describe_account
from infobip_iac.domain.normalize import format_instant
from infobip_iac.domain.plan import (
    Action,
    AttributeChange,
    ChangeAuthor,
    DeferredRotation,
    DriftItem,
    Plan,
    Reason,
    ResourceChange,
    UnmanagedKey,
    WaitingPredecessor,
)
from infobip_iac.domain.sinkpath import fill_sink_path

__all__ = [
    "NO_CHANGES",
    "TextSection",
    "attribution",
    "render_text",
    "summary_line",
    "text_sections",
]

NO_CHANGES = "No changes. Live Infobip state matches the configuration."

_GREEN, _YELLOW, _RED, _BOLD, _RESET = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[1m", "\x1b[0m"
_SYMBOL_COLOURS = {"+": _GREEN, "~": _YELLOW, "-": _RED}

_HEADINGS = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in-place",
    Action.REVOKE: "will be revoked (Infobip keys cannot be deleted; it is disabled)",
    Action.REPLACE: "must be replaced (a new key first, then this one is revoked)",
}

_REASONS = {
    Reason.GONE: "its key in state no longer exists on Infobip",
    Reason.REENABLE: "it is declared enabled, but it is disabled on Infobip",
    Reason.DISABLED_IN_CONFIG: "it is declared with enabled: false",
    Reason.REMOVED_FROM_CONFIG: "it is no longer in the configuration",
    Reason.UNMANAGED: (
        "it is in neither state nor configuration, and policy.unmanaged_keys is revoke"
    ),
    Reason.ACCOUNT_CHANGED: "its account changed, and Infobip keys cannot move between accounts",
    Reason.REPLACE_REQUESTED: "a replacement was requested",
    Reason.SECRET_LOST: "its secret never reached its sink; a new key brings a new secret",
    Reason.ROTATION_OVERLAP_ENDED: "it is a rotated key's predecessor whose overlap has ended",
}


def _printable(text: str) -> str:
    """`text` with control characters escaped (`\\x1b`), everything else as it is."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def _ident(address: str) -> str:
    """`api_keys.ci-sms` -> `ci-sms`; `unmanaged._.ABC` -> `ABC`."""
    return _printable(
        address.rsplit(".", 1)[-1]
        if address.startswith("unmanaged.")
        else address.split(".", 1)[-1]
    )


def _literal(value: Any) -> str:
    if isinstance(value, dict):
        inner = ", ".join(f"{_printable(str(k))} = {_literal(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return json.dumps(value)


def _sink_file(change: ResourceChange, sink: SecretSinkSpec) -> str:
    """The file the sink will write, as apply will name it; `{id}` stays until creation."""
    values = {"address": change.address, "name": change.name, "account": change.account}
    try:
        filled = fill_sink_path(sink.path or "", values)
    except KeyError:
        return sink.path or ""  # validation reports the unknown placeholder
    if PurePath(filled).is_absolute() or sink.base_dir in ("", "."):
        return filled
    return str(PurePath(sink.base_dir) / filled)


def _secret_text(change: ResourceChange) -> str:
    sink = change.secret_sink
    if sink is None or sink.sink == "none":
        return "(sensitive value, not kept: no secret sink)"
    if sink.sink == "file":
        return f"(sensitive value, to file {_printable(_sink_file(change, sink))})"
    if sink.sink == "exec":
        command = sink.command[0] if sink.command else "?"
        return f"(sensitive value, to command {_printable(command)})"
    return "(sensitive value, to stdout with --show-secrets)"


class _Lines:
    """Collects output lines; colours symbols and headings only when asked."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self.lines: list[str] = []

    def add(self, line: str = "") -> None:
        self.lines.append(line)

    def paint(self, text: str, colour: str) -> str:
        return f"{colour}{text}{_RESET}" if self.color else text

    def symbol(self, symbol: str) -> str:
        if not self.color:
            return symbol
        return "".join(
            self.paint(ch, _SYMBOL_COLOURS[ch]) if ch in _SYMBOL_COLOURS else ch for ch in symbol
        )

    def text(self) -> str:
        return "\n".join(self.lines).rstrip("\n") + "\n"


class _Row:
    """One attribute line of a block: a symbol (or none), a name, and either a one-line
    value or the elements of a list shown one per line."""

    def __init__(
        self,
        symbol: str,
        name: str,
        value: str = "",
        elements: Iterable[tuple[str, str]] = (),
        hidden: int = 0,
        comment: str = "",
    ) -> None:
        self.symbol = symbol
        self.name = name
        self.value = value
        self.elements = list(elements)
        self.hidden = hidden
        self.comment = comment


def _change_row(change: AttributeChange, symbol: str = "~") -> _Row:
    if isinstance(change.before, list) or isinstance(change.after, list):
        elements = [("-", _literal(v)) for v in change.removed]
        elements += [("+", _literal(v)) for v in change.added]
        return _Row(symbol, change.attribute, elements=elements, hidden=change.unchanged)
    comment = "# forces replacement" if change.attribute == "account" else ""
    return _Row(
        symbol,
        change.attribute,
        f"{_literal(change.before)} -> {_literal(change.after)}",
        comment=comment,
    )


class _TextPlan:
    def __init__(self, plan: Plan, color: bool) -> None:
        self.plan = plan
        self.out = _Lines(color)

    # -- blocks --------------------------------------------------------------------------

    def block(self, symbol: str, ident: str, rows: list[_Row]) -> None:
        out = self.out
        lead = f"{symbol:>3} " if symbol.strip() else "    "
        out.add(f"{out.symbol(lead)}api_key {json.dumps(ident)} {{")
        width = max((len(row.name) for row in rows), default=0)
        for row in rows:
            name = row.name.ljust(width)
            if row.symbol.strip():
                prefix = f"      {out.symbol(row.symbol)} {name} = "
            else:
                prefix = f"        {name} = "
            if row.elements or (row.hidden and not row.value):
                out.add(f"{prefix}[")
                for element_symbol, literal in row.elements:
                    out.add(f"          {out.symbol(element_symbol)} {literal},")
                if row.hidden:
                    noun = "element" if row.hidden == 1 else "elements"
                    out.add(f"            # ({row.hidden} unchanged {noun} hidden)")
                out.add("        ]")
            else:
                tail = f" {row.comment}" if row.comment else ""
                out.add(f"{prefix}{row.value}{tail}")
        out.add("    }")

    def heading(self, address: str, phrase: str, notes: Iterable[str] = ()) -> None:
        self.out.add(self.out.paint(f"  # {_printable(address)} {phrase}", _BOLD))
        for note in notes:
            self.out.add(f"  # ({note})")

    # -- one change ----------------------------------------------------------------------

    def change(self, change: ResourceChange) -> None:
        notes = self._notes(change)
        ident = _ident(change.address)
        if change.action is Action.NOOP:
            self._state_only(change, ident)
            return
        phrase = _HEADINGS[change.action]
        if change.rotation is not None:
            phrase = (
                f"will be rotated: a successor now, this key revoked after "
                f"{format_instant(change.rotation.revoke_predecessor_after)}"
            )
            notes.append(f"rotation due: {change.rotation.due}")
        self.heading(change.address, phrase, notes)
        if change.action is Action.CREATE:
            self.block("+", ident, self._create_rows(change))
        elif change.action is Action.UPDATE:
            rows = [_Row("", "id", _literal(change.key_id))]
            rows += [_change_row(c) for c in change.changes]
            self.block("~", ident, rows)
        elif change.action is Action.REVOKE:
            self.block("-", ident, [_change_row(c) for c in change.changes])
        else:
            self.block("+/-", ident, self._replace_rows(change))
        self.out.add()

    def _notes(self, change: ResourceChange) -> list[str]:
        notes = []
        if change.previous_address:
            notes.append(f"moved from {_printable(change.previous_address)}")
        if change.importing_id and change.action is not Action.NOOP:
            how = "adopted by name from" if change.adopted_by_name else "imported from"
            notes.append(f"{how} {json.dumps(change.importing_id)}")
        reason = _REASONS.get(change.reason)
        if reason and change.action is not Action.NOOP:
            notes.append(f"because {reason}")
        if change.ignored and change.action is Action.UPDATE:
            notes.append("lifecycle.ignore_changes leaves " + ", ".join(change.ignored))
        return notes

    def _create_rows(self, change: ResourceChange) -> list[_Row]:
        after = change.after or {}
        rows = []
        for attribute in MANAGED_ATTRIBUTES:
            if attribute in change.after_unknown:
                rows.append(_Row("+", attribute, "(known after apply)"))
            elif attribute in after and not (attribute == "platform" and not after[attribute]):
                rows.append(_Row("+", attribute, _literal(after[attribute])))
        rows.append(_Row("+", "id", "(known after apply)"))
        rows.append(_Row("+", "secret", _secret_text(change)))
        return rows

    def _replace_rows(self, change: ResourceChange) -> list[_Row]:
        before = change.before or {}
        rows = [_Row("~", "id", f"{_literal(change.key_id)} -> (known after apply)")]
        shown = set()
        for attribute_change in change.changes:
            rows.append(_change_row(attribute_change))
            shown.add(attribute_change.attribute)
        for attribute in change.after_unknown:
            if attribute in shown or attribute == "id" or before.get(attribute) is None:
                continue
            rows.append(
                _Row("~", attribute, f"{_literal(before[attribute])} -> (known after apply)")
            )
        rows.append(_Row("+", "secret", _secret_text(change)))
        return rows

    def _state_only(self, change: ResourceChange, ident: str) -> None:
        """A no-op that still changes state: a move, an import, an adoption, a forget."""
        if not change.touches_state:
            return
        rows = [_Row("", "id", _literal(change.key_id))] if change.key_id else []
        if change.forget:
            why = (
                "its key is already disabled on Infobip"
                if change.before is not None
                else "its key no longer exists on Infobip"
            )
            if change.reason is Reason.REMOVED_FROM_CONFIG:
                why = f"it is no longer in the configuration, and {why}"
            self.heading(change.address, "will be removed from state", [why])
        elif change.importing_id:
            phrase = "will be adopted by name" if change.adopted_by_name else "will be imported"
            notes = (
                [f"moved from {_printable(change.previous_address)}"]
                if (change.previous_address)
                else []
            )
            self.heading(change.address, phrase, notes)
            rows.append(_Row("", "name", _literal(change.name)))
        else:
            self.heading(
                _printable(change.previous_address or ""), f"has moved to {change.address}"
            )
        if rows:
            self.block(" ", ident, rows)
        self.out.add()

    # -- sections -------------------------------------------------------------------------

    def drift(self) -> None:
        plan, out = self.plan, self.out
        if not plan.drift:
            return
        out.add(out.paint("Note: Keys have changed outside of infobip-iac", _BOLD))
        out.add()
        out.add(
            "infobip-iac detected the following changes made outside of infobip-iac since "
            "it last wrote these keys:"
        )
        out.add()
        for item in plan.drift:
            self._drift_item(item)
        if plan.attribution_unavailable:
            out.add(
                "Who made these changes is unavailable: "
                f"{_printable(plan.attribution_unavailable)}."
            )
            out.add()
        if plan.refresh_only:
            out.add(
                "This is a refresh-only plan: infobip-iac will not undo these changes. Apply "
                "it to record the live values in state without changing any key."
            )
        else:
            out.add(
                "Unless you have made equivalent changes to your configuration, the actions "
                "below undo the changes marked as reverted."
            )
        out.add()

    def _drift_item(self, item: DriftItem) -> None:
        notes = [attribution(item.changed_by)] if item.changed_by is not None else []
        self.heading(item.address, "has changed", notes)
        rows = [_Row("", "id", _literal(item.key_id))]
        rows += [_change_row(change) for change in item.changes]
        self.block("~", _ident(item.address), rows)
        if item.will_revert:
            self.out.add("  # (this plan reverts it)")
        elif self.plan.refresh_only:
            self.out.add("  # (a refresh-only plan records it in state)")
        else:
            self.out.add("  # (left as it is: lifecycle.ignore_changes)")
        self.out.add()

    def actions(self) -> None:
        shown = [c for c in self.plan.changes if c.has_effect]
        if not shown:
            return
        self.out.add("infobip-iac will perform the following actions:")
        self.out.add()
        if len({c.account for c in self.plan.changes}) < 2:
            for change in shown:
                self.change(change)
            return
        # A configuration naming several accounts: each account's changes under a heading,
        # with its own writes, since Infobip's daily write limit counts per account.
        writes = self.plan.writes_by_account()
        by_account: dict[str, list[ResourceChange]] = {}
        for change in shown:
            by_account.setdefault(change.account, []).append(change)
        for account in sorted(by_account):
            count = writes.get(account, 0)
            self.out.add(
                self.out.paint(
                    f"Account {_printable(account)}: {count} Infobip write"
                    f"{'' if count == 1 else 's'} of {_allowed(self.plan, account)}",
                    _BOLD,
                )
            )
            self.out.add()
            for change in by_account[account]:
                self.change(change)

    def unmanaged(self) -> None:
        keys = self.plan.unmanaged
        if not keys:
            return
        out = self.out
        noun = "key" if len(keys) == 1 else "keys"
        out.add(
            out.paint(
                f"Unmanaged keys: {len(keys)} enabled live {noun} in neither state nor "
                "configuration:",
                _BOLD,
            )
        )
        for key in keys:
            out.add(_unmanaged_entry(key))
        out.add(_UNMANAGED_ADVICE)
        out.add()

    def rotations(self) -> None:
        """Rotations left for a later day, and predecessors waiting out their overlap."""
        plan, out = self.plan, self.out
        if plan.deferred_rotations:
            out.add(out.paint(_deferred_heading(plan), _BOLD))
            for item in plan.deferred_rotations:
                out.add(_deferred_entry(item))
            out.add()
        if plan.waiting_predecessors:
            out.add(_WAITING_HEADING)
            for waiting in plan.waiting_predecessors:
                out.add(_waiting_entry(waiting))
            out.add()

    def warnings(self) -> None:
        plan, out = self.plan, self.out
        for warning in (*plan.validation_warnings, *plan.warnings):
            out.add(out.paint("Warning: ", _YELLOW) + _printable(warning))
        by_account = plan.writes_by_account()
        over = {a: n for a, n in by_account.items() if n > plan.writes_allowed(a)}
        for account, needed in over.items():
            where = f" in {_printable(describe_account(account))}" if len(by_account) > 1 else ""
            left = plan.writes_allowed(account)
            allowed = (
                f"the {plan.write_limit} Infobip allows per account and day"
                if left == plan.write_limit
                else f"the {left} left today of the {plan.write_limit} Infobip allows per "
                "account and day"
            )
            out.add(
                out.paint("Warning: ", _YELLOW)
                + f"this plan needs {needed} Infobip writes{where}, more than {allowed}; "
                "apply it in parts with --target, or over several days (apply stops at the "
                "limit, saves state and can be resumed)."
            )
        if plan.warnings or plan.validation_warnings or over:
            out.add()

    def render(self) -> str:
        out = self.out
        out.add()
        self.drift()
        self.actions()
        self.unmanaged()
        self.rotations()
        self.warnings()
        out.add(out.paint(summary_line(self.plan), _BOLD))
        return out.text()


_WAITING_HEADING = "Predecessors of rotated keys, enabled until their overlap ends:"


def _deferred_heading(plan: Plan) -> str:
    deferred = plan.deferred_rotations
    expiries = [d.valid_to for d in deferred if d.valid_to is not None]
    earliest = f"; the earliest expires at {format_instant(min(expiries))}" if expiries else ""
    return (
        f"Deferred rotations: {len(deferred)} due, left for a later day by the write "
        f"budget{earliest}:"
    )


def _deferred_entry(item: DeferredRotation) -> str:
    expires = format_instant(item.valid_to) if item.valid_to else "never"
    return f"  - {_printable(item.address)}: rotation due: {item.due} (expires {expires})"


def _waiting_entry(waiting: WaitingPredecessor) -> str:
    return (
        f"  - {_printable(waiting.address)}: revoked after {format_instant(waiting.revoke_after)}"
    )


_UNMANAGED_ADVICE = (
    "Declare them, import them with `infobip-iac import ADDRESS KEY_ID` (or write manifests "
    "for them with `infobip-iac export --unmanaged-only`), or choose what plans do with them "
    "in policy.unmanaged_keys (ignore | report | revoke)."
)


def _unmanaged_entry(key: UnmanagedKey) -> str:
    return f"  - {_unmanaged_line(key)}"


def _unmanaged_line(key: UnmanagedKey) -> str:
    fate = "will be revoked by this plan" if key.disposition == "revoke" else "reported"
    return (
        f"{_printable(key.key_id)} {json.dumps(key.name)} in "
        f"{_printable(describe_account(key.account))}: {fate}"
    )


def attribution(author: ChangeAuthor) -> str:
    """`changed outside infobip-iac by jane.doe from 198.51.100.4 at 2026-11-25T12:00:00Z`,
    leaving out what the audit log did not say."""
    text = "changed outside infobip-iac"
    if author.username:
        text += f" by {_printable(author.username)}"
    if author.ip_address:
        text += f" from {_printable(author.ip_address)}"
    if author.at is not None:
        text += f" at {format_instant(author.at)}"
    return text


def summary_line(plan: Plan) -> str:
    """`Plan: 1 to add, 2 to change, 1 to revoke. Infobip writes: 3 of 40 allowed per day.`,
    or the no-changes sentence."""
    if plan.refresh_only:
        recorded = len(plan.drift) + sum(1 for c in plan.changes if c.forget)
        if not recorded:
            return _no_changes(plan)
        noun = "key" if recorded == 1 else "keys"
        return f"Refresh-only plan: {recorded} {noun} to record in state; no key is written."
    if not plan.has_changes:
        return _no_changes(plan)
    imports = sum(1 for c in plan.changes if c.importing_id)
    counts = (
        f"{plan.count(Action.CREATE) + plan.count(Action.REPLACE)} to add, "
        f"{plan.count(Action.UPDATE)} to change, {len(plan.revokes())} to revoke."
    )
    if imports:
        counts = f"{imports} to import, {counts}"
    by_account = plan.writes_by_account()
    if len(by_account) > 1:
        busiest = max(by_account.values())
        tight = [a for a in by_account if plan.writes_allowed(a) < plan.write_limit]
        left = (
            f" ({', '.join(f'{plan.writes_allowed(a)} left today in {a}' for a in tight)})"
            if tight
            else ""
        )
        return (
            f"Plan: {counts} Infobip writes: {plan.writes} in {len(by_account)} accounts, "
            f"at most {busiest} of {plan.write_limit} allowed per day in one{left}."
        )
    account = next(iter(by_account), "")
    return f"Plan: {counts} Infobip writes: {plan.writes} of {_allowed(plan, account)}."


def _allowed(plan: Plan, account: str) -> str:
    """`40 allowed per day`, or `the 33 left today (40 a day)` when the state knows the
    writes this tool already sent to `account` today."""
    left = plan.writes_allowed(account)
    if left == plan.write_limit:
        return f"{plan.write_limit} allowed per day"
    return f"the {left} left today ({plan.write_limit} a day)"


def _no_changes(plan: Plan) -> str:
    """NO_CHANGES, unless --target kept the rest of the configuration out of the plan:
    then only the targeted keys are known to match."""
    if not plan.targets:
        return NO_CHANGES
    left_out = plan.changes_outside_targets
    if not left_out:
        return "No changes. The targeted keys match the configuration."
    noun = "change" if left_out == 1 else "changes"
    return (
        f"No changes to the targeted keys. {left_out} {noun} outside the targets "
        f"{'was' if left_out == 1 else 'were'} left out; plan without --target to see "
        f"{'it' if left_out == 1 else 'them'}."
    )


class TextSection:
    """One section of the text plan as separate entries (a key's block, an unmanaged key's
    line), so that a renderer with a size limit can show some entries and count the rest."""

    def __init__(self, title: str, noun: str, lead: str = "", tail: str = "") -> None:
        self.title = title
        self.noun = noun  # what one entry is, for "N more <noun>s left out"
        self.lead = lead  # text before the entries
        self.tail = tail  # text after them
        self.entries: list[str] = []


def text_sections(plan: Plan) -> list[TextSection]:
    """The plan's drift, actions, unmanaged keys and warnings as sections of entries, in
    the text plan's order; an empty section is left out. Each entry is text as render_text
    writes it (without colour), ending in a newline."""
    made = _TextPlan(plan, color=False)
    sections: list[TextSection] = []

    def take(fill: Any) -> str:
        made.out = _Lines(color=False)
        fill()
        return "\n".join(made.out.lines).rstrip("\n") + "\n"

    if plan.drift:
        drift = TextSection("Changed outside infobip-iac", "drifted key")
        drift.entries = [take(lambda item=item: made._drift_item(item)) for item in plan.drift]
        sections.append(drift)
    shown = [c for c in plan.changes if c.has_effect]
    if shown:
        actions = TextSection("Actions", "change")
        several = len({c.account for c in plan.changes}) >= 2
        writes = plan.writes_by_account()
        last_account: str | None = None
        for change in sorted(shown, key=lambda c: c.account) if several else shown:
            entry = ""
            if several and change.account != last_account:
                count = writes.get(change.account, 0)
                entry = (
                    f"Account {_printable(change.account)}: {count} Infobip write"
                    f"{'' if count == 1 else 's'} of {_allowed(plan, change.account)}\n\n"
                )
                last_account = change.account
            actions.entries.append(entry + take(lambda change=change: made.change(change)))
        sections.append(actions)
    if plan.unmanaged:
        unmanaged = TextSection("Unmanaged keys", "unmanaged key", tail=_UNMANAGED_ADVICE)
        unmanaged.entries = [_unmanaged_entry(key) + "\n" for key in plan.unmanaged]
        sections.append(unmanaged)
    if plan.deferred_rotations:
        deferred = TextSection(
            "Deferred rotations", "deferred rotation", lead=_deferred_heading(plan) + "\n"
        )
        deferred.entries = [_deferred_entry(item) + "\n" for item in plan.deferred_rotations]
        sections.append(deferred)
    if plan.waiting_predecessors:
        waiting = TextSection(
            "Predecessors in their overlap", "predecessor", lead=_WAITING_HEADING + "\n"
        )
        waiting.entries = [_waiting_entry(w) + "\n" for w in plan.waiting_predecessors]
        sections.append(waiting)
    warnings = take(made.warnings).strip("\n")
    if warnings:
        section = TextSection("Warnings", "warning")
        section.entries = [line + "\n" for line in warnings.splitlines() if line]
        sections.append(section)
    return sections


def render_text(plan: Plan, *, color: bool = False) -> str:
    """The whole text plan, ending in a newline. ANSI colour only when `color` is True."""
    return _TextPlan(plan, color).render()
