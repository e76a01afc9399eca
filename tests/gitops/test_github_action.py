"""The GitHub Action (action.yml) and the example workflows: valid for GitHub by its own
schemas (checked offline by check-jsonschema's vendored copies), wired for the reviewed-plan
flow, and the action's script run for real against the emulator."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
WORKFLOWS = ROOT / "examples" / "github"
BIN = Path(sys.executable).parent


def _check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _load(path: Path) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def _step(job: dict[str, Any], uses_suffix: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).endswith(uses_suffix)]
    return step


def test_the_action_and_the_workflows_are_valid_by_githubs_schemas(tmp_path: Path) -> None:
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert [p.name for p in workflows] == ["apply.yml", "drift.yml", "plan.yml"]

    checked = _check_jsonschema("vendor.github-workflows", *workflows)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    checked = _check_jsonschema("vendor.github-actions", ACTION)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # The validator does refuse what GitHub refuses: a step without `shell`, a job without
    # `runs-on`.
    broken_action = tmp_path / "action.yml"
    broken_action.write_text(
        ACTION.read_text(encoding="utf-8").replace("      shell: bash\n", "", 1), encoding="utf-8"
    )
    assert _check_jsonschema("vendor.github-actions", broken_action).returncode == 1
    broken_workflow = tmp_path / "plan.yml"
    broken_workflow.write_text(
        (WORKFLOWS / "plan.yml").read_text(encoding="utf-8").replace("runs-on:", "runs_on:"),
        encoding="utf-8",
    )
    assert _check_jsonschema("vendor.github-workflows", broken_workflow).returncode == 1


def test_the_workflows_plan_in_the_pull_request_and_apply_that_plan_on_merge() -> None:
    plan, apply, drift = (
        _load(WORKFLOWS / name) for name in ("plan.yml", "apply.yml", "drift.yml")
    )
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    assert "pull_request" in plan[True]
    planning = _step(plan["jobs"]["plan"], "infobip-iac@v1")
    assert planning["with"]["command"] == "plan"
    plan_file = planning["with"]["plan-file"]
    upload = _step(plan["jobs"]["plan"], "upload-artifact@v4")
    assert "steps.plan.outputs.plan-file" in upload["with"]["path"]
    comment = _step(plan["jobs"]["plan"], "github-script@v7")["with"]["script"]
    assert "<!-- infobip-iac-plan -->" in comment and "updateComment" in comment

    assert apply[True]["pull_request"]["types"] == ["closed"]
    assert apply["jobs"]["apply"]["if"] == "github.event.pull_request.merged == true"
    download = _step(apply["jobs"]["apply"], "download-artifact@v4")
    assert download["with"]["name"] == upload["with"]["name"]
    assert "steps.reviewed.outputs.run-id" in download["with"]["run-id"]
    applying = _step(apply["jobs"]["apply"], "infobip-iac@v1")
    assert applying["with"]["command"] == "apply"
    assert applying["with"]["args"].split()[0] == plan_file  # the reviewed file, no new plan

    assert "schedule" in drift[True]
    checking = _step(drift["jobs"]["drift"], "infobip-iac@v1")
    assert {"--refresh-only", "--detailed-exitcode"} <= set(checking["with"]["args"].split())


def _action_script() -> str:
    (step,) = [s for s in _load(ACTION)["runs"]["steps"] if s.get("id") == "run"]
    return str(step["run"])


def _outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT's `name=value` lines and `name<<DELIMITER` blocks."""
    found: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        block = re.fullmatch(r"([\w-]+)<<(\S+)", line)
        if block:
            body = []
            for inner in lines:
                if inner == block.group(2):
                    break
                body.append(inner)
            found[block.group(1)] = "\n".join(body)
        else:
            name, _, value = line.partition("=")
            found[name] = value
    return found


def _run_action(folder: Path, command: str, args: str) -> tuple[int, dict[str, str], str]:
    outputs = folder / f"output-{command}.txt"
    outputs.write_text("", encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("INFOBIP_")},
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "COMMAND": command,
        "ARGS": args,
        "PLAN_FILE": "infobip-iac.plan",
        "NO_COLOR": "1",
        "GITHUB_OUTPUT": str(outputs),
        "RUNNER_TEMP": str(folder),
    }
    done = subprocess.run(
        [shutil.which("bash") or "bash", "-c", _action_script()],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return done.returncode, _outputs(outputs.read_text(encoding="utf-8")), done.stdout + done.stderr


@pytest.mark.slow
def test_the_actions_script_plans_applies_and_exposes_its_outputs(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "main.yaml").write_text(
        textwrap.dedent(
            """\
            version: 1
            api_keys:
              ci-sms:
                name: CI SMS sender
                scopes: [sms:message:send]
                allowed_ips: [203.0.113.0/24]
            """
        ),
        encoding="utf-8",
    )

    code, outputs, log = _run_action(tmp_path, "plan", "--emulator keys --detailed-exitcode")
    assert code == 0, log  # a plan with changes is a success of the step
    assert outputs["exitcode"] == "2"
    assert outputs["plan-file"] == "infobip-iac.plan" and (tmp_path / "infobip-iac.plan").is_file()
    assert Path(outputs["plan-json"]).is_file()
    assert outputs["markdown"].startswith("**Plan: 1 to add, 0 to change, 0 to revoke.")

    code, outputs, log = _run_action(
        tmp_path, "apply", "infobip-iac.plan --emulator --auto-approve"
    )
    assert code == 0, log
    assert outputs["exitcode"] == "0"

    (keys / "main.yaml").write_text("version: 1\napi_keys:\n  Bad Id: {}\n", encoding="utf-8")
    code, outputs, log = _run_action(tmp_path, "plan", "--emulator keys")
    assert code == 1
    assert outputs["exitcode"] == "1" and outputs["plan-file"] == ""
    assert "infobip-iac plan failed (exit 1)" in outputs["markdown"]
    assert "main.yaml:3:3" in log  # the diagnostic reached the job log
