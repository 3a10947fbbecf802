"""`csbridge demo` end to end: sandbox → pull → health, over real HTTP with the real SDKs."""

import re

from csbridge.cli import main


def test_demo_runs_the_job_on_the_sandbox(capsys):
    assert main(["demo", "--accounts", "40"]) == 0
    out = capsys.readouterr().out
    assert "$ csbridge pull" in out and "$ csbridge health" in out
    assert re.search(r"salesforce\.accounts\s+40 records", out)
    assert re.search(r"hubspot\.companies\s+40 records", out)
    assert "40 customers scored with seed-5d" in out
    statuses = re.search(r"by status: (.*)", out)
    assert statuses is not None
    assert sum(int(n) for n in re.findall(r"\d+", statuses.group(1))) == 40
    assert "Most at risk, and why:" in out
    matched = re.search(r"match no CRM account \(reported, not dropped\): (\d+)", out)
    assert matched is not None and int(matched.group(1)) > 0
