"""The file sink: private files, paths against the manifest's folder, no link followed,
no foreign file overwritten. Each protection has a test that fails without it."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.secret import Secret
from infobip_iac.errors import SecretSinkError
from infobip_iac.logs import configure_logging
from infobip_iac.secrets import file_sink
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.sinks import deliver, files_to_claim, refusal_before_create


def spec_for(base: Path, path: str = "secrets/{address}.env", **fields: str) -> SecretSinkSpec:
    return SecretSinkSpec(sink="file", path=path, base_dir=str(base), **fields)  # type: ignore[arg-type]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def send(spec: SecretSinkSpec, secret: Secret, meta: KeyMeta, owned: tuple[str, ...] = ()) -> str:
    record = deliver(spec, secret, meta, show_secrets=False, owned_files=owned)
    assert record.status == "delivered"
    assert record.location is not None
    # Ownership is recorded as the file's real path, whatever folder apply runs from.
    assert record.files_written == [os.path.realpath(record.location)]
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


@pytest.mark.parametrize("file_format", ["dotenv", "json"])
def test_a_file_this_sink_wrote_for_another_key_is_moved_aside_not_refused(
    tmp_path: Path,
    secret: Secret,
    secret_value: str,
    meta: KeyMeta,
    capsys: pytest.CaptureFixture[str],
    file_format: str,
) -> None:
    """Re-adding an address removed earlier: the revoked key's file is in the way."""
    configure_logging("warning")
    spec = spec_for(tmp_path, "secrets/{address}.conf", format=file_format)
    old_meta = KeyMeta(address=meta.address, key_id="0F" * 16, name=meta.name, account="_")
    old = Path(send(spec, Secret("old-secret"), old_meta))  # its state entry is gone since
    old_text = old.read_text()
    assert refusal_before_create(spec, meta, []) is None  # no refusal before the create

    written = Path(send(spec, secret, meta))

    assert written == old
    assert secret_value in written.read_text()
    aside = old.with_name(f"api_keys.ci-sms.replaced-{'0F' * 16}.conf")
    assert aside.read_text() == old_text and mode_of(aside) == 0o600
    assert f"moved it to {aside}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "mode"),
    [
        ("INFOBIP_API_KEY=s\nINFOBIP_API_KEY_ID=ABC\n", 0o644),  # not private: not ours
        ("INFOBIP_API_KEY=s\nINFOBIP_API_KEY_ID=ABC\nOTHER=1\n", 0o600),  # more than ours
        ("INFOBIP_API_KEY_ID=ABC\nINFOBIP_API_KEY=s\n", 0o600),  # not in our order
        ('{"id": "ABC", "apiKeySecret": "s"}', 0o600),  # not all our fields
        ("just-a-secret\n", 0o600),  # raw names no key: never recognised
    ],
)
def test_a_file_not_exactly_as_this_sink_writes_is_still_refused(
    tmp_path: Path, secret: Secret, meta: KeyMeta, content: str, mode: int
) -> None:
    foreign = tmp_path / "secrets" / "api_keys.ci-sms.env"
    foreign.parent.mkdir()
    foreign.write_text(content)
    foreign.chmod(mode)

    assert refusal_before_create(spec_for(tmp_path), meta, []) is not None
    with pytest.raises(SecretSinkError, match="was not written by this key's secret sink"):
        deliver(spec_for(tmp_path), secret, meta, show_secrets=False)

    assert foreign.read_text() == content
    assert sorted(p.name for p in foreign.parent.iterdir()) == ["api_keys.ci-sms.env"]


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


def _unusable_paths(tmp_path: Path) -> dict[str, str]:
    """Sink paths that cannot be looked at: through a regular file, through a link that
    points at itself, and a file name longer than any file system takes."""
    (tmp_path / "afile").write_text("not a folder\n")
    (tmp_path / "loop").symlink_to("loop")
    return {
        "through-a-file": "afile/{address}.env",
        "link-loop": "loop/{address}.env",
        "name-too-long": "secrets/" + "n" * 300 + ".env",
    }


@pytest.mark.parametrize("case", ["through-a-file", "link-loop", "name-too-long"])
def test_a_path_that_cannot_be_checked_is_refused_before_the_create(
    tmp_path: Path, meta: KeyMeta, case: str
) -> None:
    """It used to raise OSError out of the guard rail: apply crashed with exit 70."""
    path = _unusable_paths(tmp_path)[case]
    before = sorted(tmp_path.iterdir())

    refusal = refusal_before_create(spec_for(tmp_path, path), meta, [])

    assert refusal is not None
    assert f'(secret.path "{path}").' in refusal
    assert str(tmp_path / path.partition("/")[0]) in refusal
    assert not refusal.endswith("..")
    assert sorted(tmp_path.iterdir()) == before


