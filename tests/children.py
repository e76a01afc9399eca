"""The environment of a child `infobip-iac` process that reaches a test's emulator.

Only what an interpreter needs is passed on (so a developer's own INFOBIP_* settings never
reach a test), plus the emulator's address and its default user.
"""

from __future__ import annotations

import os

KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")


def child_environment(base_url: str, **extra: str) -> dict[str, str]:
    kept = {name: os.environ[name] for name in KEPT if name in os.environ}
    return {
        **kept,
        "NO_COLOR": "1",
        "INFOBIP_BASE_URL": base_url,
        "INFOBIP_USERNAME": "admin",
        "INFOBIP_PASSWORD": "admin",
        **extra,
    }
