"""The risks table of a review / QBR prep lists risk playbooks only."""

from __future__ import annotations

from datetime import date

from csbridge.reports.document import Table
from csbridge.reports.sections_plan import opportunities_section
from csbridge.scoring.model import load_model
from csbridge.scoring.signals import CustomerFacts


def test_advocacy_and_expansion_episodes_are_no_risk() -> None:
    episodes = {
        "advocacy": date(2026, 11, 1),
        "churn_risk": date(2026, 11, 20),
        "expansion": date(2026, 11, 2),
    }
    section = opportunities_section(
        CustomerFacts("a.com"), "Ann", episodes, None, load_model("seed-5d"), []
    )
    risks = next(b for b in section.blocks if isinstance(b, Table) and "Since" in b.columns)
    assert risks.rows == [["Churn risk", "2026-11-20", "no task yet"]]
