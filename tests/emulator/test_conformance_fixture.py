"""The `emulator` fixture itself fails a test whose emulator answered outside the spec.

The checker is tested on its own in test_conformance.py; this proves the wiring: an inner
pytest session (pytester, in a child process) with the real conftest runs one test whose
emulator is made to answer a list request without its required `paging`, and one
clean test. The first must end in an error at teardown naming the operation; the second
must pass."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]

INNER_TESTS = """
    import httpx

    from infobip_iac.emulator import operations

    LIST = "/settings/2/api-keys"


    def test_answer_outside_the_spec(emulator, monkeypatch):
        # A list answer without its required `paging`: what a regression would look like.
        page_answer = operations._page_answer

        def without_paging(*args):
            answer = page_answer(*args)
            return operations.Answer(answer.status, {"apiKeys": answer.body["apiKeys"]})

        monkeypatch.setattr(operations, "_page_answer", without_paging)
        httpx.get(emulator.base_url + LIST, auth=("admin", "admin"), timeout=10)


    def test_answer_inside_the_spec(emulator):
        answer = httpx.get(emulator.base_url + LIST, auth=("admin", "admin"), timeout=10)
        assert answer.status_code == 200
"""


@pytest.mark.slow
def test_fixture_fails_the_test_whose_emulator_broke_the_spec(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest((TESTS / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_inner=textwrap.dedent(INNER_TESTS))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=120)

    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 2, result.outlines
    assert outcomes.get("errors", outcomes.get("error")) == 1, result.outlines
    result.stdout.fnmatch_lines(["*requests or answers that break the spec*", "*GET*api-keys*"])
    errored = [line for line in result.outlines if line.startswith("ERROR test_inner.py::")]
    assert len(errored) == 1 and "test_answer_outside_the_spec" in errored[0]
