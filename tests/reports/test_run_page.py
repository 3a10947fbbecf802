"""The run page says what failed and why; a .json path still gets the JSON."""

from __future__ import annotations

import json
from pathlib import Path

from csbridge.reports.render_md import render_md
from csbridge.reports.run_page import write_run_report

REPORT = {
    "run_id": "0123456789abcdef",
    "dry_run": False,
    "ok": False,
    "accounts_scored": 2,
    "bands": {"at_risk": 1, "healthy": 1},
    "crm": {
        "hubspot": {
            "planned": {"records": 2, "fields": 4, "tags_added": 1, "tags_removed": 0,
                        "tasks": 1, "notifications": 0},
            "records_updated": 1,
            "fields_written": 2,
            "tags_changed": 1,
            "tasks_created": 1,
            "tasks_found_existing": 0,
            "notifications_sent": 0,
            "notifications_skipped": 0,
            "failed_records": [
                {"kind": "record", "ref": "901", "account_id": "acme.com",
                 "reason": "INVALID_OPTION: cs_status has no option at_risk"}
            ],
            "stopped": "daily quota share reached",
        }
    },
    "api_calls": {"hubspot": 7, "zendesk": 3},
    "pull": {"records": 12, "stopped": {}},
    "unmatched_records": 0,
    "models": {"seed-5d (c1a2b3c4d5e6)": 1, "strategic (0f1e2d3c4b5a)": 1},
    "cadence": {"measured": 2, "on_cadence": 1, "share": 0.5, "not_measured": 0,
                "per_segment": {"high_touch": {"measured": 2, "on_cadence": 1, "share": 0.5}},
                "missed": {"qbr": 1}},
    "duration_seconds": 1.5,
    "steps_seconds": {"pull": 0.5, "score": 0.25, "write hubspot": 0.7, "history": 0.05},
}  # fmt: skip


def test_the_page_lists_each_failure_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "run.html"
    write_run_report(path, REPORT)
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "INVALID_OPTION: cs_status has no option at_risk" in html
    assert "HubSpot stopped: daily quota share reached" in html
    assert "some writes did not land" in html
    assert "<td>Write HubSpot</td><td>0.70</td>" in html
    assert "Scored with strategic (0f1e2d3c4b5a): 1 accounts" in html
    assert "<td>High Touch</td><td>2</td><td>1</td><td>50.0 %</td>" in html


def test_a_json_path_gets_the_json(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    write_run_report(path, REPORT)
    assert json.loads(path.read_text()) == REPORT


def test_markdown_of_the_page_names_the_calls_per_system() -> None:
    from csbridge.reports.run_page import build_run_page

    text = render_md(build_run_page(REPORT))
    assert "| HubSpot | 7 |" in text and "| Zendesk | 3 |" in text
