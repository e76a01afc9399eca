"""The public names of `infobip_iac.infobip` are pinned: changing them is a decision."""

from __future__ import annotations

import subprocess
import sys

import infobip_iac.infobip as package


def test_public_names() -> None:
    assert package.__all__ == [
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
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_the_protocol_alone_does_not_load_httpx() -> None:
    code = "import sys, infobip_iac.infobip.api; print('httpx' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"
