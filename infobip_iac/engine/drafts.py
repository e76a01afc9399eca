"""A key's change as the planner builds it: the key it concerns, then the decision.

A `ResourceChange` is built once, by `Subject.change`, from three parts: the `Subject`
(what every change of one key shares, whatever is decided: its address, account, name,
live key, how it was matched), the `Decision` (action, reason, write, ...), and the
attribute changes. Those of an update, a revoke or a replace are found for the whole plan
in one diff (`engine.diff.attribute_changes`): until then the change is a `Draft`,
holding the differing values. A change with nothing to diff is finished at once.
Also here: the revoke, and the `prevent_revoke` rule that refuses one.

The three are typed named tuples, as `engine.identity.Identity` is: immutable and seen
field by field by mypy like a frozen dataclass, and a third of its cost to build, which
counts where a plan makes two or three per key.
"""

from __future__ import annotations

from typing import NamedTuple

from infobip_iac.domain.keys import KeyWrite, SecretSinkSpec
from infobip_iac.domain.plan import Action, AttributeChange, Reason, ResourceChange, RotationNote
from infobip_iac.engine.diff import Attributes
from infobip_iac.engine.plan_context import PlanContext
from infobip_iac.state.model import ResourceState

__all__ = ["Decision", "Draft", "Planned", "Subject", "change_of", "guard_revoke", "revoke"]


class Subject(NamedTuple):
    """The key a change concerns. `key_id` and `before` are its live key's (None for a
    key to create); the rest is how the address found it."""

    address: str
    account: str
    name: str
    key_id: str | None = None
    before: Attributes | None = None
    importing_id: str | None = None
    adopted_by_name: bool = False
    previous_address: str | None = None
    prevent_revoke: bool = False

    def change(
        self, decision: Decision, changes: tuple[AttributeChange, ...] = ()
    ) -> ResourceChange:
        """The key's change: this subject, the decision, and its attribute changes."""
        return ResourceChange(
            address=self.address,
            account=self.account,
            name=self.name,
            action=decision.action,
            reason=decision.reason,
            key_id=self.key_id,
            before=self.before,
            after=decision.after,
            after_unknown=decision.after_unknown,
            changes=changes,
            write=decision.write,
            writes=decision.writes,
            secret_sink=decision.secret_sink,
            importing_id=self.importing_id,
            adopted_by_name=self.adopted_by_name,
            previous_address=self.previous_address,
            ignored=decision.ignored,
            forget=decision.forget,
            prevent_revoke=self.prevent_revoke,
            rotation=decision.rotation,
        )


class Decision(NamedTuple):
    """What the planner decided for a key: the fields of its `ResourceChange` that are
    neither the `Subject`'s nor the diff's (see there for their meaning)."""

    action: Action
    reason: Reason = Reason.NONE
    after: Attributes | None = None
    after_unknown: tuple[str, ...] = ()
    write: KeyWrite | None = None
    writes: int = 0
    secret_sink: SecretSinkSpec | None = None
    ignored: tuple[str, ...] = ()
    forget: bool = False
    rotation: RotationNote | None = None


class Draft(NamedTuple):
    """A change whose attribute changes are still to be diffed. `old` and `new` hold the
    differing attributes' plan JSON; `known` the attribute changes found without the
    diff (a replace's move to another account)."""

    subject: Subject
    decision: Decision
    old: Attributes
    new: Attributes
    known: tuple[AttributeChange, ...] = ()
    # A rotation's: the key's ordinary change, should today's budget not take it.
    fallback: Planned | None = None

    @property
    def address(self) -> str:
        return self.subject.address

    @property
    def account(self) -> str:
        return self.subject.account

    @property
    def writes(self) -> int:
        return self.decision.writes

    def finish(self, found: tuple[AttributeChange, ...] = ()) -> ResourceChange:
        return self.subject.change(self.decision, self.known + found)


# A change still to be diffed, or one that is finished already.
Planned = Draft | ResourceChange


def change_of(planned: Planned) -> ResourceChange:
    """The change as far as it is known: all but the diff's attribute changes."""
    return planned.finish() if isinstance(planned, Draft) else planned


def revoke(subject: Subject, reason: Reason, *, forget: bool = False) -> Draft:
    """Disable the subject's live key (Infobip cannot delete one)."""
    before = subject.before
    assert before is not None, "only a live key is revoked"
    decision = Decision(
        action=Action.REVOKE,
        reason=reason,
        after={**before, "enabled": False},
        write=KeyWrite(enabled=False),
        writes=1,
        forget=forget,
    )
    return Draft(subject, decision, old={"enabled": before["enabled"]}, new={"enabled": False})


def guard_revoke(
    context: PlanContext, address: str, declared: bool, record: ResourceState | None, verb: str
) -> None:
    """Refuse to `verb` (revoke, replace) a key under `lifecycle.prevent_revoke`: declared
    so now, or when it was last applied (the state remembers it)."""
    if declared:
        context.refuse(
            address,
            f"{address} has lifecycle.prevent_revoke, but this plan would {verb} it; "
            "keep it enabled and in its account, or remove prevent_revoke first",
        )
    elif record is not None and record.prevent_revoke:
        context.refuse(
            address,
            f"{address} was declared with lifecycle.prevent_revoke (the state "
            f"remembers it), but this plan would {verb} it. If manifests this run "
            "did not read declare it (another configuration sharing this state "
            "file), pass them too, or give this configuration a state of its own "
            "with --state FILE; else declare it again as it was. Only to stop "
            f"managing the key without a revoke: `infobip-iac state rm {address}`",
        )
