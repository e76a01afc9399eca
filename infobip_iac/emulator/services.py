"""What both of the emulator's APIs (Infobip's and the control API) work on: one store, one
clock, one authenticator, the scope catalog, the read budget and the saving of the store,
made once by the server and handed to each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from infobip_iac.emulator.auth import Authenticator
from infobip_iac.emulator.catalog import ScopeCatalog
from infobip_iac.emulator.clock import EmulatorClock
from infobip_iac.emulator.limits import ReadBudget
from infobip_iac.emulator.store import Store

__all__ = ["ServedApi", "Services"]


@dataclass(frozen=True)
class Services:
    store: Store
    clock: EmulatorClock
    auth: Authenticator
    catalog: ScopeCatalog
    reads: ReadBudget
    persist: Callable[[], None]  # writes the store to its data file, if it has one


class ServedApi:
    """The base of each API: the shared services as its attributes."""

    def __init__(self, services: Services) -> None:
        self._store = services.store
        self._clock = services.clock
        self._auth = services.auth
        self._catalog = services.catalog
        self._reads = services.reads
        self._persist = services.persist
