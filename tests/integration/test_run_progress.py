"""A run outside a terminal (cron, a container) is not silent: one structured line per step
on stderr (pull per stream, scoring, apply per CRM), key=value or JSON with --log-json."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from csbridge.cli import main
from csbridge_sandbox.runner import Sandbox, run_sandbox


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    tmp = tmp_path_factory.mktemp("progress")
    with run_sandbox(port_base=0, accounts=12, seed=3, rate_limits="off") as sandbox:
        config = sandbox.write_config(tmp / "csbridge.yaml")
        assert main(["init-crm", "--config", str(config)]) == 0
        yield sandbox, config


def _logfmt(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in shlex.split(line))


def test_run_prints_one_key_value_line_per_step(
    prepared: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox, config = prepared
    capsys.readouterr()
    now = sandbox.world.now.isoformat()
    assert main(["run", "--config", str(config), "--now", now]) == 0
    captured = capsys.readouterr()
    lines = [_logfmt(line) for line in captured.err.splitlines()]
    assert all(line["event"] == "step" and "timestamp" in line for line in lines)
    steps = [line["step"] for line in lines]
    pulls = [s for s in steps if s.startswith("pull.")]
    assert steps == [*pulls, "score", "apply.salesforce", "apply.hubspot"]
    assert len(set(pulls)) == len(pulls)
    assert {"pull.zendesk.tickets", "pull.salesforce.accounts", "pull.hubspot.companies"} <= set(
        pulls
    )
    by_step = {line["step"]: line for line in lines}
    assert int(by_step["pull.salesforce.accounts"]["records"]) == 12
    assert int(by_step["score"]["accounts"]) > 0
    assert int(by_step["apply.hubspot"]["records"]) > 0
    assert by_step["apply.hubspot"]["ok"] == "true"
    assert "step" not in captured.out  # stdout stays the summary


def test_pull_with_json_logs_prints_json_step_lines(
    prepared: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = prepared
    capsys.readouterr()
    assert main(["--log-json", "pull", "--config", str(config), "--source", "zendesk"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines and all(line["event"] == "step" for line in lines)
    assert all(line["step"].startswith("pull.zendesk.") for line in lines)
    assert all(isinstance(line["records"], int) for line in lines)


def test_pull_table_has_headers_and_format_json_matches_the_json_alias(
    prepared: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = prepared
    capsys.readouterr()
    assert main(["pull", "--config", str(config), "--source", "zendesk"]) == 0
    header, _, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["stream", "records", "pages", "state"]
    assert rows[0].split()[0] == "zendesk.organizations" and rows[0].endswith("  ok")
    documents = []
    for flags in (["--format", "json"], ["--json"]):
        assert main(["pull", "--config", str(config), "--source", "zendesk", *flags]) == 0
        documents.append(json.loads(capsys.readouterr().out))
    assert documents[0].keys() == documents[1].keys() >= {"records", "unmatched"}
