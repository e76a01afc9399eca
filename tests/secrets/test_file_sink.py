"""The file sink: private files, paths against the manifest's folder, no link followed,
no foreign file overwritten. Each protection has a test that fails without it."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.secret import Secret
from infobip_iac.errors import SecretSinkError
from infobip_iac.secrets import file_sink
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.sinks import deliver


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask, so that only the code's own modes can keep files private."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def spec_for(base: Path, path: str = "secrets/{address}.env", **fields: str) -> SecretSinkSpec:
    return SecretSinkSpec(sink="file", path=path, base_dir=str(base), **fields)  # type: ignore[arg-type]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def send(spec: SecretSinkSpec, secret: Secret, meta: KeyMeta, owned: tuple[str, ...] = ()) -> str:
    record = deliver(spec, secret, meta, show_secrets=False, owned_files=owned)
    assert record.status == "delivered"
    assert record.files_written == [record.location]
    assert record.location is not None
    return record.location


def test_dotenv_file_holds_key_and_id_with_mode_0600(
    tmp_path: Path, secret: Secret, secret_value: str, meta: KeyMeta, open_umask: None
) -> None:
    written = Path(send(spec_for(tmp_path), secret, meta))

    assert written == tmp_path / "secrets" / "api_keys.ci-sms.env"
    assert written.read_text() == (
        f"INFOBIP_API_KEY={secret_value}\nINFOBIP_API_KEY_ID={meta.key_id}\n"
    )
    assert mode_of(written) == 0o600
    assert mode_of(written.parent) == 0o700


def test_raw_and_json_formats(
    tmp_path: Path, secret: Secret, secret_value: str, meta: KeyMeta
) -> None:
    raw = Path(send(spec_for(tmp_path, "raw/{id}", format="raw"), secret, meta))
    as_json = Path(send(spec_for(tmp_path, "{name}.json", format="json"), secret, meta))

    assert raw.read_text() == secret_value + "\n"
    assert json.loads(as_json.read_text()) == {
        "id": meta.key_id,
        "name": meta.name,
        "account": meta.account,
        "apiKeySecret": secret_value,
    }
    assert as_json.name == "CI_SMS_sender.json"


def test_a_dotenv_value_that_needs_quoting_is_quoted(tmp_path: Path, meta: KeyMeta) -> None:
    written = Path(send(spec_for(tmp_path), Secret('a b"c'), meta))

    assert written.read_text().splitlines()[0] == 'INFOBIP_API_KEY="a b\\"c"'


def test_a_relative_path_resolves_against_the_manifest_folder_not_the_working_folder(
    tmp_path: Path, secret: Secret, meta: KeyMeta, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests, elsewhere = tmp_path / "team" / "manifests", tmp_path / "cwd"
    manifests.mkdir(parents=True)
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    written = Path(send(spec_for(manifests, "out/{address}.env"), secret, meta))

    assert written.resolve() == (manifests / "out" / "api_keys.ci-sms.env").resolve()
    assert list(elsewhere.iterdir()) == []


def test_an_absolute_path_is_used_as_given(tmp_path: Path, secret: Secret, meta: KeyMeta) -> None:
    target = tmp_path / "abs" / "key.env"

    written = send(spec_for(tmp_path / "unused", str(target)), secret, meta)

    assert Path(written) == target
    assert target.is_file()


def test_placeholders_cannot_add_folders_or_climb_out(tmp_path: Path, secret: Secret) -> None:
    base = tmp_path / "base"
    sly = KeyMeta(address="api_keys.x", key_id="../..", name="../../etc/cron.d/x y", account="/")

    written = Path(send(spec_for(base, "{name}-{id}-{account}"), secret, sly))

    assert written.parent == base
    assert written.name == ".._.._etc_cron.d_x_y-.._..-_"


def test_an_unknown_placeholder_is_an_error_naming_the_known_ones(
    tmp_path: Path, secret: Secret, meta: KeyMeta
) -> None:
    with pytest.raises(SecretSinkError, match=r'unknown placeholder "\{key\}".*\{address\}'):
        deliver(spec_for(tmp_path, "{key}.env"), secret, meta, show_secrets=False)


@pytest.mark.parametrize("path", ["", "secrets/", "secrets/.."])
def test_a_path_that_names_no_file_is_an_error(
    tmp_path: Path, secret: Secret, meta: KeyMeta, path: str
) -> None:
    with pytest.raises(SecretSinkError):
        deliver(spec_for(tmp_path, path), secret, meta, show_secrets=False)


def test_the_file_is_private_before_the_secret_is_written_into_it(
    tmp_path: Path,
    secret: Secret,
    meta: KeyMeta,
    monkeypatch: pytest.MonkeyPatch,
    open_umask: None,
) -> None:
    modes_at_write: list[int] = []
    real_write = os.write

    def watching_write(fd: int, data: bytes | memoryview) -> int:
        modes_at_write.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(file_sink.os, "write", watching_write)
    send(spec_for(tmp_path), secret, meta)

    assert modes_at_write and set(modes_at_write) == {0o600}


def test_a_symlink_as_the_final_component_is_refused_even_when_owned(
    tmp_path: Path, secret: Secret, secret_value: str, meta: KeyMeta
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    spec = spec_for(tmp_path, "secrets/key.env")
    link = tmp_path / "secrets" / "key.env"
    link.parent.mkdir()
    link.symlink_to(victim)

    with pytest.raises(SecretSinkError, match="symbolic link") as caught:
        deliver(spec, secret, meta, show_secrets=False, owned_files=[str(link)])

    assert victim.read_text() == "precious\n"
    assert link.is_symlink()
    assert secret_value not in str(caught.value)


def test_a_symlinked_folder_below_the_manifest_folder_is_refused(
    tmp_path: Path, secret: Secret, secret_value: str, meta: KeyMeta
) -> None:
    """Whoever can write beside the manifests could swap `secrets/` for a link and have
    the secret written elsewhere: a link inside a relative sink path is refused."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "secrets").symlink_to(elsewhere)

    with pytest.raises(SecretSinkError, match="symbolic link") as caught:
        send(spec_for(tmp_path, "secrets/key.env"), secret, meta)

    assert list(elsewhere.iterdir()) == []
    assert secret_value not in str(caught.value)


