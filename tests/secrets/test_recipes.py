"""The exec-sink recipes of docs/SECRET_SINKS.md, each run against a stand-in program of
the same name that records what it received: the secret reaches the store, on stdin or
a file descriptor, and is in no program's arguments or environment."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.secret import Secret
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.sinks import deliver

RECIPES_DOC = Path(__file__).resolve().parents[2] / "docs" / "SECRET_SINKS.md"
_RECIPE_BLOCK = re.compile(r"```yaml recipe=(\w+)\n(.*?)```", re.DOTALL)

# One stand-in for every program, told apart by the name it was run as. Each behaves as
# the real program does where the recipe relies on it: vault reads FIELD=- from stdin, gh
# reads the body from stdin without --body, aws reads file://PATH, kubectl create reads
# --from-file and prints the Secret as YAML, which kubectl apply -f - reads from stdin.
_STAND_IN = """
import base64, json, os, sys

name = os.path.basename(sys.argv[0])
args = sys.argv[1:]
stored = None
if name == "vault":
    assert args[:2] == ["kv", "put"], args
    field = next(arg for arg in args if "=" in arg and not arg.startswith("-"))
    value = field.split("=", 1)[1]
    stored = sys.stdin.read() if value == "-" else value
elif name == "gh":
    assert args[:2] == ["secret", "set"], args
    stored = sys.stdin.read() if "--body" not in args and "-b" not in args else None
elif name == "aws":
    assert args[:2] == ["secretsmanager", "put-secret-value"], args
    value = args[args.index("--secret-string") + 1]
    if value.startswith("file://"):
        with open(value[len("file://"):]) as source:
            value = source.read()
    stored = value
elif name == "kubectl" and args[:1] == ["create"]:
    assert "--dry-run=client" in args and args[args.index("-o") + 1] == "yaml", args
    source = next(arg for arg in args if arg.startswith("--from-file=")).split("=", 2)
    with open(source[2]) as handle:
        data = base64.b64encode(handle.read().encode()).decode()
    print(f"apiVersion: v1\\nkind: Secret\\nmetadata:\\n  name: {args[3]}\\n"
          f"data:\\n  {source[1]}: {data}")
elif name == "kubectl" and args[:2] == ["apply", "-f"] and args[2] == "-":
    lines = sys.stdin.read().splitlines()
    stored = base64.b64decode(lines[-1].split(": ", 1)[1]).decode()
else:
    sys.exit(f"stand-in {name}: unexpected arguments {args}")
with open(os.environ["RECIPE_LOG"], "a") as log:
    log.write(json.dumps({
        "program": name,
        "argv": args,
        "stored": stored,
        "env": {k: v for k, v in os.environ.items() if k.startswith("INFOBIP_")},
    }) + "\\n")
"""


def recipes() -> dict[str, SecretSinkSpec]:
    found = {}
    for name, block in _RECIPE_BLOCK.findall(RECIPES_DOC.read_text()):
        secret = yaml.safe_load(block)["secret"]
        found[name] = SecretSinkSpec(sink=secret["sink"], command=tuple(secret["command"]))
    return found


def test_the_doc_has_a_recipe_for_each_store_the_issue_names() -> None:
    assert sorted(recipes()) == ["aws", "gh", "kubectl", "vault"]


@pytest.fixture
def stand_ins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder first on PATH holding the stand-ins; returns the log they append to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = f"#!{sys.executable}\n" + textwrap.dedent(_STAND_IN)
    for program in ("vault", "gh", "aws", "kubectl"):
        path = bin_dir / program
        path.write_text(script)
        path.chmod(0o755)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("RECIPE_LOG", str(log))
    return log


@pytest.mark.parametrize("recipe", ["vault", "gh", "aws", "kubectl"])
@pytest.mark.parametrize("predecessor", [None, "0A1B2C3D4E5F60718293A4B5C6D7E8F9"])
def test_each_recipe_stores_the_secret_received_on_stdin_and_never_as_an_argument(
    recipe: str,
    predecessor: str | None,
    stand_ins: Path,
    secret: Secret,
    secret_value: str,
    meta: KeyMeta,
) -> None:
    key = KeyMeta(
        address=meta.address,
        key_id=meta.key_id,
        name=meta.name,
        account=meta.account,
        predecessor_id=predecessor,
    )

    record = deliver(recipes()[recipe], secret, key, show_secrets=False)

    calls = [json.loads(line) for line in stand_ins.read_text().splitlines()]
    assert [call["stored"] for call in calls if call["stored"] is not None] == [secret_value]
    assert record.status == "delivered"
    for call in calls:
        assert all(secret_value not in arg for arg in call["argv"])
        assert all(secret_value not in value for value in call["env"].values())
        assert call["env"]["INFOBIP_KEY_ID"] == meta.key_id
        assert call["env"]["INFOBIP_KEY_ROTATION"] == ("true" if predecessor else "false")
        assert call["env"].get("INFOBIP_PREDECESSOR_KEY_ID") == predecessor
