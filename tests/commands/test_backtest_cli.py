"""`csbridge backtest` through the CLI: history errors, figures, JSON, a calibrated model."""

import json

import pytest

from csbridge.cli import main


def snapshot(i, dau_mau, churned, as_of="2024-01-01", **extra):
    return {
        "id": f"a{i}",
        "as_of": as_of,
        "signals": {"usage.dau_mau": dau_mau},
        "outcome": {"churned": churned, "date": "2024-02-01" if churned else None},
        **extra,
    }


def write(tmp_path, rows, name="history.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# dau_mau 0.10-0.50 -> usage score 0-100 -> the only data, so the score itself.
ROWS = [snapshot(i, 0.1 + 0.04 * i, i < 3) for i in range(10)]


def test_json_figures_and_provenance(tmp_path, capsys):
    src, page = write(tmp_path, ROWS), tmp_path / "report.html"
    assert main(["backtest", "--history", str(src), "--format", "json", "--report", str(page)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["snapshots"] == 10 and out["churned"] == 3
    assert "AUC 1.000" in page.read_text()
    assert out["auc"] == 1.0  # the three lowest scores churned
    assert out["deciles"][0]["lift"] == pytest.approx(1 / 0.3, abs=1e-3)
    at_risk = out["bands"][0]
    # scores 0, 10, ..., 90: at_risk (<= 40) holds 5 accounts, 3 churned.
    assert (at_risk["band"], at_risk["accounts"], at_risk["churned"]) == ("at_risk", 5, 3)
    assert out["indicators"][0]["indicator"] == "usage.dau_mau"
    assert out["indicators"][0]["coverage"] == 1.0
    assert out["indicators"][1]["coverage"] == 0.0
    prov = out["provenance"]
    assert prov["model"] == "seed-5d" and len(prov["model_hash"]) == 12
    assert len(prov["data_hash"]) == 12
    assert prov["command"] == f"csbridge backtest --model seed-5d --history {src}"


def test_text_summary_and_horizon(tmp_path, capsys):
    late = [snapshot(0, 0.1, True) | {"outcome": {"churned": True, "date": "2024-12-01"}}]
    src = write(tmp_path, ROWS[1:] + late)
    assert main(["backtest", "--history", str(src), "--horizon", "90d"]) == 0
    text = capsys.readouterr().out
    # the churn 335 days after as_of is outside a 90-day horizon: 2 churned, not 3.
    assert text.startswith("snapshots 10 (unscored 0), churned 2 (20.0%)")
    assert "AUC " in text and "at_risk" in text


CALIBRATED = """
name: calibrated
dimensions:
  usage:
    weight: 100
    indicators:
      dau_mau: {transform: {type: linear, zero_at: 0.1, full_at: 0.5}}
bands:
  - {name: low, below: 50}
  - {name: high}
calibration:
  method: isotonic
  horizon_days: 90
  points: [[0, 0.9], [50, 0.2], [100, 0.0]]
"""


def test_a_calibrated_model_scores_with_churn_probability_and_backtests_brier(tmp_path, capsys):
    model = tmp_path / "m.yaml"
    model.write_text(CALIBRATED)
    src = write(tmp_path, ROWS)
    accounts = tmp_path / "in.jsonl"
    accounts.write_text(json.dumps({"id": "x", "signals": {"usage.dau_mau": 0.2}}) + "\n")
    assert main(["score", "--model", str(model), "--input", str(accounts)]) == 0
    scored = json.loads(capsys.readouterr().out)["accounts"][0]
    # score 25 -> halfway between (0, 0.9) and (50, 0.2) -> 0.55.
    assert scored["score"] == 25.0 and scored["churn_probability"] == 0.55
    assert main(["backtest", "--model", str(model), "--history", str(src), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["horizon_days"] == 90
    assert out["calibration"]["brier"] > 0
    assert sum(r["accounts"] for r in out["calibration"]["reliability"]) == 10


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"id": "a", "outcome": {"churned": False}}, "line 2: account 'a': as_of is None"),
        ({**ROWS[0], "as_of": "01/02/2024"}, "as_of is '01/02/2024': give a date as YYYY-MM-DD"),
        ({**ROWS[0], "outcome": {"churned": "yes"}}, 'outcome must be {"churned"'),
        ({**ROWS[0], "outcome": {"churned": True, "date": "2023-01-01"}}, "is before as_of"),
        ({**ROWS[0], "outcome": {"churned": True, "when": 1}}, "outcome.when: an outcome has"),
        (
            {**ROWS[0], "signals": {"usage.dau_mau": "high"}},
            "account 'a0': signals.usage.dau_mau is 'high', not a number",
        ),
        ({**ROWS[0], "signal": {}}, "unknown key 'signal'"),
        ({**ROWS[0], "signal_dates": {"usage.dau_mau": "soon"}}, "signal_dates.usage.dau_mau"),
    ],
)
def test_bad_history_is_one_line_exit_2(tmp_path, capsys, line, message):
    src = tmp_path / "h.jsonl"
    src.write_text(json.dumps(ROWS[1]) + "\n" + json.dumps(line) + "\n")
    assert main(["backtest", "--history", str(src)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert f"{src} line 2" in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_bad_horizon_and_empty_history(tmp_path, capsys):
    src = write(tmp_path, ROWS)
    assert main(["backtest", "--history", str(src), "--horizon", "3m"]) == 2
    assert "--horizon is '3m'" in capsys.readouterr().err
    empty = write(tmp_path, [], name="empty.jsonl")
    assert main(["backtest", "--history", str(empty)]) == 2
    assert "no snapshots" in capsys.readouterr().err