def test_a_path_with_the_id_is_checked_up_to_the_id(tmp_path: Path, meta: KeyMeta) -> None:
    """The file's name waits for the key's id, but the folders before it are known."""
    (tmp_path / "afile").write_text("not a folder\n")

    refusal = refusal_before_create(spec_for(tmp_path, "afile/{id}.env"), meta, [])
    fine = refusal_before_create(spec_for(tmp_path, "keys/{id}/secret.env"), meta, [])

    assert refusal is not None and str(tmp_path / "afile") in refusal
    assert fine is None


def test_a_delivery_that_fails_on_the_path_names_the_path(
    tmp_path: Path, secret: Secret, secret_value: str, meta: KeyMeta
) -> None:
    (tmp_path / "afile").write_text("not a folder\n")

    with pytest.raises(SecretSinkError) as caught:
        deliver(spec_for(tmp_path, "afile/{id}.env"), secret, meta, show_secrets=False)

    message = str(caught.value)
    assert str(tmp_path / "afile") in message and "Not a directory" in message
    assert secret_value not in message


def test_a_symlinked_folder_is_refused_before_the_create(tmp_path: Path, meta: KeyMeta) -> None:
    """As a link at the file itself already was: otherwise the key is created, its secret
    cannot be delivered, and the next plan replaces it, and the one after."""
    (tmp_path / "real").mkdir()
    (tmp_path / "linkdir").symlink_to(tmp_path / "real")

    refusal = refusal_before_create(spec_for(tmp_path, "linkdir/{address}.env"), meta, [])
    by_id = refusal_before_create(spec_for(tmp_path, "linkdir/{id}.env"), meta, [])

    assert refusal is not None and "linkdir is a symbolic link" in refusal
    assert refusal.endswith('or choose another path (secret.path "linkdir/{address}.env").')
    assert by_id is not None and "symbolic link" in by_id


def test_ownership_does_not_depend_on_the_working_folder(
    tmp_path: Path, secret: Secret, meta: KeyMeta, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest's folder spelled from two working folders, as `apply proj` from above
    and `apply .` from inside spell it: the file written from one is this key's from the
    other."""
    project = tmp_path / "proj"
    project.mkdir()
    monkeypatch.chdir(tmp_path)
    first = deliver(spec_for(Path("proj")), Secret("old-secret"), meta, show_secrets=False)
    monkeypatch.chdir(project)
    spec = spec_for(Path("."))

    assert refusal_before_create(spec, meta, first.files_written) is None
    send(spec, secret, meta, owned=tuple(first.files_written))


def test_a_claim_recorded_before_delivery_does_not_depend_on_the_working_folder(
    tmp_path: Path, meta: KeyMeta, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    (claimed,) = files_to_claim(spec_for(Path(".")), meta, [])

    assert claimed == os.path.realpath(tmp_path / "secrets" / "api_keys.ci-sms.env")


def test_abandoned_temp_files_of_the_sink_are_swept_when_it_next_writes(
    tmp_path: Path, secret: Secret, meta: KeyMeta
) -> None:
    """A run killed between writing the temp file and renaming it leaves a secret behind."""
    folder = tmp_path / "secrets"
    folder.mkdir()
    old = time.time() - 24 * 3600
    abandoned = folder / ".api_keys.other.env.0123456789abcdef.tmp"
    fresh = folder / ".api_keys.busy.env.fedcba9876543210.tmp"  # a writer still at work
    not_ours = [folder / ".notes.tmp", folder / "data.0123456789abcdef.tmp"]
    for path in (abandoned, fresh, *not_ours):
        path.write_text("x")
    for path in (abandoned, *not_ours):
        os.utime(path, (old, old))

    send(spec_for(tmp_path), secret, meta)

    assert not abandoned.exists()
    assert fresh.exists() and all(path.exists() for path in not_ours)


def test_a_name_is_refused_before_the_create_when_its_temp_file_would_not_fit(
    tmp_path: Path, secret: Secret, meta: KeyMeta
) -> None:
    """The temp file's name is the target's plus 22 bytes, and file systems take 255: a
    233-byte name is written, a 234-byte one refused before Infobip makes a key."""
    fits = "f" * 229 + ".env"
    too_long = "t" * 230 + ".env"

    written = Path(send(spec_for(tmp_path, f"secrets/{fits}"), secret, meta))
    refusal = refusal_before_create(spec_for(tmp_path, f"secrets/{too_long}"), meta, [])

    assert written.name == fits and written.is_file()
    assert refusal is not None and "234 bytes long, more than the 233" in refusal


def test_a_folder_that_takes_no_new_file_is_named(
    tmp_path: Path,
    secret: Secret,
    secret_value: str,
    meta: KeyMeta,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_open = os.open

    def refusing_open(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if str(path).endswith(".tmp"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)

    with pytest.raises(SecretSinkError) as caught:
        deliver(spec_for(tmp_path), secret, meta, show_secrets=False)

    assert str(caught.value) == (
        f"cannot create a file in {tmp_path / 'secrets'}: Permission denied"
    )
    assert list((tmp_path / "secrets").iterdir()) == []
    assert secret_value not in str(caught.value)
