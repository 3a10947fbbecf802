"""The CSM Daily Debrief (seed 002's output template) for one owner, or the whole team.

Portfolio overview, the day's alerts and the tasks csbridge created for them, tomorrow's
priorities (health drops, renewals close, accounts at risk), then the CSM metrics of the
book: health distribution, NPS / CSAT / CES, load. Calls, e-mails and notes come from
sources csbridge does not read; the debrief says so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta

from csbridge.errors import CsbridgeError
from csbridge.reports import labels, metrics
from csbridge.reports.definitions import DEFINITIONS
from csbridge.reports.document import Document, Items, Missing, Section, Table, money, number
from csbridge.reports.portfolio_data import AccountLine, gather
from csbridge.reports.portfolio_sections import health_section, load_section, satisfaction_section
from csbridge.reports.source import ReportSource, TaskRow

DROP_POINTS = 15
RENEWAL_DAYS = 30
PRIORITIES = 5


def resolve_owner(source: ReportSource, text: str) -> str:
    """The owner's display name (as the reports show it) from an e-mail, a CRM id or a name."""
    wanted = text.strip().lower()
    for owner in source.owners.values():
        if wanted in {(owner.email or "").lower(), owner.id.lower(), (owner.name or "").lower()}:
            return owner.name or owner.email or owner.id
    raise CsbridgeError(
        f"--owner {text!r}: no such account owner in the store; give an owner's e-mail, "
        "CRM user id or full name"
    )


def priorities(lines: list[AccountLine], today: date, threshold: float) -> list[str]:
    """Tomorrow's priorities, most urgent first: health drops, renewals close, accounts
    scored below the churn-risk threshold."""
    ranked: list[tuple[int, float, str]] = []
    for line in lines:
        if line.score is not None and line.score_30d_ago is not None:
            drop = line.score_30d_ago - line.score
            if drop >= DROP_POINTS:
                ranked.append(
                    (0, -drop, f"{line.name} - health dropped {drop:.0f} points in 30 days "
                     f"({line.score_30d_ago:.0f} → {line.score:.0f})")
                )  # fmt: skip
        if line.renewal is not None and 0 <= (line.renewal - today).days <= RENEWAL_DAYS:
            days = (line.renewal - today).days
            ranked.append((1, days, f"{line.name} - renewal in {days} days ({line.renewal})"))
    worst = [line for line in lines if line.score is not None and line.score < threshold]
    worst.sort(key=lambda line: line.score or 0.0)
    for line in worst[:PRIORITIES]:
        ranked.append(
            (
                2,
                line.score or 0.0,
                f"{line.name} - {labels.name(line.band)}, score {line.score:.0f}",
            )
        )
    seen: set[str] = set()
    out = []
    for _, _, text in sorted(ranked):
        name = text.split(" - ")[0]
        if name not in seen:
            seen.add(name)
            out.append(text)
    return out[:PRIORITIES]


def activities_section(source: ReportSource, names: dict[str, str]) -> Section:
    """The day's calls, e-mails and meetings logged on the book's accounts (CRM activities),
    and csbridge's tasks the CSMs completed that day (as the runs read them back)."""
    start = datetime.combine(source.now.date(), time(), UTC)
    end = start + timedelta(days=1)
    counts: dict[str, Counter[str]] = {}
    for key, activity in source.activities(start, end):
        if key in names and activity.kind in ("call", "email", "meeting"):
            inbound = activity.kind == "email" and activity.direction == "inbound"
            kind = "email_in" if inbound else activity.kind
            counts.setdefault(key, Counter())[kind] += 1
    logged = [
        [names[key], *(str(c[kind]) for kind in ("call", "email", "email_in", "meeting"))]
        for key, c in sorted(counts.items(), key=lambda item: names[item[0]].lower())
    ]
    done = [
        [
            names[key],
            labels.task(task.key),
            labels.name(task.target),
            task.completed_by or "-",
        ]
        for task in source.completed_tasks(start, end)
        if (key := task.key.split(":")[0]) in names
    ]
    return Section(
        "Activities of the day",
        [
            Table(
                ["Client", "Calls", "E-mails sent", "E-mails received", "Meetings"],
                logged,
                empty="No call, e-mail or meeting logged in the CRMs today on these accounts.",
            ),
            Table(
                ["Client", "Task (playbook)", "CRM", "Completed by"],
                done,
                empty="No csbridge task was seen completed today (read back by the runs).",
            ),
        ],
    )


def build_debrief(source: ReportSource, owner: str | None) -> Document:
    """The debrief of `owner`'s book (every account without an owner) for `source.now`'s day."""
    today = source.now.date()
    threshold = source.rules.rules.churn_risk.below
    facts = gather(source)
    lines = [line for line in facts.lines.values() if owner is None or line.owner == owner]
    if owner is not None and not lines:
        raise CsbridgeError(f"--owner {owner!r}: owns no account in the store")
    keys = {line.key for line in lines}
    names = {line.key: line.name for line in lines}
    currency = next((line.currency for line in lines if line.currency), None)
    scores = [line.score for line in lines if line.score is not None]
    today_tasks: dict[str, list[TaskRow]] = {}
    for task in source.tasks(keys):
        if task.created_at.date() == today:
            today_tasks.setdefault(task.key, []).append(task)
    alerts = [
        [
            names[key.split(":")[0]],
            labels.task(key),
            "task in " + " and ".join(sorted(labels.name(t.target) for t in rows)),
            ", ".join(sorted({t.status for t in rows})),
        ]
        for key, rows in today_tasks.items()
    ]
    who = owner or "all owners"
    document = Document("debrief", f"CSM Daily Debrief - {today.isoformat()}", f"{who}")
    document.sections = [
        Section(
            "Portfolio overview",
            [
                Table(
                    ["Accounts managed", "Total ARR", "Mean health"],
                    [
                        [
                            str(len(lines)),
                            money(sum(line.arr for line in lines), currency),
                            number(sum(scores) / len(scores) if scores else None),
                        ]
                    ],
                )
            ],
        ),
        activities_section(source, names),
        Section(
            "Alerts handled",
            [
                Table(
                    ["Client", "Alert", "Action", "Status"],
                    alerts,
                    empty="No alert raised a task today.",
                )
            ],
        ),
        Section(
            "Tomorrow - priorities",
            [Items(priorities(lines, today, threshold), numbered=True, empty="Nothing urgent.")],
        ),
        Section(
            "Notes and escalations",
            [Missing("Notes", "the CSM's own notes (CRM notes on the accounts) would fill it")],
        ),
        health_section(lines, facts, source.model),
        satisfaction_section(lines, facts.answers),
        load_section(lines, currency),
    ]
    document.data = {
        "date": today.isoformat(),
        "owner": owner,
        "accounts": len(lines),
        "arr": sum(line.arr for line in lines),
        "mean_health": sum(scores) / len(scores) if scores else None,
        "alerts": len(alerts),
        "surveys": asdict(metrics.surveys(a for k, a in facts.answers if k in keys)),
    }
    document.definitions = {
        k: DEFINITIONS[k] for k in ("health_distribution", "nps", "csat", "ces", "csm_load")
    }
    return document
