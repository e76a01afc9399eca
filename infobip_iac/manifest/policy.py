"""The configuration's `policy` guard rails, checked against every resolved key.

`max_validity` measures the window a key will have: `valid_for` itself; `valid_to` from
`valid_from` (or from now, for a key not yet created); and, with neither, Infobip's default
of one year from creation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from infobip_iac.domain.keys import Policy
from infobip_iac.domain.normalize import format_duration
from infobip_iac.errors import Diagnostic
from infobip_iac.manifest.diagnostics import Code, diagnostic
from infobip_iac.manifest.resolve import KeyDraft, Setting
from infobip_iac.scopes import Catalog

__all__ = ["INFOBIP_DEFAULT_VALIDITY", "check_policy"]

INFOBIP_DEFAULT_VALIDITY = timedelta(days=365)


def check_policy(
    draft: KeyDraft, policy: Policy, catalog: Catalog, *, now: datetime
) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    if policy.max_validity is not None:
        problems.extend(_max_validity(draft, policy.max_validity, now))
    networks = draft.value("allowed_ips")
    if policy.require_allowed_ips and not networks and draft.enabled:
        allowed = draft.setting("allowed_ips")
        own = allowed is not None and not allowed.inherited
        problems.append(
            diagnostic(
                draft.file.name,
                allowed.mark if own and allowed is not None else draft.id_mark,
                Code.POLICY_REQUIRE_ALLOWED_IPS,
                f"{draft.address} has no allowed_ips, and policy.require_allowed_ips is on",
                "list the addresses or ranges the key is used from (here or in defaults)",
            )
        )
    if policy.forbid_any_ip and networks:
        allowed = draft.setting("allowed_ips")
        assert allowed is not None  # the ranges are written somewhere
        for index, network in draft.open_networks():
            problems.append(
                diagnostic(
                    allowed.file.name,
                    allowed.item_mark(index),
                    Code.POLICY_FORBID_ANY_IP,
                    f"{network} admits every address, and policy.forbid_any_ip is on",
                    "list the real ranges the key is used from",
                )
            )
    if policy.forbidden_scopes:
        for grant in draft.grants:
            if grant.scope in policy.forbidden_scopes:
                message = f"{grant.described} is forbidden by policy.forbidden_scopes"
            else:
                covered = sorted(
                    f for f in policy.forbidden_scopes if catalog.covers(grant.scope, f)
                )
                if not covered:
                    continue
                message = (
                    f'{grant.described} grants the forbidden "{covered[0]}" '
                    "(policy.forbidden_scopes)"
                )
            problems.append(
                diagnostic(
                    grant.file.name,
                    grant.mark,
                    Code.POLICY_FORBIDDEN_SCOPE,
                    message,
                    "remove it; grant only the narrower scopes the key needs",
                )
            )
    return problems


def _max_validity(draft: KeyDraft, limit: timedelta, now: datetime) -> list[Diagnostic]:
    valid_from, valid_to, valid_for = draft.valid_window()
    shown = format_duration(limit)
    if valid_for is not None:
        setting = draft.setting("valid_for")
        assert setting is not None
        if valid_for <= limit:
            return []
        return _too_long(
            setting,
            f"valid_for {format_duration(valid_for)} is longer than policy.max_validity {shown}",
            f"shorten it to at most {shown}",
        )
    if valid_to is not None:
        setting = draft.setting("valid_to")
        assert setting is not None
        start = valid_from if valid_from is not None else now
        if valid_to - start <= limit:
            return []
        return _too_long(
            setting,
            f"valid_to is {_days(valid_to - start)} after "
            + ("valid_from" if valid_from is not None else "now")
            + f", longer than policy.max_validity {shown}",
            f"bring valid_to within {shown} of "
            + ("valid_from" if valid_from is not None else "today"),
        )
    if limit >= INFOBIP_DEFAULT_VALIDITY:
        return []
    return [
        diagnostic(
            draft.file.name,
            draft.id_mark,
            Code.POLICY_MAX_VALIDITY,
            f"{draft.address} sets no valid_to or valid_for, so Infobip makes it valid for one "
            f"year, longer than policy.max_validity {shown}",
            f"set valid_for: {shown} (on the key or in defaults)",
        )
    ]


def _too_long(setting: Setting, message: str, hint: str) -> list[Diagnostic]:
    return [diagnostic(setting.file.name, setting.mark, Code.POLICY_MAX_VALIDITY, message, hint)]


def _days(span: timedelta) -> str:
    return f"{span.days} days" if span.days != 1 else "1 day"
