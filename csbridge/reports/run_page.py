"""The page of one `csbridge run` (`--report run.html`): the scores (and the models that
made them), the share of accounts on touchpoint cadence, what was written into each CRM,
what failed and why, API calls per system and the time each step took.

It reads the run's JSON report (`RunReport.as_dict()`), so the page and the JSON never
disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from csbridge.reports import labels
from csbridge.reports.document import Document, Items, Section, Table, number
from csbridge.reports.render_html import render_html
from csbridge.scoring.cadence import cadence_rows

WRITTEN = (
    ("records_updated", "Records updated"),
    ("fields_written", "Fields written"),
    ("tags_changed", "Tag changes"),
    ("tasks_created", "Tasks created"),
    ("tasks_found_existing", "Tasks found already there"),
    ("tasks_completed", "Tasks completed in the CRM (read back)"),
    ("tasks_closed", "Tasks closed by csbridge (episode ended)"),
    ("notifications_sent", "Notifications sent"),
    ("notifications_skipped", "Notifications skipped (no channel configured)"),
    ("notes_created", "Report notes attached"),
    ("notes_found_existing", "Report notes found already there"),
)
PLANNED = (
    ("records", "Records to update"),
    ("fields", "Field changes"),
    ("tags_added", "Tags to add"),
    ("tags_removed", "Tags to remove"),
    ("tasks", "Tasks to create"),
    ("notifications", "Notifications"),
)


def build_run_page(report: dict[str, Any]) -> Document:
    """The run report as a Document."""
    dry = report["dry_run"]
    outcome = "all writes landed" if report["ok"] else "some writes did not land"
    document = Document(
        "run",
        f"{'Dry run' if dry else 'Run'} {report['run_id'][:8]}: {outcome}",
        f"{report['accounts_scored']} accounts scored in {report['duration_seconds']:.1f} s",
    )
    crms = sorted(report["crm"])
    if dry:
        written = Table(
            ["Planned", *(labels.name(c) for c in crms)],
            [[text, *(str(report["crm"][c]["planned"][k]) for c in crms)] for k, text in PLANNED],
        )
    else:
        written = Table(
            ["Written", *(labels.name(c) for c in crms)],
            [[text, *(str(report["crm"][c].get(k, 0)) for c in crms)] for k, text in WRITTEN],
        )
    failures = [
        [labels.name(c), f["kind"], f["ref"], str(f.get("account_id") or "-"), f["reason"]]
        for c in crms
        for f in report["crm"][c].get("failed_records", [])
    ]
    stops = [
        f"{labels.name(c)} stopped: {report['crm'][c]['stopped']}"
        for c in crms
        if report["crm"][c].get("stopped")
    ]
    stops += [
        f"pull of {labels.name(system)} stopped: {why}"
        for system, why in sorted(report["pull"].get("stopped", {}).items())
    ]
    bands = report["bands"]
    models = [f"Scored with {m}: {n} accounts" for m, n in report.get("models", {}).items()]
    cadence = report.get("cadence")
    document.sections = [
        Section(
            "Scores",
            [
                Table(["Status", "Accounts"], [[labels.name(b), str(n)] for b, n in bands.items()]),
                Items(
                    [f"Records that joined no CRM account: {report['unmatched_records']}", *models]
                ),
            ],
        ),
        Section(
            "Touchpoint cadence",
            [
                Table(
                    ["Segment", "Accounts measured", "On cadence", "Share (target > 90 %)"],
                    [[labels.name(r[0]), *r[1:]] for r in cadence_rows(cadence)] if cadence else [],
                    empty="No account in a segment with a touchpoint cadence.",
                )
            ],
        ),
        Section("What was written" if not dry else "What would be written", [written]),
        Section(
            "What failed and why",
            [
                Table(
                    ["CRM", "Kind", "Record", "Account", "Reason"],
                    failures,
                    empty="Nothing failed.",
                ),
                Items(stops, empty="No system stopped early."),
            ],
        ),
        Section(
            "API calls per system",
            [
                Table(
                    ["System", "Calls"],
                    [[labels.name(s), str(n)] for s, n in report["api_calls"].items()],
                    empty="No API call.",
                )
            ],
        ),
        Section(
            "Time per step",
            [
                Table(
                    ["Step", "Seconds"],
                    [
                        [" ".join(labels.name(w) for w in step.split()), number(seconds, 2)]
                        for step, seconds in report.get("steps_seconds", {}).items()
                    ],
                )
            ],
        ),
    ]
    document.data = report
    return document


def write_run_report(path: Path, report: dict[str, Any]) -> None:
    """The run's report at `path`: an HTML page for .html, else the JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".html":
        text = render_html(build_run_page(report))
    else:
        text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8")
