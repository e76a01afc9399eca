"""deliver: dispatch to the sinks, the stdout and none sinks, and errors that never leak."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.secret import Secret
from infobip_iac.errors import SecretSinkError
from infobip_iac.secrets import KeyMeta, deliver, lost_record, sink_location


def test_the_none_sink_records_not_requested_and_writes_nothing(
    tmp_path: Path, secret: Secret, meta: KeyMeta, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    stream = io.StringIO()

    record = deliver(SecretSinkSpec(), secret, meta, show_secrets=True, stdout=stream)

    assert (record.sink, record.status, record.files_written) == ("none", "not-requested", [])
    assert stream.getvalue() == ""
    assert list(tmp_path.iterdir()) == []


def test_the_stdout_sink_needs_show_secrets(
    secret: Secret, secret_value: str, meta: KeyMeta
) -> None:
    stream = io.StringIO()

    with pytest.raises(SecretSinkError, match="--show-secrets") as caught:
        deliver(SecretSinkSpec(sink="stdout"), secret, meta, show_secrets=False, stdout=stream)

    assert stream.getvalue() == ""
    assert secret_value not in str(caught.value)


def test_the_stdout_sink_prints_address_and_secret(
    secret: Secret, secret_value: str, meta: KeyMeta
) -> None:
    stream = io.StringIO()

    record = deliver(SecretSinkSpec(sink="stdout"), secret, meta, show_secrets=True, stdout=stream)

    assert stream.getvalue() == f"api_keys.ci-sms: {secret_value}\n"
    assert (record.sink, record.status, record.location) == ("stdout", "delivered", "stdout")


def test_an_empty_secret_is_not_delivered(tmp_path: Path, meta: KeyMeta) -> None:
    spec = SecretSinkSpec(sink="file", path="k.env", base_dir=str(tmp_path))

    with pytest.raises(SecretSinkError, match="empty secret"):
        deliver(spec, Secret(""), meta, show_secrets=False)

    assert list(tmp_path.iterdir()) == []


class _BrokenStream(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(5, f"I/O error while writing {text}")


def _failures(tmp_path: Path, python: str) -> dict[str, tuple[SecretSinkSpec, dict[str, object]]]:
    foreign = tmp_path / "taken.env"
    foreign.write_text("x")
    return {
        "file-foreign": (
            SecretSinkSpec(sink="file", path="taken.env", base_dir=str(tmp_path)),
            {},
        ),
        "file-bad-placeholder": (
            SecretSinkSpec(sink="file", path="{nope}", base_dir=str(tmp_path)),
            {},
        ),
        "exec-echo": (
            SecretSinkSpec(
                sink="exec",
                command=(
                    python,
                    "-c",
                    "import sys; s=sys.stdin.read(); print(s, file=sys.stderr); sys.exit(1)",
                ),
            ),
            {},
        ),
        "exec-missing": (SecretSinkSpec(sink="exec", command=("no-such-cmd-xyz",)), {}),
        "stdout-refused": (SecretSinkSpec(sink="stdout"), {}),
        "stdout-broken": (SecretSinkSpec(sink="stdout"), {"show_secrets": True}),
    }


@pytest.mark.parametrize(
    "case",
    [
        "file-foreign",
        "file-bad-placeholder",
        "exec-echo",
        "exec-missing",
        "stdout-refused",
        "stdout-broken",
    ],
)
def test_every_failure_says_why_once_and_never_carries_the_secret(
    tmp_path: Path, secret: Secret, secret_value: str, meta: KeyMeta, case: str
) -> None:
    spec, extra = _failures(tmp_path, sys.executable)[case]

    with pytest.raises(SecretSinkError) as caught:
        deliver(
            spec,
            secret,
            meta,
            show_secrets=bool(extra.get("show_secrets", False)),
            stdout=_BrokenStream(),
        )

    error = caught.value
    # The reason only, as a clause: the caller's line already names the key and says the
    # secret was not delivered ("SECRET NOT DELIVERED: the secret of ... was not delivered"
    # said it twice), and adds its own full stop.
    assert str(error) and "not delivered" not in str(error)
    assert not str(error).rstrip().endswith(".")
    assert secret_value not in str(error)
    assert secret_value not in repr(error.args)
    # Nothing chained: a chained exception's text would show up in a traceback.
    assert error.__cause__ is None
    assert error.__context__ is None


def test_lost_record_keeps_where_the_secret_should_have_gone_and_why(
    tmp_path: Path, meta: KeyMeta
) -> None:
    spec = SecretSinkSpec(sink="file", path="secrets/{address}.env", base_dir=str(tmp_path))
    error = SecretSinkError("disk full")

    record = lost_record(spec, meta, error, owned_files=["old.env"])

    assert record.status == "lost"
    assert record.sink == "file"
    assert record.location == str(tmp_path / "secrets" / "api_keys.ci-sms.env")
    assert record.detail == "disk full"
    assert record.files_written == ["old.env"]


def test_sink_location_for_each_sink(tmp_path: Path, meta: KeyMeta) -> None:
    assert sink_location(SecretSinkSpec(sink="file", path="{id}.env"), meta) == (
        "573711510E1C002E29679B12C7CB48AE.env"
    )
    assert sink_location(SecretSinkSpec(sink="file", path="{bad}.env"), meta) == "{bad}.env"
    assert sink_location(SecretSinkSpec(sink="exec", command=("vault", "kv")), meta) == "vault"
    assert sink_location(SecretSinkSpec(sink="stdout"), meta) == "stdout"
    assert sink_location(SecretSinkSpec(), meta) is None
