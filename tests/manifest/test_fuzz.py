"""Fuzzing: no manifest text or structure makes loading raise, hang, or crash.

Three generators, each bounded in examples and time: arbitrary text (with YAML's own
punctuation over-represented), mutations of the real examples, and YAML documents built
from the manifest's own vocabulary so that the deeper stages (resolution, rules, policy,
lint) are reached, not only the parser.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infobip_iac.errors import Diagnostic
from infobip_iac.manifest import LoadResult, load_configuration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_TEXTS = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.rglob("*.yaml"))]
NOW = datetime(2026, 6, 1, tzinfo=UTC)

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FIELDS = [
    "version", "account", "defaults", "scope_sets", "policy", "api_keys", "moved", "imports",
    "name", "scopes", "roles", "allowed_ips", "valid_from", "valid_to", "valid_for",
    "enabled", "permissions", "platform", "secret", "lifecycle", "sink", "path", "command",
    "format", "prevent_revoke", "ignore_changes", "application_id", "entity_id", "action",
    "max_validity", "require_allowed_ips", "forbid_any_ip", "forbidden_scopes",
    "unmanaged_keys", "max_revokes", "unknown_scopes", "from", "to", "id", "ci-sms", "Bad Id",
]  # fmt: skip
ATOMS = [
    1, 2, 0, -1, 10**30, 1.5, True, False, None, "", "_", "x",
    "sms:message:send", "sms:manage", "message:send", "web:sdk", "account-management:manage",
    "Analyze Manager", "Account Manager", "PUBLIC_API", "WEB_SDK", "2FA_CLIENT",
    "198.51.100.7", "10.0.0.1/8", "0.0.0.0/0", "::/0", "2001:db8::/48", "not-an-ip",
    "90d", "0d", "9999999y", "1y", "2027-01-01", "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-12:00", "2026-13-01", "api_keys.ci-sms", "api_keys.other",
    "573711510E1C002E29679B12C7CB48AE", "file", "exec", "stdout", "none", "secrets/{address}",
    "secrets/{", "warn", "revoke", "FORCE", "valid_to",
]  # fmt: skip


@pytest.fixture(scope="module")
def manifest_file() -> Iterator[Path]:
    # One file rewritten by every example: hypothesis runs many examples per test function.
    with tempfile.TemporaryDirectory(prefix="manifest-fuzz-") as folder:
        yield Path(folder) / "fuzz.yaml"


def _load(path: Path, content: str | bytes) -> LoadResult:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    result = load_configuration([path], now=NOW)
    _check(result)
    return result


def _check(result: LoadResult) -> None:
    assert all(isinstance(d, Diagnostic) for d in result.diagnostics)
    assert (result.config is None) == any(d.severity == "error" for d in result.diagnostics)
    for found in result.diagnostics:
        assert found.code[:1] in "EW" and found.message
        assert found.line >= 0 and found.column >= 0
        assert "Traceback" not in found.message


yamlish = st.lists(
    st.one_of(
        st.sampled_from([*":-[]{},&*!|>'\"#%@`?~\n\t ", "<<", "---", "...", "\r\n"]),
        st.sampled_from(FIELDS + [str(a) for a in ATOMS]),
        st.characters(codec="utf-8"),
    ),
    max_size=120,
).map("".join)


@FUZZ
@given(text=yamlish)
def test_any_text_loads_to_diagnostics(manifest_file: Path, text: str) -> None:
    _load(manifest_file, text)


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_bytes_load_to_diagnostics(manifest_file: Path, data: bytes) -> None:
    _load(manifest_file, data)


@st.composite
def mutated_examples(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLE_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start, min(len(text), start + 40)))
        action = draw(st.sampled_from(["delete", "insert", "duplicate", "replace"]))
        if action == "delete":
            text = text[:start] + text[end:]
        elif action == "insert":
            text = text[:start] + draw(yamlish)[:20] + text[start:]
        elif action == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        else:
            word = draw(st.sampled_from([str(a) for a in ATOMS] + FIELDS))
            text = text[:start] + word + text[end:]
    return text


@FUZZ
@given(text=mutated_examples())
def test_mutated_examples_load_to_diagnostics(manifest_file: Path, text: str) -> None:
    _load(manifest_file, text)


# Built once: hypothesis validates a strategy when it is first used, and recursive ones are
# costly to validate again for every example.
VALUES = st.recursive(
    st.sampled_from(ATOMS),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(FIELDS), inner, max_size=5),
    ),
    max_leaves=25,
)


def _mostly(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a value of the right shape (so later stages are reached), sometimes junk."""
    return st.one_of(plausible, plausible, plausible, VALUES)


