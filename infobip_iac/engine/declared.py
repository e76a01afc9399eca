"""What becomes of a declared key: created, kept, updated, revoked, replaced or rotated.

`DeclaredKeys.plan` decides for one key from its declaration, its state entry and the
live key its address is bound to (`engine.identity`). What stops a decision (a date
Infobip refuses, CPaaS X links on another account's key, `prevent_revoke`) is collected in
the plan's context, not raised, so that `--target` can plan around it. The dates are
`engine.validity`'s, the write bodies `engine.write_bodies`'.
"""

from __future__ import annotations

from dataclasses import replace

from infobip_iac.domain.attributes import MANAGED_ATTRIBUTES
from infobip_iac.domain.keys import CALLER_ACCOUNT, DesiredKey, LiveKey
from infobip_iac.domain.normalize import format_duration
from infobip_iac.domain.plan import Action, AttributeChange, Reason, ResourceChange, RotationNote
from infobip_iac.domain.rotation import rotation_due
from infobip_iac.engine.diff import (
    Attributes,
    desired_attributes,
    differing_attributes,
    json_value,
    live_values,
    wanted_values,
)
from infobip_iac.engine.drafts import Decision, Draft, Planned, Subject, guard_revoke, revoke
from infobip_iac.engine.identity import Identity
from infobip_iac.engine.plan_context import PlanContext
from infobip_iac.engine.validity import (
    create_date_refusal,
    declared_valid_to,
    expected_valid_to,
    update_window_refusal,
)
from infobip_iac.engine.write_bodies import create_body, update_body
from infobip_iac.state.model import ResourceState

__all__ = ["DeclaredKeys"]


