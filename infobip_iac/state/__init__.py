"""The state: its format, and the backends that keep it (a local file, or PostgreSQL),
behind one seam (`state.backend`): commands open a backend from the `--state` value and
never learn which one they have."""

from __future__ import annotations

from infobip_iac.state.backend import Backend, Lock, Store, VersionInfo, locked, open_backend
from infobip_iac.state.lock import LockInfo, StateLock
from infobip_iac.state.model import STATE_VERSION, ResourceState, SecretRecord, StateDocument
from infobip_iac.state.store import StateStore

__all__ = [
    "STATE_VERSION",
    "Backend",
    "Lock",
    "LockInfo",
    "ResourceState",
    "SecretRecord",
    "StateDocument",
    "StateLock",
    "StateStore",
    "Store",
    "VersionInfo",
    "locked",
    "open_backend",
]
