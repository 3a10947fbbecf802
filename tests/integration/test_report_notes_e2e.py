"""End to end: `reports.crm_notes` attaches the review and the QBR prep to every account
as a note, through the real SDKs against the sandbox, read back through the CRMs' own APIs
(simple-salesforce: ContentDocumentLink and the ContentNote blob; hubspot-api-client:
notes search and v4 associations). A rerun in the same period creates none; the next
month creates one review each; a crash between create and record duplicates nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hubspot import HubSpot
from hubspot.crm.objects.notes import Filter, FilterGroup, PublicObjectSearchRequest

from csbridge.cli import main
from csbridge.config import load_config
from csbridge.connectors.salesforce.client import salesforce_client
from csbridge.connectors.salesforce.streams import open_salesforce
from csbridge.models import Account, Activity
from csbridge.reports.periods import month_of, quarter_of
from csbridge.reports.source import ReportSource
from csbridge.scoring.activity_signals import engaging
from csbridge.store.store import open_store
from csbridge.sync import notes as notes_step
from csbridge_sandbox.runner import Sandbox, run_sandbox

ACCOUNTS = 12
REVIEW_SECTIONS = (
    "1. Overview",
    "2. Health score",
    "3. Satisfaction",
    "4. Adoption and usage",
    "5. Success plan progress",
    "6. Relationship map",
    "7. Opportunities and risks",
    "8. Actions and next steps",
)


@pytest.fixture()
def prepared(tmp_path: Path) -> Iterator[tuple[Sandbox, Path, datetime]]:
    with run_sandbox(port_base=0, accounts=ACCOUNTS, seed=5, rate_limits="off") as sandbox:
        config = sandbox.write_config(tmp_path / "csbridge.yaml")
        data = yaml.safe_load(config.read_text())
        data["database_url"] = f"sqlite:///{tmp_path / 'state.db'}"
        data["crm"]["hubspot"] = {"task_lookup_delay": 0}
        data["reports"] = {"crm_notes": {"review": "monthly", "qbr": "quarterly"}}
        config.write_text(yaml.safe_dump(data))
        assert main(["init-crm", "--config", str(config)]) == 0
        yield sandbox, config, sandbox.world.now


def run(config: Path, now: datetime, tmp: Path) -> dict[str, Any]:
    path = tmp / "report.json"
    code = main(["run", "--config", str(config), "--now", now.isoformat(), "--report", str(path)])
    report: dict[str, Any] = json.loads(path.read_text())
    assert code == 0, report["crm"]
    return report


def salesforce_notes(config: Path, account_ids: list[str]) -> tuple[list[dict[str, Any]], Any]:
    settings = load_config(config)
    assert settings.sources.salesforce is not None
    sf = open_salesforce(
        settings.sources.salesforce, salesforce_client(settings.sources.salesforce, settings.http)
    )
    listed = ", ".join(f"'{i}'" for i in account_ids)
    soql = (
        "SELECT ContentDocumentId, LinkedEntityId, ShareType, Visibility, ContentDocument.Title "
        f"FROM ContentDocumentLink WHERE LinkedEntityId IN ({listed})"
    )
    return sf.query_all(soql)["records"], sf


def hubspot_notes(sandbox: Sandbox) -> list[Any]:
    client = HubSpot(access_token="pat-na1-sandbox", host=sandbox.urls["hubspot"])
    wanted = Filter(property_name="csbridge_note_key", operator="HAS_PROPERTY")
    request = PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[wanted])],
        properties=["csbridge_note_key", "hs_note_body"],
        limit=100,
    )
    found: list[Any] = []
    while True:
        page = client.crm.objects.notes.search_api.do_search(request)
        found += page.results
        if page.paging is None or page.paging.next is None:
            return found
        request.after = page.paging.next.after


def accounts_in(config: Path, source: str) -> dict[str, str]:
    store = open_store(yaml.safe_load(config.read_text())["database_url"])
    try:
        return {a.id: a.name or "" for a in store.load(Account, source=source) if not a.deleted}
    finally:
        store.close()


def test_notes_land_once_per_period_in_both_crms(
    prepared: tuple[Sandbox, Path, datetime], tmp_path: Path
) -> None:
    sandbox, config, now = prepared
    first = run(config, now, tmp_path)
    sf_accounts, hs_accounts = accounts_in(config, "salesforce"), accounts_in(config, "hubspot")
    assert first["crm"]["salesforce"]["notes_created"] == 2 * len(sf_accounts) > 0
    assert first["crm"]["hubspot"]["notes_created"] == 2 * len(hs_accounts) > 0

    # Salesforce: one review and one QBR prep linked to each account, shared as inferred
    links, sf = salesforce_notes(config, list(sf_accounts))
    titles = Counter((r["LinkedEntityId"], r["ContentDocument"]["Title"]) for r in links)
    month, quarter = month_of(now.date()).label, quarter_of(now.date()).label
    for account_id, name in sf_accounts.items():
        assert titles[(account_id, f"Customer Success Review — {name} — {month}")] == 1
        assert titles[(account_id, f"QBR Prep — {name} — {quarter}")] == 1
    assert {(r["ShareType"], r["Visibility"]) for r in links} == {("I", "InternalUsers")}
    review = next(r for r in links if r["ContentDocument"]["Title"].startswith("Customer"))
    url = f"{sf.base_url}sobjects/ContentNote/{review['ContentDocumentId']}/Content"
    body = sf.session.get(url, headers=sf.headers, timeout=10).content.decode()
    assert all(f"<h2>{s}</h2>" in body for s in REVIEW_SECTIONS), body[:300]
    assert "\n" not in body and "<script" not in body

    # HubSpot: each note keyed and associated with its company (v4 associations)
    notes = hubspot_notes(sandbox)
    keys = Counter(n.properties["csbridge_note_key"] for n in notes)
    assert len(keys) == 2 * len(hs_accounts) and set(keys.values()) == {1}
    client = HubSpot(access_token="pat-na1-sandbox", host=sandbox.urls["hubspot"])
    linked = set()
    for note in notes:
        page = client.crm.associations.v4.basic_api.get_page("notes", note.id, "companies")
        linked |= {str(r.to_object_id) for r in page.results}
    assert linked == set(hs_accounts)
    reviews = [n for n in notes if f":note-review:{month}" in n.properties["csbridge_note_key"]]
    assert all(f"<h2>{s}</h2>" in reviews[0].properties["hs_note_body"] for s in REVIEW_SECTIONS)

    # the notes' keys are in the ledger beside the tasks, yet no report lists them as tasks
    source = ReportSource(load_config(config), now)
    listed = source.tasks()
    source.close()
    assert listed and not [t for t in listed if ":note-" in t.key]

    # Rerun in the same period: nothing created, and not one note call is made
    for vendor in ("salesforce", "hubspot"):
        sandbox.control(vendor).reset_stats()
    again = run(config, now, tmp_path)
    for target in ("salesforce", "hubspot"):
        assert again["crm"][target]["notes_created"] == 0
        assert again["crm"][target]["notes_found_existing"] == 0
        assert sandbox.control(target).stats()["writes"] == 0

    # The next month: one new review per account (and a QBR prep if the quarter turned)
    later = now + timedelta(days=31)
    new = 1 + (quarter_of(later.date()).label != quarter)
    again = run(config, later, tmp_path)
    assert again["crm"]["salesforce"]["notes_created"] == new * len(sf_accounts)
    assert again["crm"]["hubspot"]["notes_created"] == new * len(hs_accounts)
    assert len(hubspot_notes(sandbox)) == (2 + new) * len(hs_accounts)
    links, _ = salesforce_notes(config, list(sf_accounts))
    assert len(links) == (2 + new) * len(sf_accounts)

    # the pull of the last run read csbridge's HubSpot notes back: keyed, never engagement
    store = open_store(yaml.safe_load(config.read_text())["database_url"])
    pulled = [a for a in store.load(Activity, source="hubspot") if a.kind == "note"]
    store.close()
    ours = [a for a in pulled if a.csbridge_key and ":note-" in a.csbridge_key]
    assert len(ours) == 2 * len(hs_accounts)
    assert not {a.id for a in ours} & {a.id for a in engaging(pulled)}


class Crash(BaseException):
    """The process dying between the CRM's answer and the ledger write."""