SCOPES = st.sampled_from(
    ["sms:message:send", "sms:manage", "message:send", "web:sdk", "sms:logs:read",
     "account-management:manage", "email:message:send", "sms:mesage:send"]
)  # fmt: skip
IPS = st.sampled_from(["198.51.100.7", "0.0.0.0/0", "::/0", "2001:db8::/48", "10.0.0.1/8"])
INSTANTS = st.sampled_from(["2026-01-01", "2026-06-15", "2027-01-01T00:00:00Z", "2026-13-01"])
DURATIONS = st.sampled_from(["7d", "90d", "1y", "2y", "0d", "9999999y"])
KEY_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "name": _mostly(st.sampled_from(["Shared", "ci-sms", "other"])),
    "scopes": _mostly(st.lists(SCOPES, max_size=4)),
    "scope_sets": _mostly(st.lists(st.sampled_from(["senders", "missing"]), max_size=2)),
    "roles": _mostly(st.lists(st.sampled_from(["Analyze Manager", "Nobody"]), max_size=2)),
    "allowed_ips": _mostly(st.lists(IPS, max_size=3)),
    "valid_from": _mostly(INSTANTS),
    "valid_to": _mostly(INSTANTS),
    "valid_for": _mostly(DURATIONS),
    "enabled": _mostly(st.booleans()),
    "permissions": _mostly(st.lists(st.sampled_from(["PUBLIC_API", "WEB_SDK"]), max_size=2)),
    "platform": _mostly(st.just([{"application_id": "app"}])),
    "secret": _mostly(st.just({"sink": "file", "path": "secrets/{address}.env"})),
    "lifecycle": _mostly(st.just({"prevent_revoke": True, "ignore_changes": ["valid_to"]})),
}
KEYS = st.dictionaries(
    st.sampled_from(["ci-sms", "other", "third", "Bad Id"]),
    st.fixed_dictionaries({}, optional=KEY_FIELDS),
    max_size=3,
)
SECTIONS: dict[str, st.SearchStrategy[Any]] = {
    "account": _mostly(st.sampled_from(["_", "ABC123"])),
    "defaults": _mostly(st.fixed_dictionaries({}, optional=KEY_FIELDS).map(
        lambda d: {k: v for k, v in d.items() if k not in ("name", "platform")}
    )),
    "scope_sets": _mostly(st.fixed_dictionaries({"senders": st.lists(SCOPES, max_size=3)})),
    "policy": _mostly(
        st.fixed_dictionaries(
            {},
            optional={
                "max_validity": DURATIONS,
                "require_allowed_ips": st.booleans(),
                "forbid_any_ip": st.booleans(),
                "forbidden_scopes": st.lists(SCOPES, max_size=2),
                "unknown_scopes": st.sampled_from(["error", "warn"]),
            },
        )
    ),
    "moved": _mostly(st.just([{"from": "api_keys.gone", "to": "api_keys.ci-sms"}])),
    "imports": _mostly(
        st.just([{"to": "api_keys.other", "id": "573711510E1C002E29679B12C7CB48AE"}])
    ),
}  # fmt: skip


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {"version": draw(st.sampled_from([1, 1, 1, 1, 2, "1", None]))}
    document["api_keys"] = draw(KEYS)
    for section, values in SECTIONS.items():
        if draw(st.booleans()):
            document[section] = draw(values)
    return document


@FUZZ
@given(document=manifests())
def test_structured_documents_load_to_diagnostics(manifest_file: Path, document: Any) -> None:
    _load(manifest_file, yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


@FUZZ
@given(documents=st.lists(manifests(), min_size=2, max_size=3))
def test_configurations_of_several_files_load_to_diagnostics(
    manifest_file: Path, documents: list[Any]
) -> None:
    folder = manifest_file.parent / "several"
    folder.mkdir(exist_ok=True)
    for stale in folder.iterdir():
        stale.unlink()
    for index, document in enumerate(documents):
        (folder / f"{index}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    _check(load_configuration([folder], now=NOW))
