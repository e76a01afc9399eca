"""The state file: format, atomic writes, backups and the lock."""

from __future__ import annotations

from infobip_iac.state.lock import LockInfo, StateLock, locked
from infobip_iac.state.model import STATE_VERSION, ResourceState, SecretRecord, StateDocument
from infobip_iac.state.store import StateStore

__all__ = [
    "STATE_VERSION",
    "LockInfo",
    "ResourceState",
    "SecretRecord",
    "StateDocument",
    "StateLock",
    "StateStore",
    "locked",
]
