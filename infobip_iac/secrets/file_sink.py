"""The `file` sink: a secret written to a private file that nobody can redirect.

Protections, each because a manifest author (or someone who can write into the target
folder) could otherwise aim the secret somewhere it does not belong:
- placeholders are sanitized, so a key name cannot add folders or climb out with `..`;
- the file is written by `state.files.write_atomically`: created 0600 under a temporary
  name (`O_EXCL|O_NOFOLLOW`), fsynced and renamed into place, so it never exists with a
  wider mode and a planted link is never written through;
- a symlink at the final path is refused, even when the path is one this key owned;
- an existing file is only replaced when this key's sink wrote it before (`owned_files`);
- an existing file that this sink wrote for another key (its content is exactly what
  `file_contents` writes, naming that key's id; mode 0600, ours) is moved aside to
  `<stem>.replaced-<id><suffix>` and the move is said: re-adding an address removed earlier
  finds the revoked key's file there, and must not be refused for it, nor destroy it (its
  key may still be enabled if the state forgot it by hand). Any other file is refused.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Collection
from pathlib import Path

from infobip_iac.domain.keys import SecretSinkSpec, SinkKind
from infobip_iac.domain.secret import Secret
from infobip_iac.domain.sinkpath import PLACEHOLDERS, fill_sink_path
from infobip_iac.errors import SecretSinkError
from infobip_iac.logs import get_logger
from infobip_iac.secrets.gitcheck import warn_if_git_would_commit
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.protocol import Delivery
from infobip_iac.state.files import (
    TEMP_NAME_OVERHEAD,
    TempFileError,
    ensure_private_dir,
    is_temp_file_name,
    remove_abandoned,
    write_atomically,
)
from infobip_iac.state.model import SecretRecord

__all__ = [
    "PLACEHOLDERS",
    "FileSink",
    "check_folder",
    "check_folders_below_base",
    "check_target",
    "file_contents",
    "owned_name",
    "resolve_target",
    "write_secret_file",
]

_log = get_logger(__name__)
# Values safe to leave unquoted in a .env file read by shells, docker and dotenv libraries.
_DOTENV_BARE = re.compile(r"[A-Za-z0-9_./+=:@-]*")
# The longest file name Linux and macOS file systems take, in bytes.
_NAME_MAX = 255


def resolve_target(spec: SecretSinkSpec, meta: KeyMeta) -> Path:
    """The file a `file` sink writes: `path` with placeholders filled, relative to base_dir."""
    if not spec.path:
        raise SecretSinkError('a "file" sink needs a "path" (e.g. "secrets/{address}.env")')
    if "\0" in spec.path:
        # The manifest refuses it (E209), but a saved plan is read without the manifest,
        # and every file call would raise ValueError, which no sink error catches.
        raise SecretSinkError(
            "the secret path holds a NUL character (\\0), which no file path can hold"
        )
    values = {
        "address": meta.address,
        "id": meta.key_id,
        "name": meta.name,
        "account": meta.account,
    }
    try:
        rendered = fill_sink_path(spec.path, values)
    except KeyError as unknown:
        raise SecretSinkError(
            f'unknown placeholder "{{{unknown.args[0]}}}" in the secret path "{spec.path}"; '
            f"use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
        ) from None
    path = Path(rendered)
    if not rendered.strip() or rendered.endswith(("/", os.sep)) or path.name in {"", ".", ".."}:
        raise SecretSinkError(f'the secret path "{spec.path}" does not name a file')
    return path if path.is_absolute() else Path(spec.base_dir) / path


def _dotenv_value(value: str) -> str:
    if _DOTENV_BARE.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def file_contents(spec: SecretSinkSpec, secret: Secret, meta: KeyMeta) -> bytes:
    """The bytes of a secret file in the sink's format."""
    value = secret.reveal()
    if spec.format == "raw":
        text = value + "\n"
    elif spec.format == "json":
        body = {
            "id": meta.key_id,
            "name": meta.name,
            "account": meta.account,
            "apiKeySecret": value,
        }
        text = json.dumps(body, indent=2) + "\n"
    else:
        text = (
            f"INFOBIP_API_KEY={_dotenv_value(value)}\n"
            f"INFOBIP_API_KEY_ID={_dotenv_value(meta.key_id)}\n"
        )
    return text.encode()


def owned_name(path: Path | str) -> str:
    """How state records a file a sink wrote: its real absolute path, so that the claim
    does not depend on the folder apply runs from. A relative entry from an older state
    resolves against the working folder, as it was written."""
    return os.path.realpath(path)


def _same_file_name(path: Path, owned_files: Collection[str]) -> bool:
    # Both sides resolved the same way, so `./secrets/x.env` and an absolute spelling match;
    # the final component is never a link here (checked before), so resolving cannot be fooled.
    # realpath, unlike Path.resolve, does not raise on a link loop in an old entry.
    target = owned_name(path)
    return any(owned_name(owned) == target for owned in owned_files)


