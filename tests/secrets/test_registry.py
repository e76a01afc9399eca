"""The sink registry: one SecretSink for each kind a manifest may name, and every one of
them answers the protocol's questions without writing anything."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import get_args

import pytest

from infobip_iac.domain.keys import SecretSinkSpec, SinkKind
from infobip_iac.domain.secret import Secret
from infobip_iac.errors import SecretSinkError
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.registry import SINKS, sink_for
from infobip_iac.secrets.sinks import deliver


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


@pytest.mark.parametrize(
    "spec",
    [
        SecretSinkSpec(sink="file", path="secrets/a\0b.env"),
        SecretSinkSpec(sink="file", path="secrets/{address}\0.env"),
        SecretSinkSpec(sink="exec", command=("true", "a\0b")),
        SecretSinkSpec(sink="exec", command=("tr\0ue",)),
    ],
    ids=["file", "file-placeholder", "exec-argument", "exec-program"],
)
def test_a_nul_that_reached_a_sink_is_its_refusal_before_the_create_never_a_crash(
    spec: SecretSinkSpec, tmp_path: Path, meta: KeyMeta
) -> None:
    # The manifest refuses a NUL (E209); a spec from anywhere else (a saved plan) still
    # meets the sink's own check, which plan warnings and apply refusals both ask.
    spec = replace(spec, base_dir=str(tmp_path))
    sink = sink_for(spec.sink)

    refusal = sink.refusal_before_create(spec, meta, ())
    assert refusal is not None and "NUL character" in refusal, refusal
    assert "\0" not in refusal  # said as \0, never printed raw
    assert sink.files_to_claim(spec, meta, ["owned-before"]) == ["owned-before"]
    assert "\0" not in (sink.location(spec, meta) or "")  # shown in plans and records
    with pytest.raises(SecretSinkError, match="NUL character"):
        deliver(spec, Secret("s3cr3t-value"), meta, show_secrets=False)
    assert list(tmp_path.iterdir()) == []
