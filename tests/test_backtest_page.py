"""The calibrate report renders in headless Chromium: no errors, no outside requests."""

import json
from pathlib import Path

from browser_page import open_page

from csbridge.cli import main


def test_calibrate_report_renders_offline_with_its_figures(tmp_path: Path, capsys) -> None:
    rows = []
    for a in range(40):
        for month in (1, 2, 3):
            dau = (a * 7 % 40) / 80
            rows.append(
                {
                    "id": f"a{a}",
                    "as_of": f"2024-0{month}-01",
                    "signals": {"usage.dau_mau": dau, "satisfaction.csat": 0.6 + (a % 5) / 20},
                    "outcome": {"churned": dau < 0.15 and month != 2, "date": None},
                }
            )
    src = tmp_path / "history.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    page = tmp_path / "report.html"
    args = ["calibrate", "--history", str(src), "--out", str(tmp_path / "m.yaml")]
    assert main([*args, "--report", str(page), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for print_media in (False, True):
        check = open_page(page, print_media=print_media)
        assert check.console_errors == []
        assert check.outside_requests == []
        assert f"AUC {report['auc']:.3f}" in check.text
        assert f"Brier {report['calibration']['brier']:.4f}" in check.text
        assert "ROC curve" in check.text and "Reliability" in check.text
        assert "Time split" in check.text and "Folds (grouped by account)" in check.text
        assert report["provenance"]["data_hash"] in check.text
        assert check.screenshot.startswith(b"\x89PNG")
