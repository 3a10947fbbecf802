"""The debrief's activities of the day and the QBR prep's next QBR, on hand-built facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from csbridge.models import Activity, Contact
from csbridge.reports.debrief import activities_section
from csbridge.reports.document import Table
from csbridge.reports.sections_plan import next_qbrs
from csbridge.reports.source import CompletedTask
from csbridge.scoring.signals import CustomerFacts

NOW = datetime(2026, 12, 3, 17, tzinfo=UTC)
MORNING = datetime(2026, 12, 3, 9, tzinfo=UTC)


def act(kind: str, at: datetime, **extra: object) -> Activity:
    return Activity(
        source="salesforce", id=f"{kind}-{at.isoformat()}", kind=kind, occurred_at=at, **extra
    )  # type: ignore[arg-type]


@dataclass
class Source:
    """What `activities_section` reads of a `ReportSource`."""

    now: datetime = NOW
    logged: list[tuple[str, Activity]] = field(default_factory=list)
    completed: list[CompletedTask] = field(default_factory=list)
    asked: list[tuple[datetime, datetime]] = field(default_factory=list)

    def activities(self, start: datetime, end: datetime) -> list[tuple[str, Activity]]:
        self.asked.append((start, end))
        return self.logged

    def completed_tasks(self, start: datetime, end: datetime) -> list[CompletedTask]:
        return self.completed


def test_the_days_calls_emails_and_meetings_per_account_and_the_tasks_completed() -> None:
    source = Source(
        logged=[
            ("a.com", act("call", MORNING)),
            ("a.com", act("email", MORNING, direction="outbound")),
            ("a.com", act("email", MORNING, direction="inbound")),
            ("a.com", act("meeting", MORNING)),
            ("b.com", act("call", MORNING)),
            ("b.com", act("note", MORNING)),  # a note is no call, e-mail or meeting
            ("z.com", act("call", MORNING)),  # another CSM's account
        ],
        completed=[
            CompletedTask("a.com:churn_risk:2026-11-20:call", "hubspot", "Ann", MORNING),
            CompletedTask("z.com:detractor:r1", "salesforce", "Zed", MORNING),
        ],
    )
    section = activities_section(source, {"a.com": "Acme", "b.com": "Beta"})  # type: ignore[arg-type]
    assert source.asked == [(datetime(2026, 12, 3, tzinfo=UTC), datetime(2026, 12, 4, tzinfo=UTC))]
    logged, done = section.blocks
    assert isinstance(logged, Table) and isinstance(done, Table)
    assert logged.rows == [["Acme", "1", "1", "1", "1"], ["Beta", "1", "0", "0", "0"]]
    assert done.rows == [["Acme", "Churn risk: call", "HubSpot", "Ann"]]


def test_a_quiet_day_says_so() -> None:
    section = activities_section(Source(), {"a.com": "Acme"})  # type: ignore[arg-type]
    logged, done = section.blocks
    assert isinstance(logged, Table) and logged.rows == [] and "No call" in logged.empty
    assert isinstance(done, Table) and done.rows == [] and "No csbridge task" in done.empty


def test_the_next_qbrs_are_the_coming_meetings_named_so_soonest_first() -> None:
    soon, later = NOW + timedelta(days=9), NOW + timedelta(days=40)
    facts = CustomerFacts(
        "a.com",
        contacts=[Contact(source="salesforce", id="c1", name="Dana Exec")],
        activities=[
            act("meeting", later, subject="Business review H1"),
            act("meeting", soon, subject="QBR Q1", contact_id="c1"),
            act("meeting", NOW - timedelta(days=80), subject="QBR Q4"),  # held: past
            act("meeting", soon, subject="Weekly sync"),  # not a QBR
            act("call", soon, subject="QBR prep call"),  # not a meeting
            act("meeting", soon, subject="QBR", csbridge_key="a.com:note"),  # csbridge's own
        ],
    )
    assert next_qbrs(facts, NOW) == [
        ["2026-12-12", "QBR Q1", "Dana Exec"],
        ["2027-01-12", "Business review H1", "-"],
    ]
