"""schemathesis, from Infobip's OpenAPI document, against the API-key operations of a running
emulator: no server error and no answer outside the spec's schemas."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from infobip_iac.emulator import EmulatorServer

from .conformance import SPEC_PATH

# The console script's own entry, run with this interpreter so the venv's schemathesis is used.
RUN_SCHEMATHESIS = "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())"


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    # Limits lifted: a fuzzer's hundreds of writes must be judged on content, not on budget.
    server = make_emulator(write_limit=0, read_rate=0)
    server.control.seed([{"name": f"seeded-{i}"} for i in range(5)])
    basic = base64.b64encode(b"admin:admin").decode()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            RUN_SCHEMATHESIS,
            "run",
            str(SPEC_PATH),
            "--url",
            server.base_url,
            "--header",
            f"Authorization: Basic {basic}",
            "--include-path-regex",
            "^/settings/2/api-keys",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "30",
            "--max-time",
            "15",
            "--seed",
            "20260601",
            "--workers",
            "1",
            "--no-shrink",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    tail = done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 0, tail
    assert "4 selected" in done.stdout, tail
    stats = server.control.stats()
    assert sum(stats["requests"].values()) > 200, stats
