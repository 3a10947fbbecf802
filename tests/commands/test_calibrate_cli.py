"""`csbridge calibrate` end to end on a small synthetic history with a known answer."""

import json
import random
from datetime import date

import numpy as np
import pytest
import yaml

from csbridge.cli import main
from csbridge.scoring import Engine, load_model
from csbridge.scoring.calibrate import Sample, assign_folds

DATES = ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"]


def history(tmp_path, *, leak=False, late=False):
    """80 accounts x 5 months: low dau_mau churns; csat is noise; tickets point the wrong way."""
    rng = random.Random(7)
    rows = []
    for a in range(80):
        for as_of in DATES:
            dau = rng.uniform(0.0, 0.6)
            churned = rng.random() < 0.6 * (1 - dau / 0.6) ** 2
            signals = {
                "usage.dau_mau": round(dau, 3),
                "satisfaction.csat": round(rng.uniform(0.5, 1.0), 3),
                # more unresolved tickets go with LESS churn here: the base says the opposite.
                "satisfaction.support_tickets": round(8 * rng.random() * (1 - churned * 0.7), 2),
            }
            if leak:
                signals["growth.referrals"] = 0 if churned else 2
            row = {
                "id": f"acct-{a}",
                "as_of": as_of,
                "signals": signals,
                "outcome": {"churned": churned, "date": "2024-07-01" if churned else None},
            }
            if late:
                row["signal_dates"] = {"usage.dau_mau": "2025-01-01"}
            rows.append(row)
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_calibrated_model_loads_scores_and_keeps_the_base_shape(tmp_path, capsys):
    src, out, page = history(tmp_path), tmp_path / "cal.yaml", tmp_path / "cal.html"
    args = ["calibrate", "--history", str(src), "--out", str(out), "--format", "json"]
    assert main([*args, "--report", str(page), "--horizon", "365d"]) == 0
    report = json.loads(capsys.readouterr().out)
    model = load_model(str(out))  # the existing loader reads it
    assert model.name == "seed-5d-calibrated"
    assert [b.name for b in model.bands] == ["at_risk", "attention", "healthy", "champion"]
    assert sum(d.weight for d in model.dimensions.values()) == 100
    for dim in model.dimensions.values():
        assert all(i.weight and i.weight > 0 for i in dim.indicators.values())
        assert sum(i.weight or 0 for i in dim.indicators.values()) == 100
    dau = model.dimensions["usage"].indicators["dau_mau"].transform
    assert dau.zero_at < dau.full_at  # direction of the base kept
    dropped = {d["indicator"]: d["reason"] for d in report["dropped"]}
    assert dropped["usage.feature_adoption"] == "no data"
    assert "satisfaction.support_tickets" in dropped  # it points the other way
    assert "satisfaction.support_tickets" in model.dropped_indicators
    assert report["auc"] > 0.7 and report["auc"] > report["base_auc"]
    assert len(report["folds"]) == 5
    assert report["time_split"]["cutoff"] == "2024-05-01"
    assert report["calibration"]["brier"] > 0
    assert model.calibration is not None and model.calibration.horizon_days == 365
    assert report["provenance"]["calibrated_model_hash"] == model.model_hash()
    assert "Fitted weights" in page.read_text()
    # `score` uses it unchanged, accepts the dropped indicator's signal, adds churn_probability.
    accounts = tmp_path / "in.jsonl"
    low = {"usage.dau_mau": 0.05, "satisfaction.support_tickets": 1}
    high = {"usage.dau_mau": 0.55}
    accounts.write_text(
        json.dumps({"id": "low", "signals": low})
        + "\n"
        + json.dumps({"id": "high", "signals": high})
    )
    assert main(["score", "--model", str(out), "--input", str(accounts)]) == 0
    low_out, high_out = json.loads(capsys.readouterr().out)["accounts"]
    assert low_out["churn_probability"] > high_out["churn_probability"]
    assert low_out["score"] < high_out["score"]


def test_leakage_guards_warn(tmp_path, capsys):
    src, out = history(tmp_path, leak=True, late=True), tmp_path / "cal.yaml"
    args = ["calibrate", "--history", str(src), "--out", str(out), "--format", "json"]
    assert main([*args, "--horizon", "365d"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert warnings[0] == "possible leakage: 400 signals are dated after their snapshot's as_of"
    assert any(w.startswith("possible leakage: growth.referrals alone has AUC") for w in warnings)


def test_folds_keep_an_account_and_exact_duplicates_together():
    def sample(account, content, churned=False):
        return Sample((account, {}, None, None), date(2024, 1, 1), churned, content)

    samples = [sample(f"a{i % 10}", f"row{i}", i % 3 == 0) for i in range(40)]
    samples.append(sample("copy", "row3"))  # an exact copy of one of a3's rows, under another id
    fold = assign_folds(samples, np.array([s.churned for s in samples]), 5, 0)
    for i in range(10):
        assert len({fold[j] for j in range(40) if j % 10 == i}) == 1
    assert fold[40] == fold[3]
    assert len(set(fold.tolist())) == 5


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--band-targets", "40,15"], "give 3 band targets for the 4 bands of 'seed-5d', not 2"),
        (["--band-targets", "40,abc,3"], "--band-targets is '40,abc,3'"),
        (["--folds", "1"], "--folds is 1: give 2 or more"),
        (["--folds", "200"], "80 accounts are too few for 200 folds"),
    ],
)
def test_bad_settings_are_one_line_exit_2(tmp_path, capsys, extra, message):
    src, out = history(tmp_path), tmp_path / "cal.yaml"
    assert main(["calibrate", "--history", str(src), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_written_yaml_scores_exactly_like_the_fitted_model(tmp_path, capsys):
    src, out = history(tmp_path), tmp_path / "cal.yaml"
    assert main(["calibrate", "--history", str(src), "--out", str(out)]) == 0
    assert "calibrated model written to" in capsys.readouterr().out
    text = out.read_text()
    assert text.startswith("# Written by: csbridge calibrate --model seed-5d")
    reloaded = Engine(load_model(str(out)))
    data = yaml.safe_load(text)
    assert data["calibration"]["method"] == "logistic"
    result = reloaded.score("x", {"usage.dau_mau": 0.3, "satisfaction.csat": 0.8})
    assert 0 < result.data["churn_probability"] < 1
