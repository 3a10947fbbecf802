"""Touchpoint cadence per segment (seed 002, "Cadence de Touchpoints"). Pure.

Each touch segment has touchpoints (check-in call, proactive email, QBR, executive
touchpoint ...), each due once per period (`every`) and met by the CRM activities it
counts:

| counts | a CRM activity that is |
| --- | --- |
| `call` | a call (either direction) |
| `meeting` | a meeting that was held (not no-show / cancelled) |
| `email` | an email we sent (outbound, or of unknown direction) |
| `qbr` | a meeting held whose subject or type names a QBR / business review |
| `executive` | a call or a meeting held with a C-level / VP contact (or a sponsor) |

Activities csbridge created itself and deleted ones never count (`engaging`). A
touchpoint is met when its latest counted activity falls within its period's length
(a week 7 days, a quarter 92 ...) before today; an account younger than that is not due
yet. A missed touchpoint is reported, and, with `create_tasks`, asks for one task per
calendar period (`{account}:cadence:{period}:{touchpoint}`, e.g. `2026Q4:qbr`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from csbridge.models import Activity, Contact
from csbridge.scoring.activity_signals import QBR, engaging, held
from csbridge.scoring.rules_steps import Assignee
from csbridge.scoring.rules_templates import check_template
from csbridge.scoring.signal_types import CustomerFacts

Every = Literal["week", "fortnight", "month", "quarter", "half_year", "year"]
Counts = Literal["call", "meeting", "email", "qbr", "executive"]
WINDOW_DAYS: Mapping[str, int] = {
    "week": 7,
    "fortnight": 14,
    "month": 31,
    "quarter": 92,
    "half_year": 183,
    "year": 366,
}
EXECUTIVE_SENIORITY = frozenset({"executive", "vp"})


class Touchpoint(BaseModel):
    """One recurring touchpoint of a segment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    every: Every
    counts: tuple[Counts, ...] = Field(min_length=1)
    assignee: Assignee = "owner"
    due_days: int = Field(7, ge=0, le=365)
    subject: str
    description: str = ""

    @field_validator("subject", "description")
    @classmethod
    def _template(cls, text: str) -> str:
        return check_template(text)