def test_a_crash_between_create_and_record_duplicates_nothing(
    prepared: tuple[Sandbox, Path, datetime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, config, now = prepared
    real = notes_step.split_on_rejection

    def create_then_die(*args: Any) -> Any:
        real(*args)  # the notes exist in the CRM now...
        raise Crash  # ...and the run dies before recording them

    monkeypatch.setattr(notes_step, "split_on_rejection", create_then_die)
    with pytest.raises(Crash):
        main(["run", "--config", str(config), "--now", now.isoformat()])
    monkeypatch.undo()
    sf_accounts, hs_accounts = accounts_in(config, "salesforce"), accounts_in(config, "hubspot")
    report = run(config, now, tmp_path)
    # the crash came at the first Salesforce batch: those notes are adopted, the rest made
    made = report["crm"]["salesforce"]
    assert made["notes_found_existing"] > 0
    assert made["notes_found_existing"] + made["notes_created"] == 2 * len(sf_accounts)
    assert report["crm"]["hubspot"]["notes_created"] == 2 * len(hs_accounts)
    links, _ = salesforce_notes(config, list(sf_accounts))
    assert len(links) == 2 * len(sf_accounts)
    assert len({(r["LinkedEntityId"], r["ContentDocument"]["Title"]) for r in links}) == len(links)
    assert len(hubspot_notes(sandbox)) == 2 * len(hs_accounts)


def test_hubspot_crash_is_adopted_too(
    prepared: tuple[Sandbox, Path, datetime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, config, now = prepared
    data = yaml.safe_load(config.read_text())
    data["reports"]["crm_notes"]["crms"] = ["hubspot"]
    config.write_text(yaml.safe_dump(data))
    real = notes_step.split_on_rejection

    def create_then_die(*args: Any) -> Any:
        real(*args)
        raise Crash

    monkeypatch.setattr(notes_step, "split_on_rejection", create_then_die)
    with pytest.raises(Crash):
        main(["run", "--config", str(config), "--now", now.isoformat()])
    monkeypatch.undo()
    hs_accounts = accounts_in(config, "hubspot")
    report = run(config, now, tmp_path)
    made = report["crm"]["hubspot"]
    assert made["notes_found_existing"] == min(100, 2 * len(hs_accounts))
    assert made["notes_found_existing"] + made["notes_created"] == 2 * len(hs_accounts)
    assert "notes_created" not in report["crm"]["salesforce"]
    assert len(hubspot_notes(sandbox)) == 2 * len(hs_accounts)


def test_a_bad_notes_setting_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "csbridge.yaml"
    config.write_text(
        "crm: {targets: [salesforce]}\nreports: {crm_notes: {review: weekly}}\n", encoding="utf-8"
    )
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert "reports.crm_notes.review" in err and "'monthly'" in err, err
    config.write_text(
        "crm: {targets: [salesforce]}\nreports: {crm_notes: {review: monthly, crms: [hubspot]}}\n",
        encoding="utf-8",
    )
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"csbridge: error: {config}: reports.crm_notes.crms: hubspot is not in crm.targets; "
        "add it there or leave it out"
    )
