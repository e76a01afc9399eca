"""What a sink may know about the key whose secret it receives (never the secret)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KeyMeta"]


@dataclass(frozen=True)
class KeyMeta:
    """The new key: its address in the configuration, Infobip id, name and account, and,
    when it succeeds a key in a rotation, the predecessor's id (still enabled for the
    overlap, so whoever reads the secret has time to switch)."""

    address: str
    key_id: str
    name: str
    account: str
    predecessor_id: str | None = None