class Cadence(BaseModel):
    """`cadence:` of the rules file: touchpoints per segment; `aliases` maps other
    segment names (e.g. `arr-tier`'s `strategic`) onto a segment listed here. A
    touchpoint set to null is dropped; a segment with none (tech touch) is only
    reached by the triggered playbooks and is not measured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    create_tasks: bool = False
    segments: dict[str, dict[str, Touchpoint | None]] = Field(default_factory=dict)
    aliases: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _aliases_known(self) -> Cadence:
        for alias, target in self.aliases.items():
            if target not in self.segments:
                raise ValueError(
                    f"aliases.{alias}: {target!r} is not a segment under cadence.segments "
                    f"({', '.join(self.segments)})"
                )
        return self

    def touchpoints(self, segment: str | None) -> tuple[str, dict[str, Touchpoint]] | None:
        """The cadence segment of a touch segment and its touchpoints; None without any."""
        if segment is None:
            return None
        name = self.aliases.get(segment, segment)
        points = {k: v for k, v in self.segments.get(name, {}).items() if v is not None}
        return (name, points) if points else None


@dataclass(frozen=True, slots=True)
class CadenceStatus:
    """One account's cadence: its cadence segment and the touchpoints it missed."""

    segment: str
    missed: tuple[str, ...]
    measured: tuple[str, ...]

    @property
    def on_cadence(self) -> bool:
        return not self.missed

    def as_dict(self) -> dict[str, object]:
        """What the score history keeps (the portfolio report reads it back)."""
        return {"segment": self.segment, "missed": list(self.missed)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CadenceStatus:
        missed = data.get("missed")
        names = tuple(str(m) for m in missed) if isinstance(missed, list) else ()
        return cls(str(data.get("segment")), names, ())


def last_touches(
    activities: Sequence[Activity], contacts: Sequence[Contact], now: datetime
) -> dict[str, datetime]:
    """The latest activity of each kind a touchpoint counts (`counts`), up to `now`."""
    executives = {
        c.id
        for c in contacts
        if c.seniority in EXECUTIVE_SENIORITY or "executive_sponsor" in c.roles
    }
    latest: dict[str, datetime] = {}
    for act in engaging(activities):
        at = act.occurred_at
        if at is None or at > now:
            continue
        for kind in _kinds(act, executives):
            if kind not in latest or at > latest[kind]:
                latest[kind] = at
    return latest


def _kinds(act: Activity, executives: set[str]) -> list[str]:
    if act.kind == "call":
        kinds = ["call"]
    elif act.kind == "meeting" and held(act):
        kinds = ["meeting"]
        if QBR.search(act.subject or "") or QBR.search(act.subtype or ""):
            kinds.append("qbr")
    elif act.kind == "email" and act.direction != "inbound":
        return ["email"]
    else:
        return []
    if act.contact_id is not None and act.contact_id in executives:
        kinds.append("executive")
    return kinds


def cadence_status(
    config: Cadence,
    segment: str | None,
    touches: Mapping[str, datetime],
    started: date | None,
    today: date,
) -> CadenceStatus | None:
    """The account's cadence today; None when its segment has no touchpoints."""
    found = config.touchpoints(segment)
    if found is None:
        return None
    name, points = found
    missed = []
    for key, point in points.items():
        window = WINDOW_DAYS[point.every]
        since = today - timedelta(days=window)
        if started is not None and started > since:
            continue  # a younger account is not due yet
        seen = [touches[c].date() for c in point.counts if c in touches]
        if not seen or max(seen) <= since:
            missed.append(key)
    return CadenceStatus(name, tuple(missed), tuple(points))


def customer_cadence(
    config: Cadence, segment: str | None, facts: CustomerFacts, now: datetime
) -> CadenceStatus | None:
    """`cadence_status` of one customer from its stored facts (as the rules see it)."""
    account = facts.accounts[0] if facts.accounts else None
    started = account.created_at.date() if account and account.created_at else None
    touches = last_touches(facts.activities, facts.contacts, now)
    return cadence_status(config, segment, touches, started, now.date())


def period_label(every: str, today: date) -> str:
    """The calendar period containing `today`: 2026-W49, 2026-F25, 2026-12, 2026Q4,
    2026H2, 2026."""
    year, week, _ = today.isocalendar()
    if every == "week":
        return f"{year}-W{week:02d}"
    if every == "fortnight":
        return f"{year}-F{(week + 1) // 2:02d}"
    if every == "month":
        return f"{today.year}-{today.month:02d}"
    if every == "quarter":
        return f"{today.year}Q{(today.month - 1) // 3 + 1}"
    if every == "half_year":
        return f"{today.year}H{1 if today.month <= 6 else 2}"
    return str(today.year)


def share_on_cadence(statuses: Sequence[CadenceStatus | None]) -> dict[str, Any]:
    """The report's cadence figures: measured accounts, those on cadence and their share,
    overall and per cadence segment, and the accounts missing each touchpoint."""
    measured = [s for s in statuses if s is not None]
    per_segment: dict[str, list[CadenceStatus]] = {}
    missed: dict[str, int] = {}
    for status in measured:
        per_segment.setdefault(status.segment, []).append(status)
        for key in status.missed:
            missed[key] = missed.get(key, 0) + 1
    return {
        **_share(measured),
        "not_measured": len(statuses) - len(measured),
        "per_segment": {k: _share(v) for k, v in sorted(per_segment.items())},
        "missed": dict(sorted(missed.items())),
    }


def cadence_rows(summary: Mapping[str, Any]) -> list[list[str]]:
    """`share_on_cadence`'s figures as table rows: segment, measured, on cadence, share."""
    rows = [["all", *_cells(summary)]]
    rows += [[name, *_cells(s)] for name, s in summary["per_segment"].items()]
    return rows


def _cells(share: Mapping[str, Any]) -> list[str]:
    value = share["share"]
    shown = "-" if value is None else f"{100 * value:.1f} %"
    return [str(share["measured"]), str(share["on_cadence"]), shown]


def _share(statuses: Sequence[CadenceStatus]) -> dict[str, Any]:
    on = sum(1 for s in statuses if s.on_cadence)
    return {
        "measured": len(statuses),
        "on_cadence": on,
        "share": round(on / len(statuses), 4) if statuses else None,
    }
