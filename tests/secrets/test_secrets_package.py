"""The public names of infobip_iac.secrets, pinned: apply builds on exactly these."""

from __future__ import annotations

import inspect

import infobip_iac.secrets
from infobip_iac.secrets import deliver


def test_the_public_api_is_pinned() -> None:
    assert sorted(infobip_iac.secrets.__all__) == [
        "KeyMeta",
        "deliver",
        "lost_record",
        "sink_location",
    ]


def test_deliver_takes_its_options_by_keyword_only() -> None:
    parameters = inspect.signature(deliver).parameters

    assert list(parameters)[:3] == ["spec", "secret", "meta"]
    keyword_only = [p.name for p in parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert keyword_only == ["show_secrets", "owned_files", "stdout", "timeout"]
