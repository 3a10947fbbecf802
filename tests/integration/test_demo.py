"""`csbridge demo` end to end: sandbox → init-crm → run on both CRMs → accounts read back
from each CRM's API, over real HTTP with the real SDKs."""

import re

from csbridge.cli import main


def test_demo_runs_the_job_and_shows_the_crm(capsys):
    assert main(["demo", "--accounts", "40"]) == 0
    out = capsys.readouterr().out
    assert "$ csbridge init-crm" in out and "$ csbridge run" in out
    assert re.search(r"init-crm: \d+ created, 0 updated", out)
    assert "40 accounts scored" in out and "All writes landed." in out
    for crm in ("salesforce", "hubspot"):
        line = re.search(rf"  {crm}: (\d+) records updated.*, (\d+) failed", out)
        assert line is not None and int(line.group(1)) == 40 and line.group(2) == "0"
    assert "In Salesforce (SOQL" in out and "In HubSpot (CRM search" in out
    # the accounts shown carry a score, a status and at least one csbridge task
    shown = re.findall(r"health ([\d.]+) \((\w+)\)", out)
    assert len(shown) == 6
    assert len(re.findall(r"      task due \d{4}-\d\d-\d\d: ", out)) >= 6
