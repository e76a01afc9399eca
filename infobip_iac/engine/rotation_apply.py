"""What apply records for a rotation: when the predecessor is to be revoked.

The successor is created and its secret delivered as any create (engine.creates, through
the create journal and the sink registry); the predecessor then waits in state at its
deposed address with `revoke_after`, counted from Infobip's clock at the successor's
creation, so that a plan applied later still gives users of the key the whole overlap.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from infobip_iac.domain.normalize import parse_duration
from infobip_iac.domain.plan import ResourceChange

__all__ = ["predecessor_revoke_after"]


def predecessor_revoke_after(
    change: ResourceChange, server_time: Callable[[], datetime]
) -> datetime | None:
    """When the predecessor a rotation leaves is to be revoked; None for any other change
    (a plain replace revokes its old key at once)."""
    if change.rotation is None:
        return None
    return server_time() + parse_duration(change.rotation.overlap)
