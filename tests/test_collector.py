"""The collector is set once, by the CLI's entry point, and collection is never turned off."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from infobip_iac.cli.main import main
from infobip_iac.collector import YOUNG_THRESHOLD, tune_collector


@pytest.fixture
def restored_threshold() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored_threshold")
def test_the_cli_raises_the_young_threshold_and_keeps_collecting() -> None:
    gc.set_threshold(700, 10, 10)
    assert main(["--version"]) == 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    assert gc.isenabled()


@pytest.mark.usefixtures("restored_threshold")
def test_tuning_twice_changes_nothing_more() -> None:
    gc.set_threshold(700, 11, 12)
    tune_collector()
    tune_collector()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 11, 12)


def test_no_module_of_the_core_touches_the_collector() -> None:
    from pathlib import Path

    import infobip_iac

    root = Path(infobip_iac.__file__).parent
    touching = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "import gc" in path.read_text(encoding="utf-8")
    )
    assert touching == ["collector.py"]
