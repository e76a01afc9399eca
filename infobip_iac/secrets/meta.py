"""What a sink may know about the key whose secret it receives (never the secret)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KeyMeta"]


@dataclass(frozen=True)
class KeyMeta:
    """The new key: its address in the configuration, Infobip id, name and account."""

    address: str
    key_id: str
    name: str
    account: str
