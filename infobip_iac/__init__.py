"""infobip-iac: infrastructure as code for Infobip API keys.

The public API is what `__all__` lists; everything else is private and may change.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infobip_iac.domain.keys import DesiredConfig, DesiredKey, KeyWrite, LiveKey
    from infobip_iac.domain.plan import Action, Plan, Reason, ResourceChange
    from infobip_iac.errors import (
        ConfigurationError,
        Diagnostic,
        InfobipApiError,
        InfobipIacError,
    )

__version__ = "0.1.0"

# Public name -> the module that defines it. Importing this package (which every command,
# `--help` included, does) loads none of them: the domain's models pull in pydantic, which
# a command may not need. A name is imported on first use (PEP 562).
_PUBLIC: dict[str, str] = {
    "Action": "infobip_iac.domain.plan",
    "ConfigurationError": "infobip_iac.errors",
    "DesiredConfig": "infobip_iac.domain.keys",
    "DesiredKey": "infobip_iac.domain.keys",
    "Diagnostic": "infobip_iac.errors",
    "InfobipApiError": "infobip_iac.errors",
    "InfobipIacError": "infobip_iac.errors",
    "KeyWrite": "infobip_iac.domain.keys",
    "LiveKey": "infobip_iac.domain.keys",
    "Plan": "infobip_iac.domain.plan",
    "Reason": "infobip_iac.domain.plan",
    "ResourceChange": "infobip_iac.domain.plan",
}

__all__ = [
    "Action",
    "ConfigurationError",
    "DesiredConfig",
    "DesiredKey",
    "Diagnostic",
    "InfobipApiError",
    "InfobipIacError",
    "KeyWrite",
    "LiveKey",
    "Plan",
    "Reason",
    "ResourceChange",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
