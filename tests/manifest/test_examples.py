"""Every example validates, shows its schema to editors, and the top folder can be applied."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import jsonschema
import pytest

from infobip_iac.manifest import load_configuration
from infobip_iac.manifest.schema import manifest_schema
from infobip_iac.manifest.yamlload import parse_text

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CONFIGURATIONS = [EXAMPLES, EXAMPLES / "single-team", EXAMPLES / "advanced"]
FILES = sorted(p for folder in CONFIGURATIONS for p in folder.glob("*.yaml"))
SCHEMA_LINE = "# yaml-language-server: $schema="
DOCUMENTATION_RANGES = [
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]


@pytest.mark.parametrize("folder", CONFIGURATIONS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_each_example_validates_without_errors(folder: Path) -> None:
    result = load_configuration([folder])
    assert result.errors == [], "\n".join(d.render() for d in result.errors)
    assert result.config is not None and result.config.keys


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_each_example_names_the_schema_and_the_schema_accepts_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith(SCHEMA_LINE)
    target = (path.parent / first.removeprefix(SCHEMA_LINE)).resolve()
    assert target == REPO / "schemas" / "manifest.schema.json"
    document, problems = parse_text(text, str(path))
    assert document is not None and not problems
    validator = jsonschema.Draft202012Validator(manifest_schema())
    assert [e.message for e in validator.iter_errors(document.data)] == []


def test_the_top_folder_is_one_configuration_of_several_teams() -> None:
    result = load_configuration([EXAMPLES])
    assert result.config is not None
    config = result.config
    assert len(config.files) >= 3 and config.imports == () and config.moved == ()
    assert config.policy.forbid_any_ip and config.policy.require_allowed_ips
    for key in config.keys.values():
        assert key.secret.sink == "file" and key.secret.path is not None
        assert key.secret.path.startswith("secrets/")
        assert Path(key.secret.base_dir).resolve() == EXAMPLES
        for network in key.allowed_ips:
            parsed = ipaddress.ip_network(network)
            assert any(
                parsed.version == r.version and parsed.subnet_of(r) for r in DOCUMENTATION_RANGES
            ), network


def test_the_advanced_example_uses_roles_sets_moved_and_imports() -> None:
    text = "\n".join(p.read_text() for p in (EXAMPLES / "advanced").glob("*.yaml"))
    for word in ("roles:", "scope_sets:", "moved:", "imports:"):
        assert word in text
