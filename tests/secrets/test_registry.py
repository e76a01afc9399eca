"""The sink registry: one SecretSink for each kind a manifest may name, and every one of
them answers the protocol's questions without writing anything."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from infobip_iac.domain.keys import SecretSinkSpec, SinkKind
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.registry import SINKS, sink_for


def test_every_sink_kind_has_exactly_its_own_sink() -> None:
    assert set(SINKS) == set(get_args(SinkKind))
    for kind in get_args(SinkKind):
        assert sink_for(kind).kind == kind


@pytest.mark.parametrize("kind", get_args(SinkKind))
def test_asking_a_sink_before_the_create_writes_nothing(
    kind: SinkKind, tmp_path: Path, meta: KeyMeta
) -> None:
    spec = SecretSinkSpec(
        sink=kind,
        path="secrets/{address}.env" if kind == "file" else None,
        command=("true",) if kind == "exec" else None,
        base_dir=str(tmp_path),
    )
    sink = sink_for(kind)

    assert sink.refusal_before_create(spec, meta, ()) is None
    claimed = sink.files_to_claim(spec, meta, ["owned-before"])
    location = sink.location(spec, meta)

    assert list(tmp_path.iterdir()) == []
    assert claimed[0] == "owned-before"
    assert len(claimed) == (2 if kind == "file" else 1)  # only a file sink claims a file
    if kind == "file":
        assert location == str(tmp_path / "secrets" / "api_keys.ci-sms.env")
