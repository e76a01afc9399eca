"""A stand-in for Infobip's account-management API over real HTTP on loopback.

It imports nothing from the client or the engine, so that a misunderstanding of the API
shared by both cannot hide behind green tests.
"""

from __future__ import annotations

from infobip_iac.emulator.control_client import ControlRequestError, EmulatorControl
from infobip_iac.emulator.model import EmulatorUser
from infobip_iac.emulator.server import DEFAULT_USER, EmulatorServer

__all__ = [
    "DEFAULT_USER",
    "ControlRequestError",
    "EmulatorControl",
    "EmulatorServer",
    "EmulatorUser",
]
