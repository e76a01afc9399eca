"""Addresses as a user types them: their syntax, "did you mean", and the `--target` and
`--replace` requests held against what a plan knows.

A request the plan could not honour is refused (UsageError) rather than ignored: a
target that matches nothing would make a plan that silently does nothing, and a replace
skipped would leave a key the user meant to renew.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable

from infobip_iac.domain.keys import is_key_address, key_address
from infobip_iac.engine.drafts import Planned
from infobip_iac.engine.identity import Identities
from infobip_iac.engine.plan_context import PlanContext
from infobip_iac.errors import UsageError

__all__ = [
    "check_address_syntax",
    "check_replace_requests",
    "refuse_unknown_targets",
    "unmanaged_address",
]

_UNMANAGED_ADDRESS = re.compile(r"unmanaged\.[^.\s]+\.[^.\s]+")
_KEY_ADDRESS_HELP = (
    "use api_keys.<id>, with the id of a key under api_keys: lowercase letters, digits, "
    "_ and - (e.g. api_keys.ci-sms)"
)


def unmanaged_address(account: str, key_id: str) -> str:
    """The address a plan gives a live key nobody declared, so `--target` can name it."""
    return f"unmanaged.{account}.{key_id}"


def check_address_syntax(
    targets: Iterable[str] = (),
    replace: Iterable[str] = (),
    *,
    rotate: Iterable[str] = (),
    known: Collection[str] | None = None,
) -> None:
    """Raise UsageError for a `--target`, `--replace` or `--rotate` that is not an address.

    `known` (declared and state addresses) narrows "did you mean" to addresses that exist.
    make_plan checks this itself; the CLI may call it first, to refuse a typo before it
    reads any live key."""
    for flag, addresses in (("--replace", replace), ("--rotate", rotate)):
        for address in addresses:
            if not is_key_address(address):
                raise UsageError(
                    f'{flag} "{address}" is not a key address; {_KEY_ADDRESS_HELP}'
                    f"{_suggestion(address, known)}"
                )
    for address in targets:
        if not (is_key_address(address) or _UNMANAGED_ADDRESS.fullmatch(address)):
            raise UsageError(
                f'--target "{address}" is not a key address; {_KEY_ADDRESS_HELP}, or '
                "unmanaged.<account>.<key id> for a live key nobody declared"
                f"{_suggestion(address, known)}"
            )


def _suggestion(text: str, known: Collection[str] | None) -> str:
    if known is not None:
        return _did_you_mean(text, known)
    # Without the addresses at hand, the likeliest slip is a key id without its prefix.
    address = key_address(text)
    return f"; did you mean {address}?" if is_key_address(address) else ""


def _did_you_mean(address: str, known: Iterable[str]) -> str:
    """`; did you mean api_keys.x?` for a likely typo of one of `known`, else nothing."""
    pool = sorted(set(known))
    if key_address(address) in pool:  # the id alone, without `api_keys.`
        return f"; did you mean {key_address(address)}?"
    close = difflib.get_close_matches(address, pool, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def check_replace_requests(context: PlanContext, identities: Identities) -> None:
    """Refuse a `--replace` this plan would not carry out: a typo, a key no longer
    declared, a disabled key, or one --target leaves out."""
    declared = context.config.keys
    for address in sorted(context.replace):
        desired = declared.get(address)
        if desired is None:
            if address in context.state.resources:
                raise UsageError(
                    f"--replace {address}: the key is no longer declared, so this plan "
                    "revokes it rather than replacing it; declare it again to replace it"
                )
            raise UsageError(
                f"--replace {address}: no key is declared at this address"
                f"{_did_you_mean(address, declared)}"
            )
        if not desired.enabled:
            where = f" at {desired.source}" if desired.source else ""
            raise UsageError(
                f"--replace {address}: the key is declared with enabled: false{where}, "
                "and a disabled key is not replaced; enable it, or drop --replace"
            )
        ident = identities.declared.get(address)
        previous = ident.previous_address if ident is not None else None
        if not context.in_scope(address, previous):
            raise UsageError(
                f"--replace {address}: --target leaves this key out of the plan; "
                f"add --target {address}"
            )


def refuse_unknown_targets(
    context: PlanContext, identities: Identities, planned: Iterable[Planned]
) -> None:
    """A target that matches nothing would make a plan that silently does nothing:
    refused, as a typo, with the address most likely meant."""
    if not context.targets:
        return
    known = (
        set(context.config.keys)
        | set(identities.declared)
        | set(identities.removed)
        | set(context.state.resources)
        | {p.address for p in planned}
        | {unmanaged_address(u.account, u.key_id) for u in context.unmanaged}
    )
    unknown = sorted(context.targets - known)
    if unknown:
        target = unknown[0]
        raise UsageError(
            f"--target {target} matches no declared key, state entry or unmanaged key"
            f"{_did_you_mean(target, known)}"
        )
