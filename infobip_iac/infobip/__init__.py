"""The HTTP client of Infobip's account-management API: the one place that talks to Infobip.

The public names are those of `__all__`. They load on first use: the engine imports the
`api` protocol alone, and a command that never reaches Infobip should not pay for httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infobip_iac.infobip.api import (
        AccountKeys,
        CreatedKey,
        KeyService,
        ProgressCallback,
        list_accounts_concurrently,
    )
    from infobip_iac.infobip.client import InfobipClient
    from infobip_iac.infobip.connection import open_key_service
    from infobip_iac.infobip.pacing import ReadBudget
    from infobip_iac.infobip.settings import ConnectionSettings, settings_from_env

__all__ = [
    "AccountKeys",
    "ConnectionSettings",
    "CreatedKey",
    "InfobipClient",
    "KeyService",
    "ProgressCallback",
    "ReadBudget",
    "list_accounts_concurrently",
    "open_key_service",
    "settings_from_env",
]

_HOMES = {
    "AccountKeys": "api",
    "CreatedKey": "api",
    "KeyService": "api",
    "ProgressCallback": "api",
    "list_accounts_concurrently": "api",
    "InfobipClient": "client",
    "open_key_service": "connection",
    "ReadBudget": "pacing",
    "ConnectionSettings": "settings",
    "settings_from_env": "settings",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