def _unusable(path: Path, error: OSError) -> SecretSinkError:
    reason = error.strerror or type(error).__name__
    if error.errno == errno.ENOTDIR:
        reason += " (a part of the path is a file, not a folder)"
    return SecretSinkError(f"cannot use {path} as a secret file: {reason}; choose another path")


def _check_name_length(target: Path) -> None:
    # The temp file's name is longer than the target's: a name that only just fits would
    # pass every check before the create and then fail to be written after it.
    allowed = _NAME_MAX - TEMP_NAME_OVERHEAD
    length = len(os.fsencode(target.name))
    if length > allowed:
        raise SecretSinkError(
            f"cannot use {target} as a secret file: its name is {length} bytes long, more "
            f"than the {allowed} a secret file's name may have; choose a shorter path"
        )


# A secret file is a few hundred bytes; a bigger file is certainly not one of ours.
_MAX_OWN_FILE_BYTES = 64 * 1024
_DOTENV_LINE = re.compile(r'(INFOBIP_API_KEY(?:_ID)?)=("(?:[^"\\]|\\.)*"|[^"\n]*)')
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_JSON_FIELDS = frozenset({"id", "name", "account", "apiKeySecret"})


def _key_id_of_own_file(target: Path, found: os.stat_result) -> str | None:
    """The key id named by a file this sink wrote (see the module docstring), or None when
    the file is anything else. A raw file names no key, so it is never recognised."""
    private = stat.S_IMODE(found.st_mode) == 0o600 and found.st_uid == os.getuid()
    if not private or found.st_size > _MAX_OWN_FILE_BYTES:
        return None
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            text = handle.read(_MAX_OWN_FILE_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    key_id = _dotenv_key_id(text) if text.startswith("INFOBIP_API_KEY=") else _json_key_id(text)
    return key_id if key_id is not None and _KEY_ID.fullmatch(key_id) else None


def _dotenv_key_id(text: str) -> str | None:
    lines = text.split("\n")
    if len(lines) != 3 or lines[2] != "":
        return None
    matched = [_DOTENV_LINE.fullmatch(line) for line in lines[:2]]
    if matched[0] is None or matched[1] is None:
        return None
    if (matched[0].group(1), matched[1].group(1)) != ("INFOBIP_API_KEY", "INFOBIP_API_KEY_ID"):
        return None
    return matched[1].group(2)


def _json_key_id(text: str) -> str | None:
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if not isinstance(body, dict) or set(body) != _JSON_FIELDS or not isinstance(body["id"], str):
        return None
    return body["id"]


def _aside_path(target: Path, key_id: str) -> Path:
    """Where the file of `key_id` goes when another key's secret takes its place: beside
    it, keeping its suffix (so a `.gitignore` pattern like `*.env` still covers it)."""
    return target.with_name(f"{target.stem}.replaced-{key_id}{target.suffix}")


def _check_existing(target: Path, owned_files: Collection[str]) -> str | None:
    """Refuse a target this key may not write; the id of another key whose own file is in
    the way (to be moved aside), or None when the target is free or this key's."""
    _check_name_length(target)
    try:
        found = os.lstat(target)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _unusable(target, error) from None
    if stat.S_ISLNK(found.st_mode):
        raise SecretSinkError(
            f"{target} is a symbolic link; a secret is never written through a link. "
            "Remove the link or choose another path"
        )
    if not stat.S_ISREG(found.st_mode):
        raise SecretSinkError(f"{target} exists and is not a regular file; choose another path")
    if _same_file_name(target, owned_files):
        return None
    key_id = _key_id_of_own_file(target, found)
    if key_id is None:
        raise SecretSinkError(
            f"{target} already exists and was not written by this key's secret sink; "
            "it is left untouched. Move it away or choose another path"
        )
    aside = _aside_path(target, key_id)
    if os.path.lexists(aside):
        raise SecretSinkError(
            f"{target} holds the secret of key {key_id}, written by infobip-iac, and "
            f"{aside} (where it would be moved) exists too; move one of them away"
        )
    return key_id


def check_folder(folder: Path) -> None:
    """Refuse a folder that exists as something else or cannot be looked at; a missing
    one is fine (the sink creates it)."""
    try:
        found = folder.stat()
    except FileNotFoundError:
        return
    except OSError as error:
        raise _unusable(folder, error) from None
    if not stat.S_ISDIR(found.st_mode):
        raise SecretSinkError(f"{folder} is not a folder; choose another path for secret files")


def check_folders_below_base(spec: SecretSinkSpec, target: Path) -> None:
    """Refuse a folder link between the manifest's folder and the file: whoever can write
    into `secrets/` could otherwise swap it for a link and have the secret written
    elsewhere. Folders above the manifest's folder, and the prefix of a path the user wrote
    absolute, are the user's own layout (often links, e.g. /var on some systems)."""
    if Path(spec.path or "").is_absolute():
        return
    base = Path(spec.base_dir)
    current = base
    for part in target.relative_to(base).parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise SecretSinkError(
                f"{current} is a symbolic link; a secret is never written through a link. "
                "Replace it with a real folder or choose another path"
            )


def check_target(spec: SecretSinkSpec, target: Path, owned_files: Collection[str]) -> str | None:
    """Every check the sink makes before it writes `target`, none of which writes. Returns
    the id of another key whose file written by this sink is in the way: the write moves
    it aside first."""
    check_folders_below_base(spec, target)
    return _check_existing(target, owned_files)


def _sweep_abandoned_temp_files(folder: Path) -> None:
    """Remove temp files of this sink that a run killed between write and rename left in
    `folder`: each holds a secret. Only names write_atomically gives its temp files are
    touched."""
    try:
        names = [entry.name for entry in os.scandir(folder)]
    except OSError:
        return
    remove_abandoned(folder / name for name in names if is_temp_file_name(name))


def _move_aside(target: Path, key_id: str) -> None:
    aside = _aside_path(target, key_id)
    try:
        # link + unlink rather than rename: link refuses to replace a file that appeared
        # at `aside` since the check.
        os.link(target, aside, follow_symlinks=False)
        target.unlink()
    except OSError as error:
        raise SecretSinkError(
            f"cannot move {target} (the secret file of key {key_id}) aside to {aside}: "
            f"{error.strerror}"
        ) from None
    _log.warning(
        f"{target} held the secret of key {key_id}, written by infobip-iac for a key no "
        f"longer at this address; moved it to {aside}. Delete it once that key is revoked.",
    )
    warn_if_git_would_commit(aside)


def write_secret_file(
    spec: SecretSinkSpec, secret: Secret, meta: KeyMeta, *, owned_files: Collection[str] = ()
) -> SecretRecord:
    target = resolve_target(spec, meta)
    folder = target.parent
    try:
        ensure_private_dir(folder)
    except OSError as error:
        raise SecretSinkError(f"cannot create the folder {folder}: {error.strerror}") from None
    previous_key = check_target(spec, target, owned_files)
    if previous_key is not None:
        _move_aside(target, previous_key)
    try:
        write_atomically(target, file_contents(spec, secret, meta))
    except TempFileError as error:
        raise SecretSinkError(f"cannot create a file in {folder}: {error.strerror}") from None
    except OSError as error:
        raise SecretSinkError(f"cannot write {target}: {error.strerror}") from None
    _sweep_abandoned_temp_files(folder)
    warn_if_git_would_commit(target)
    return SecretRecord(
        sink="file", status="delivered", location=str(target), files_written=[owned_name(target)]
    )


class FileSink:
    """The `file` sink as a SecretSink. A rotation's successor replaces the file its
    predecessor's secret was in (owned by this key), atomically, so a reader sees one
    whole secret or the other."""

    kind: SinkKind = "file"

    def location(self, spec: SecretSinkSpec, meta: KeyMeta) -> str | None:
        try:
            return str(resolve_target(spec, meta))
        except SecretSinkError:
            # A NUL (refused before the create) is shown as \0, never printed raw.
            return spec.path.replace("\0", "\\0") if spec.path else spec.path

    def refusal_before_create(
        self, spec: SecretSinkSpec, meta: KeyMeta, owned_files: Collection[str]
    ) -> str | None:
        """Every check the sink makes before writing: a link among the folders below the
        manifest's, a file in the way that is not this key's (or is a link), a path that
        cannot be looked at. A file this sink wrote for another key is no refusal: the
        write moves it aside (unless its place aside is taken, which is). A path naming the
        key's `{id}` is checked up to the first component holding it, since the rest is
        not known before the create."""
        if not spec.path:
            return None
        try:
            target = resolve_target(spec, meta)
            if "{id}" in spec.path:
                known = _folder_before_id(spec, target)
                check_folders_below_base(spec, known / "_")
                check_folder(known)
            else:
                check_target(spec, target, owned_files)
        except SecretSinkError as refusal:
            shown = spec.path.replace("\0", "\\0")  # a NUL is refused, not printed
            return f'{refusal} (secret.path "{shown}").'
        return None

    def files_to_claim(
        self, spec: SecretSinkSpec, meta: KeyMeta, owned_files: Collection[str]
    ) -> list[str]:
        files = list(owned_files)
        try:
            target = resolve_target(spec, meta)
        except SecretSinkError:
            return files
        claimed = owned_name(target)
        if claimed not in {owned_name(owned) for owned in files} and not os.path.lexists(target):
            files.append(claimed)
        return files

    def deliver(
        self, spec: SecretSinkSpec, secret: Secret, meta: KeyMeta, delivery: Delivery
    ) -> SecretRecord:
        # Looked up in this module at call time, so tests can wrap the write itself.
        return write_secret_file(spec, secret, meta, owned_files=delivery.owned_files)


def _folder_before_id(spec: SecretSinkSpec, target: Path) -> Path:
    """The folders of `target` before the first component of `spec.path` naming `{id}`.

    Placeholders fill in one sanitized component each, so the path as written and the
    filled-in target have the same components, in the same places from the end."""
    written = Path(spec.path or "").parts
    first = next(index for index, part in enumerate(written) if "{id}" in part)
    return Path(*target.parts[: len(target.parts) - len(written) + first])
