"""End to end: `model_per_segment` on the sandbox. High-touch accounts are scored with
seed-6d, the others with seed-5d; `init-crm` creates both models' dimension fields, the
run writes them and stores each account's score under its own model's hash; `health`
and the run report say which model scored each account."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from csbridge.cli import main
from csbridge.scoring import load_model
from csbridge_sandbox.runner import Sandbox, run_sandbox

ACCOUNTS = 25


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    tmp = tmp_path_factory.mktemp("segment-models")
    with run_sandbox(port_base=0, accounts=ACCOUNTS, seed=11, rate_limits="off") as sandbox:
        config = sandbox.write_config(
            tmp / "csbridge.yaml", model="seed-5d", model_per_segment={"high_touch": "seed-6d"}
        )
        assert main(["init-crm", "--config", str(config)]) == 0
        yield sandbox, config


def test_two_segments_are_scored_with_two_models_and_both_are_written(
    prepared: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox, config = prepared
    now = sandbox.world.now.isoformat()
    report = tmp_path / "report.json"
    argv = ["run", "--config", str(config), "--now", now, "--report", str(report)]
    assert main(argv) == 0
    run = json.loads(report.read_text())
    assert run["ok"], run["crm"]

    capsys.readouterr()
    assert main(["health", "--config", str(config), "--format", "json", "--now", now]) == 0
    out = capsys.readouterr().out
    accounts = json.loads(out[out.index("{\n") :])["accounts"]
    used = {a["id"]: a["model"]["name"] for a in accounts}
    for account in accounts:
        expected = "seed-6d" if account["segment"] == "high_touch" else "seed-5d"
        assert account["model"]["name"] == expected, account["id"]
        assert len(account["dimensions"]) == (6 if expected == "seed-6d" else 5)
    assert set(used.values()) == {"seed-5d", "seed-6d"}  # both segments are present

    # seed-6d scores with seed-5d's segment matrix (the segment never depends on the
    # model scoring it), so its hash is not the preset's own
    hashes = {a["model"]["name"]: a["model"]["hash"] for a in accounts}
    assert hashes["seed-5d"] == load_model("seed-5d").model_hash()
    counts = Counter(used.values())
    assert run["models"] == {f"{m} ({hashes[m]})": n for m, n in counts.items()}
    database = yaml.safe_load(config.read_text())["database_url"]
    with create_engine(database).connect() as conn:
        stored = dict(conn.execute(text("SELECT account_key, model_hash FROM score_history")).all())
    assert stored == {key: hashes[model] for key, model in used.items()}


def test_an_unknown_segment_is_one_line_naming_the_key(
    prepared: tuple[Sandbox, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, config = prepared
    data = yaml.safe_load(config.read_text())
    data["model_per_segment"] = {"vip": "seed-6d"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    capsys.readouterr()
    assert main(["health", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        "csbridge: error: model_per_segment.vip: not a segment of model 'seed-5d'"
    ), err
    assert "\n" not in err
