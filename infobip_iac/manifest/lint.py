"""Warnings: things that are valid but probably not what the writer wants (exit code stays 0);
and the one check of the clock, a validity that has ended, which is an error.

Scopes granted through a role are left out of the scope warnings: a role is a bundle the
writer chose as a whole, and its overlaps are Infobip's, not the manifest's.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from infobip_iac.domain.keys import Policy
from infobip_iac.domain.normalize import format_instant
from infobip_iac.errors import Diagnostic
from infobip_iac.manifest.diagnostics import Code, diagnostic
from infobip_iac.manifest.resolve import Grant, KeyDraft
from infobip_iac.scopes import Catalog

__all__ = ["EXPIRY_WARNING", "lint_key"]

EXPIRY_WARNING = timedelta(days=30)


def lint_key(
    draft: KeyDraft, policy: Policy, catalog: Catalog, *, now: datetime
) -> list[Diagnostic]:
    found = _scope_warnings(draft, catalog)
    if draft.enabled:
        found.extend(_expiry(draft, now))
        found.extend(_open_to_all(draft, policy))
    return found


def _scope_warnings(draft: KeyDraft, catalog: Catalog) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    redundant, manages = _scope_rules(catalog, frozenset([grant.scope for grant in draft.grants]))
    if not redundant and not manages:
        return found  # the usual key: nothing to look at grant by grant
    by_scope: dict[str, Grant] = {grant.scope: grant for grant in draft.grants}
    for narrow, broad in redundant:
        grant = by_scope[narrow]
        if grant.from_role:
            continue
        found.append(
            diagnostic(
                grant.file.name,
                grant.mark,
                Code.REDUNDANT_SCOPE,
                f"{grant.described} is already granted by {by_scope[broad].described}",
                f'remove "{narrow}", or replace "{broad}" by the narrow scopes the key needs',
            )
        )
    written = [grant for grant in draft.grants if not grant.from_role]
    for manage in written:
        if not manage.scope.endswith(":manage"):
            continue
        narrower = [g.scope for g in written if catalog.covers(manage.scope, g.scope)]
        if not narrower:
            continue
        found.append(
            diagnostic(
                manage.file.name,
                manage.mark,
                Code.BROAD_MANAGE,
                f"{manage.described} grants every endpoint of its product, while the key also "
                f"lists narrow ones ({', '.join(sorted(narrower))})",
                f'if the narrow scopes are what the key needs, drop "{manage.scope}"',
            )
        )
    return found


@functools.lru_cache(maxsize=1024)
def _scope_rules(
    catalog: Catalog, scopes: frozenset[str]
) -> tuple[tuple[tuple[str, str], ...], bool]:
    """The (narrow, broad) pairs of `scopes`, sorted, and whether any is a `:manage` scope;
    keys share a few scope sets between them, so each set is judged once."""
    redundant = tuple(sorted(catalog.redundant_in(scopes).items()))
    return redundant, any(scope.endswith(":manage") for scope in scopes)


def _expiry(draft: KeyDraft, now: datetime) -> list[Diagnostic]:
    valid_from, valid_to, valid_for = draft.valid_window()
    if valid_to is not None:
        written = "valid_to"
        end = valid_to
    elif valid_for is not None and valid_from is not None:
        written = "valid_for"
        try:
            end = valid_from + valid_for
        except OverflowError:
            return []
    else:
        return []
    left = end - now
    if left >= EXPIRY_WARNING:
        return []
    setting = draft.setting(written)
    assert setting is not None
    where = setting.mark if not setting.inherited else draft.id_mark
    if left <= timedelta(0):
        # An error, not a warning: Infobip refuses to create a key whose validity has ended,
        # and a key past its valid_to works nowhere (checked on this machine's clock).
        return [
            diagnostic(
                draft.file.name,
                where,
                Code.VALIDITY_ENDED,
                f"{draft.address} stopped being valid at {format_instant(end)} ({written} is "
                "in the past); Infobip refuses to create such a key",
                f"set a later {written}, or set enabled: false to revoke the key",
            )
        ]
    return [
        diagnostic(
            draft.file.name,
            where,
            Code.EXPIRES_SOON,
            f"{draft.address} stops being valid in {_span(left)} ({format_instant(end)})",
            "extend its validity, or plan the key that replaces it",
        )
    ]


def _span(left: timedelta) -> str:
    if left >= timedelta(days=2):
        return f"{left.days} days"
    hours = max(1, int(left.total_seconds() // 3600))
    return f"{hours} hour" + ("s" if hours != 1 else "")


def _open_to_all(draft: KeyDraft, policy: Policy) -> list[Diagnostic]:
    networks = draft.value("allowed_ips")
    if not networks:
        if policy.require_allowed_ips:
            return []  # already an error
        setting = draft.setting("allowed_ips")
        return [
            diagnostic(
                draft.file.name,
                setting.mark if setting is not None and not setting.inherited else draft.id_mark,
                Code.OPEN_TO_ANY_IP,
                f"{draft.address} has no allowed_ips, so it works from every IP address",
                "list the addresses or ranges it is used from in allowed_ips",
            )
        ]
    if policy.forbid_any_ip:
        return []  # an error already names the range
    opened = draft.open_networks()
    if not opened:
        return []
    setting = draft.setting("allowed_ips")
    assert setting is not None
    return [
        diagnostic(
            setting.file.name,
            setting.item_mark(index),
            Code.OPEN_TO_ANY_IP,
            f"{network} admits every IP address",
            "list the addresses or ranges the key is used from instead",
        )
        for index, network in opened
    ]
