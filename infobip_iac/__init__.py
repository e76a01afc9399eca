"""infobip-iac: infrastructure as code for Infobip API keys.

The public API is what `__all__` lists; everything else is private and may change.
"""

from __future__ import annotations

from infobip_iac.domain.keys import DesiredConfig, DesiredKey, KeyWrite, LiveKey
from infobip_iac.domain.plan import Action, Plan, Reason, ResourceChange
from infobip_iac.errors import ConfigurationError, Diagnostic, InfobipApiError, InfobipIacError

__version__ = "0.1.0"

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
