"""Task labels name the playbook and, for a step of a sequence, the step."""

import pytest

from csbridge.reports import labels


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("acme.com:churn_risk:2026-11-20", "Churn risk"),
        ("acme.com:churn_risk:2026-11-20:action_plan", "Churn risk: action plan"),
        ("acme.com:renewal:2027-05-11:180", "Renewal step: D-180"),
        ("acme.com:cadence:2026Q4:qbr", "Missed touchpoint (cadence): qbr"),
        ("acme.com:detractor:003Q000001", "NPS detractor follow-up"),
        ("acme.com:advocacy:2026-12-03:case_study", "Advocacy (Champion): case study"),
    ],
)
def test_a_task_label_names_its_playbook_and_step(key: str, label: str) -> None:
    assert labels.task(key) == label


def test_acronyms_stay_capitals() -> None:
    names = [labels.name(v) for v in ("qbr", "check_in", "hubspot")]
    assert names == ["QBR", "Check In", "HubSpot"]
