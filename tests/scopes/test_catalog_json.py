"""The committed catalog.json against Infobip's documentation (seeds 002 and 003).

These tests read the seeds with their own small parser rather than the generator's, so a
mistake in the generator cannot hide behind its own output.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from infobip_iac.scopes import Catalog

from .conftest import REPO

# Named by seed 002 among the main scope types, but absent from its tables.
PROSE_ONLY = {"mobile-app-messaging:sdk"}


def _seed(seeds: Path, prefix: str) -> str:
    (path,) = seeds.glob(f"{prefix}*.txt")
    return path.read_text(encoding="utf-8")


def _rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|") and not line.startswith("| ---")
    ]


def _seed_scopes(text: str) -> dict[str, str]:
    """scope -> category, from each `##### <Category>` table of seed 002."""
    found: dict[str, str] = {}
    for section in re.split(r"^##### ", text, flags=re.MULTILINE)[1:]:
        category, _, body = section.partition("\n")
        body = re.split(r"^#", body, maxsplit=1, flags=re.MULTILINE)[0]
        for cells in _rows(body):
            if cells[0] != "SCOPE":
                found[cells[0]] = category.strip()
    return found


def _seed_roles(text: str) -> dict[str, set[str]]:
    table = text.split("| ROLE | SCOPES |", 1)[1].split("\n\n", 1)[0]
    return {cells[0]: {scope.strip() for scope in cells[1].split(",")} for cells in _rows(table)}


def test_every_seed_scope_is_in_the_catalog_with_its_category(
    seeds: Path, catalog: Catalog
) -> None:
    expected = _seed_scopes(_seed(seeds, "002_"))
    assert len(expected) == 160
    actual = {name: s.category for name, s in catalog.scopes.items() if name not in PROSE_ONLY}
    assert actual == expected


def test_every_category_of_the_seed(seeds: Path, catalog: Catalog) -> None:
    text = _seed(seeds, "002_")
    assert catalog.categories == sorted(re.findall(r"^##### (.+?)\s*$", text, re.MULTILINE))


def test_prose_only_scopes_are_still_named_by_the_seed(seeds: Path, catalog: Catalog) -> None:
    text = _seed(seeds, "002_")
    for name in PROSE_ONLY:
        assert f"**{name}**" in text
        assert catalog.scopes[name].category == "Client-side SDK"


def test_every_role_implies_exactly_the_seed_scopes(seeds: Path, catalog: Catalog) -> None:
    expected = _seed_roles(_seed(seeds, "002_"))
    assert len(expected) == 18
    assert {name: set(role.scopes) for name, role in catalog.roles.items()} == expected


def test_sdk_flag_follows_the_client_side_sdk_category(catalog: Catalog) -> None:
    for scope in catalog.scopes.values():
        assert scope.sdk == (scope.category == "Client-side SDK"), scope.name


def test_channel_products_follow_seed_003(seeds: Path, catalog: Catalog) -> None:
    text = _seed(seeds, "003_")
    channels = text.split("## Kanäle (Channels)")[1].split("\n## ")[0]
    seed_products: dict[str, str] = {}
    for section in re.split(r"^### ", channels, flags=re.MULTILINE)[1:]:
        product = section.partition("\n")[0].strip()
        for name in re.findall(r"^\| `([a-z0-9:-]+)`", section, re.MULTILINE):
            seed_products[name] = product
    for name, product in seed_products.items():
        ours = catalog.scopes[name].product
        if product == "Other Channels":
            # Split into one product per prefix; siblings must agree.
            prefix = name.split(":")[0]
            siblings = {
                s.product
                for n, s in catalog.scopes.items()
                if n.split(":")[0] == prefix and not s.sdk
            }
            assert siblings == {ours}
            assert ours
        else:
            assert ours == product, name
    assert catalog.scopes["rcs:provision"].product == "RCS"  # newer than seed 003
    for scope in catalog.scopes.values():
        assert (scope.product is not None) == (scope.category == "Channels"), scope.name


def test_descriptions_are_our_own_words(seeds: Path, catalog: Catalog) -> None:
    def words(text: str) -> str:
        return " ".join(re.findall(r"[a-z0-9]+", text.lower()))

    theirs = {
        words(cells[1])
        for prefix in ("000_", "001_", "002_", "003_")
        for cells in _rows(_seed(seeds, prefix))
        if len(cells) == 2
    }
    copied = [s.name for s in catalog.scopes.values() if words(s.description) in theirs]
    assert copied == []


def _generator() -> ModuleType:
    path = REPO / "tools" / "build_scope_catalog.py"
    spec = importlib.util.spec_from_file_location("build_scope_catalog", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_catalog_is_what_the_generator_builds(seeds: Path) -> None:
    generator = _generator()
    assert generator.main(["--seeds", str(seeds), "--check"]) == 0


def test_generator_check_notices_a_stale_file(seeds: Path, tmp_path: Path) -> None:
    generator = _generator()
    stale = tmp_path / "catalog.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert generator.main(["--seeds", str(seeds), "--out", str(stale), "--check"]) == 1
    assert generator.main(["--seeds", str(seeds), "--out", str(stale)]) == 0
    assert generator.main(["--seeds", str(seeds), "--out", str(stale), "--check"]) == 0


def test_generator_reports_missing_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generator = _generator()
    assert generator.main(["--seeds", str(tmp_path), "--out", str(tmp_path / "c.json")]) == 2
    assert "002_" in capsys.readouterr().err
