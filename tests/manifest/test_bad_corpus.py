"""The corpus of bad manifests in `bad/`: each gives its expected error code at its line and
column, nothing else, and (where a schema can tell) the JSON Schema refuses it too.

A corpus entry is one file, or a folder of files that form one configuration. Its first
lines say what to expect:

    # expect: E400 at 6:31          (in a folder: `at b.yaml:4:3`)
    # schema: reject | accept | skip

`accept` marks errors no schema can see (they need the catalog's rules, other keys or other
files); `skip` marks files that are not YAML a schema could read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from infobip_iac.manifest import load_configuration
from infobip_iac.manifest.schema import manifest_schema
from infobip_iac.manifest.yamlload import parse_text
from manifest.conftest import NOW

CORPUS = Path(__file__).parent / "bad"
_EXPECT = re.compile(
    r"^# expect: (?P<code>[EW]\d{3}) at (?:(?P<file>[\w.-]+):)?(?P<line>\d+):(?P<column>\d+)$"
)
_SCHEMA = re.compile(r"^# schema: (?P<verdict>reject|accept|skip)$")


@dataclass(frozen=True)
class Entry:
    path: Path
    expected: frozenset[tuple[str, str, int, int]]  # (code, file, line, column)
    schema: dict[Path, str]


def _header(path: Path) -> list[str]:
    return path.read_bytes().decode("latin-1").splitlines()[:3]


def _entry(path: Path) -> Entry:
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    expected: set[tuple[str, str, int, int]] = set()
    verdicts: dict[Path, str] = {}
    for file in files:
        for line in _header(file):
            if match := _EXPECT.match(line):
                target = path / match["file"] if match["file"] else file
                expected.add((match["code"], str(target), int(match["line"]), int(match["column"])))
            if match := _SCHEMA.match(line):
                verdicts[file] = match["verdict"]
    return Entry(path, frozenset(expected), verdicts)


ENTRIES = [_entry(p) for p in sorted(CORPUS.iterdir()) if p.suffix == ".yaml" or p.is_dir()]


def test_the_corpus_is_large_and_well_formed() -> None:
    assert len(ENTRIES) >= 60
    for entry in ENTRIES:
        assert entry.expected, f"{entry.path.name}: no `# expect:` line"
        files = sorted(entry.path.glob("*.yaml")) if entry.path.is_dir() else [entry.path]
        assert set(entry.schema) == set(files), f"{entry.path.name}: a `# schema:` line is missing"
        assert entry.path.name[1:4] == next(iter(entry.expected))[0][1:], (
            f"{entry.path.name}: the file name should start with its expected code"
        )


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.path.name)
def test_each_bad_manifest_gives_its_error_where_expected(entry: Entry) -> None:
    result = load_configuration([entry.path], now=NOW)
    errors = {(d.code, d.file, d.line, d.column) for d in result.errors}
    assert result.config is None
    assert errors == entry.expected, "\n".join(d.render() for d in result.errors)
    for diagnostic in result.errors:
        assert diagnostic.message and diagnostic.hint, diagnostic.render()


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(manifest_schema())


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.path.name)
def test_the_schema_refuses_what_a_schema_can_see(
    entry: Entry, validator: jsonschema.Draft202012Validator
) -> None:
    for file, verdict in entry.schema.items():
        if verdict == "skip":
            continue
        document, problems = parse_text(file.read_text(encoding="utf-8"), str(file))
        assert document is not None and not problems
        schema_errors = list(validator.iter_errors(document.data))
        if verdict == "reject":
            assert schema_errors, f"{file.name}: the schema accepts it"
        else:
            assert not schema_errors, f"{file.name}: {schema_errors[0].message}"
