"""The public names of infobip_iac.state, pinned: others build on exactly these."""

from __future__ import annotations

import infobip_iac.state


def test_the_public_api_is_pinned() -> None:
    assert sorted(infobip_iac.state.__all__) == [
        "Backend",
        "Lock",
        "LockInfo",
        "ResourceState",
        "STATE_VERSION",
        "SecretRecord",
        "StateDocument",
        "StateLock",
        "StateStore",
        "Store",
        "VersionInfo",
        "locked",
        "open_backend",
    ]
    for name in infobip_iac.state.__all__:
        assert getattr(infobip_iac.state, name) is not None
