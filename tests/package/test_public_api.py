"""The package's public API is what `infobip_iac.__all__` lists: pinned, so that a change to
it is a decision, not an accident."""

from __future__ import annotations

import subprocess
import sys

import infobip_iac

PUBLIC = [
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


def test_public_names_are_pinned_and_importable() -> None:
    assert sorted(infobip_iac.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(infobip_iac, name) is not None


def test_version_matches_the_command_line() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "infobip_iac", "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert shown.stdout.strip() == f"infobip-iac, version {infobip_iac.__version__}"
