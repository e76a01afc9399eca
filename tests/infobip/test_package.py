"""The public names of `infobip_iac.infobip` are pinned: changing them is a decision."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import infobip_iac.infobip as package


def test_public_names() -> None:
    assert package.__all__ == [
        "AccountKeys",
        "ConnectionSettings",
        "CreatedKey",
        "InfobipClient",
        "KeyService",
        "ProgressCallback",
        "ReadBudget",
        "list_accounts_concurrently",
        "open_key_service",
        "settings_from_env",
    ]
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_the_protocol_alone_does_not_load_httpx() -> None:
    code = "import sys, infobip_iac.infobip.api; print('httpx' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_every_runtime_dependency_is_imported_by_the_package() -> None:
    # A declared dependency nobody imports is installed for nothing, and suggests a
    # library does a job that the code in fact does itself (the client's retry loop).
    root = Path(__file__).resolve().parents[2]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    modules_of: dict[str, set[str]] = {}
    for module, distributions in importlib.metadata.packages_distributions().items():
        for distribution in distributions:
            modules_of.setdefault(_canonical(distribution), set()).add(module)
    imported: set[str] = set()
    for path in (root / "infobip_iac").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.partition(".")[0])
    unused = [
        requirement
        for requirement in declared
        if not modules_of.get(_canonical(re.split(r"[<>=!~\[; ]", requirement)[0]), set())
        & imported
    ]
    assert unused == []


def _canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_only_the_secret_sinks_and_the_sign_in_reveal_a_secret() -> None:
    # What `Secret`'s docstring promises: a new call elsewhere is a decision to review.
    package = Path(__file__).resolve().parents[2] / "infobip_iac"
    allowed = ("secrets/", "infobip/auth.py")
    callers: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "reveal"
            ):
                callers.add(path.relative_to(package).as_posix())
    assert callers
    assert sorted(c for c in callers if not c.startswith(allowed)) == []