def test_an_absolute_path_through_a_linked_folder_is_the_users_own_layout(
    tmp_path: Path, secret: Secret, meta: KeyMeta
) -> None:
    real = tmp_path / "vault-mount"
    real.mkdir()
    (tmp_path / "secrets").symlink_to(real)

    send(spec_for(tmp_path, str(tmp_path / "secrets" / "key.env")), secret, meta)

    assert (real / "key.env").is_file()


def test_an_existing_file_not_written_by_this_key_is_left_untouched(
    tmp_path: Path, secret: Secret, meta: KeyMeta
) -> None:
    foreign = tmp_path / "secrets" / "api_keys.ci-sms.env"
    foreign.parent.mkdir()
    foreign.write_text("SOMEONE_ELSES=1\n")

    with pytest.raises(SecretSinkError, match="was not written by this key's secret sink"):
        deliver(spec_for(tmp_path), secret, meta, show_secrets=False)

    assert foreign.read_text() == "SOMEONE_ELSES=1\n"


def test_a_file_this_key_wrote_before_is_replaced(
    tmp_path: Path,
    secret: Secret,
    secret_value: str,
    meta: KeyMeta,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    first = send(spec_for(Path(".")), Secret("old-secret"), meta)

    # The same file, spelled as an absolute path this time.
    second = send(spec_for(tmp_path), secret, meta, owned=(first,))

    assert Path(second).read_text().startswith(f"INFOBIP_API_KEY={secret_value}\n")


def test_an_existing_folder_at_the_path_is_refused(
    tmp_path: Path, secret: Secret, meta: KeyMeta
) -> None:
    (tmp_path / "secrets" / "api_keys.ci-sms.env").mkdir(parents=True)

    with pytest.raises(SecretSinkError, match="not a regular file"):
        deliver(spec_for(tmp_path), secret, meta, show_secrets=False, owned_files=["x"])


def test_a_failed_write_leaves_neither_the_file_nor_a_temp_file(
    tmp_path: Path,
    secret: Secret,
    secret_value: str,
    meta: KeyMeta,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(file_sink.os, "fsync", full_disk)

    with pytest.raises(SecretSinkError, match="No space left on device") as caught:
        deliver(spec_for(tmp_path), secret, meta, show_secrets=False)

    assert list((tmp_path / "secrets").iterdir()) == []
    assert secret_value not in str(caught.value)