class DeclaredKeys:
    """The decisions for the declared keys of one plan."""

    __slots__ = ("context",)

    def __init__(self, context: PlanContext) -> None:
        self.context = context

    def plan(self, desired: DesiredKey, ident: Identity) -> Planned:
        key, record = ident.live, ident.record
        before = self.context.attributes_of(key) if key is not None else None
        subject = Subject(
            address=desired.address,
            account=desired.account,
            name=desired.name,
            key_id=key.id if key is not None else None,
            before=before,
            importing_id=ident.importing_id,
            adopted_by_name=ident.adopted_by_name,
            previous_address=ident.previous_address,
            prevent_revoke=desired.lifecycle.prevent_revoke,
        )
        if key is None or before is None:
            return self._without_key(desired, record, subject)
        replacing = self._replace_reason(desired, record)
        if replacing is not None and desired.enabled:
            return self._replace(desired, record, key, subject, replacing)
        planned = self._keep(desired, record, key, subject, before)
        if desired.rotation is None or not desired.enabled or not key.enabled:
            return planned
        due = (
            "requested"
            if desired.address in self.context.rotate
            else rotation_due(
                desired.rotation,
                valid_from=key.valid_from,
                valid_to=key.valid_to,
                now=self.context.now,
            )
        )
        if due is None:
            return planned
        return self._rotate(desired, record, key, subject, due, planned)

    def _without_key(
        self, desired: DesiredKey, record: ResourceState | None, subject: Subject
    ) -> ResourceChange:
        """No live key: a create, unless the declaration asks for a disabled key."""
        if desired.enabled:
            return subject.change(self._create(desired, Reason.GONE if record else Reason.NEW))
        # Declared revoked and nothing to revoke: never create a key just to disable it.
        # A state entry whose key is gone is dropped.
        if record is None and self.context.in_scope(desired.address):
            where = "" if desired.account == CALLER_ACCOUNT else f" in account {desired.account}"
            self.context.warnings.append(
                f"{desired.address} is declared with enabled: false and no key "
                f'"{desired.name}" exists{where}: it is not created (a new key is always '
                "enabled)"
            )
        return subject.change(
            Decision(
                action=Action.NOOP,
                reason=Reason.GONE if record else Reason.NONE,
                forget=bool(record),
            )
        )

    def _keep(
        self,
        desired: DesiredKey,
        record: ResourceState | None,
        key: LiveKey,
        subject: Subject,
        before: Attributes,
    ) -> Planned:
        """A declared key whose live key stays: a no-op, an update or a revoke."""
        if not desired.enabled:
            if not key.enabled:
                return subject.change(Decision(action=Action.NOOP, after=before))
            guard_revoke(
                self.context, desired.address, desired.lifecycle.prevent_revoke, record, "revoke"
            )
            return revoke(subject, Reason.DISABLED_IN_CONFIG)

        ignoring = desired.lifecycle.ignore_changes
        ignored = tuple(a for a in MANAGED_ATTRIBUTES if a in ignoring) if ignoring else ()
        wanted = wanted_values(desired, expected_valid_to(desired, record, key))
        differing = differing_attributes(wanted, live_values(key), ignored)
        if not differing:
            # Most keys of a large configuration: finished at once, no attributes to diff.
            return subject.change(Decision(action=Action.NOOP, after=before, ignored=ignored))
        refusal = update_window_refusal(desired, wanted, key, differing)
        if refusal is not None:
            self.context.refuse(desired.address, refusal)
        if "platform" in differing:
            self._check_platform_account(desired)
        new = {a: json_value(a, wanted[a]) for a in differing}
        write = update_body(wanted, differing)
        if desired.platform and "platform" in differing and key.scopes:
            # Infobip refuses a key with both links and scopes: the scopes go first.
            write = replace(write, scopes=frozenset())
        decision = Decision(
            action=Action.UPDATE,
            reason=Reason.REENABLE if "enabled" in differing else Reason.CHANGED,
            after={**before, **new},
            write=write,
            writes=len(write.update_steps()),
            ignored=ignored,
        )
        return Draft(subject, decision, old={a: before[a] for a in differing}, new=new)

    def _replace_reason(self, desired: DesiredKey, record: ResourceState | None) -> Reason | None:
        if (
            record is not None
            and record.account != desired.account  # most keys: no account to resolve
            and not self._same_account(desired.account, record)
        ):
            return Reason.ACCOUNT_CHANGED
        if desired.address in self.context.replace:
            return Reason.REPLACE_REQUESTED
        if record is not None and record.secret is not None and record.secret.status == "lost":
            return Reason.SECRET_LOST
        return None

    def _same_account(self, account: str, record: ResourceState) -> bool:
        index = self.context.index
        if index.same_account(account, record.account):
            return True
        return record.account_id is not None and index.resolve(account) == record.account_id

    def _check_platform_account(self, desired: DesiredKey) -> None:
        """Infobip links CPaaS X applications only to keys of the caller's own (main)
        account. Known when the caller's account id is: whether that account is a main
        account is not, and is left to Infobip."""
        index = self.context.index
        caller = index.resolve(CALLER_ACCOUNT)
        if not desired.platform or caller is None or index.same_account(desired.account, caller):
            return
        at = f"{desired.source}: " if desired.source is not None else ""
        self.context.refuse(
            desired.address,
            f"{at}{desired.address} links CPaaS X applications (platform) on a key of "
            f"account {desired.account}; Infobip allows platform only on keys of the "
            f"credentials' own account ({caller}): move the key there, or drop platform",
        )

    def _create(
        self,
        desired: DesiredKey,
        reason: Reason,
        *,
        action: Action = Action.CREATE,
        writes: int = 1,
        rotation: RotationNote | None = None,
    ) -> Decision:
        """A new key with the declared attributes: a create, or the first half of a
        replace (`action`), which also revokes the subject's key."""
        refusal = create_date_refusal(desired, self.context.now)
        if refusal is not None:
            self.context.refuse(desired.address, refusal)
        self._check_platform_account(desired)
        valid_to = declared_valid_to(desired)
        wanted = desired_attributes(desired, valid_to)
        unknown = ("id", *(a for a in ("valid_from", "valid_to") if wanted[a] is None))
        return Decision(
            action=action,
            reason=reason,
            after={a: v for a, v in wanted.items() if v is not None},
            after_unknown=unknown,
            write=create_body(desired, valid_to),
            writes=writes,
            secret_sink=desired.secret if desired.secret.sink != "none" else None,
            rotation=rotation,
        )

    def _replace(
        self,
        desired: DesiredKey,
        record: ResourceState | None,
        key: LiveKey,
        subject: Subject,
        reason: Reason,
    ) -> Draft:
        guard_revoke(
            self.context, desired.address, desired.lifecycle.prevent_revoke, record, "replace"
        )
        moved: tuple[AttributeChange, ...] = ()
        if reason is Reason.ACCOUNT_CHANGED and record is not None:
            moved = (
                AttributeChange(attribute="account", before=record.account, after=desired.account),
            )
        # Two writes: the create, then the revoke of the old key.
        decision = self._create(desired, reason, action=Action.REPLACE, writes=2)
        old, new = self._replaced_values(desired, record, key)
        return Draft(subject, decision, old=old, new=new, known=moved)

    def _rotate(
        self,
        desired: DesiredKey,
        record: ResourceState | None,
        key: LiveKey,
        subject: Subject,
        due: str,
        fallback: Planned,
    ) -> Draft:
        """A successor with the declared attributes; the predecessor stays for the overlap.
        Not guarded by prevent_revoke: declaring a rotation asks for the later revoke."""
        assert desired.rotation is not None
        overlap = desired.rotation.overlap
        note = RotationNote(
            due=due,
            predecessor_id=key.id,
            overlap=format_duration(overlap),
            revoke_predecessor_after=self.context.now + overlap,
        )
        # One write: the successor; the predecessor's revoke comes on a later day.
        decision = self._create(
            desired, Reason.ROTATION, action=Action.REPLACE, writes=1, rotation=note
        )
        old, new = self._replaced_values(desired, record, key)
        return Draft(subject, decision, old=old, new=new, fallback=fallback)

    def _replaced_values(
        self, desired: DesiredKey, record: ResourceState | None, key: LiveKey
    ) -> tuple[Attributes, Attributes]:
        """The attributes in which the new key differs from the one it replaces."""
        before = self.context.attributes_of(key)
        wanted = wanted_values(desired, expected_valid_to(desired, record, key))
        differing = differing_attributes(wanted, live_values(key))
        return {a: before[a] for a in differing}, {a: json_value(a, wanted[a]) for a in differing}
