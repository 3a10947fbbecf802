"""Identity resolution across systems, the unmatched report, and CRM field mapping YAML."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from csbridge.errors import CsbridgeError
from csbridge.mappings import build_index, load_field_mapping, normalise_domain
from csbridge.models import Account, SurveyResponse, Ticket, UsageDay

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def sf(id_: str, website: str | None, name: str = "x") -> Account:
    return Account(source="salesforce", id=id_, name=name, domain=normalise_domain(website))


def hs(id_: str, domain: str | None) -> Account:
    return Account(source="hubspot", id=id_, name="h", domain=domain)


def org(id_: str, external_id: str | None = None, domains: tuple[str, ...] = ()) -> Account:
    return Account(source="zendesk", id=id_, name="z", external_id=external_id, domains=domains)


def usage(key: str) -> UsageDay:
    day = date(2026, 2, 27)
    return UsageDay(
        source="mixpanel", id=UsageDay.usage_id(key, day), account_id=key, day=day, events=3
    )


def ticket(id_: str, org_id: str | None) -> Ticket:
    return Ticket(source="zendesk", id=id_, account_id=org_id, status="open", created_at=T0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.Acme.com/about", "acme.com"),
        ("acme.com.", "acme.com"),
        ("ops@beta.io", "beta.io"),
        ("http://sub.gamma.co.uk:8443", "sub.gamma.co.uk"),
        ("localhost", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_domain(raw: str | None, expected: str | None) -> None:
    assert normalise_domain(raw) == expected


def test_sandbox_join_on_domain_across_four_systems() -> None:
    index = build_index(
        [
            sf("001A", "https://acme.com", name="Acme"),
            sf("001B", "https://beta.io"),
            hs("900", "ACME.com"),
            org("7", external_id="acme.com"),
            org("8", domains=("www.beta.io",)),
            org("9", external_id="nobody.org"),
        ]
    )
    acme = index.customers["acme.com"]
    assert acme.name == "Acme"
    assert acme.ids == {"salesforce": "001A", "hubspot": "900", "zendesk": "7"}
    assert index.customers["beta.io"].ids == {"salesforce": "001B", "zendesk": "8"}
    assert index.resolve("zendesk", "8") == "beta.io"
    assert index.resolve("mixpanel", "Acme.com") == "acme.com"
    assert index.resolve("mixpanel", "unknown.com") is None
    assert index.report.lines() == [
        "zendesk accounts: 1 unmatched (no CRM account with that key), e.g. 9"
    ]


def test_facts_grouped_and_unmatched_counted_never_dropped() -> None:
    index = build_index([sf("001A", "acme.com"), org("7", external_id="acme.com")])
    tickets = [ticket("1", "7"), ticket("2", "7"), ticket("3", "99"), ticket("4", None)]
    grouped = index.group("tickets", tickets)
    assert [t.id for t in grouped["acme.com"]] == ["1", "2"]
    days = index.group("usage_days", [usage("acme.com"), *[usage(f"u{i}.com") for i in range(8)]])
    assert len(days["acme.com"]) == 1
    survey = SurveyResponse(
        source="salesforce", id="s1", kind="nps", account_id="001A", score=9, responded_at=T0
    )
    assert index.group("surveys", [survey]) == {"acme.com": [survey]}
    report = index.report
    assert report.total == 2 + 8
    by_reason = {(e.kind, e.reason): e for e in report.entries.values()}
    assert by_reason[("tickets", "account not in the CRM")].examples == ["3"]
    assert by_reason[("tickets", "no account id")].examples == ["4"]
    unknown_usage = by_reason[("usage_days", "account not in the CRM")]
    assert unknown_usage.count == 8
    assert len(unknown_usage.examples) == 5  # a few examples, not all


def test_crm_accounts_without_key_or_with_duplicates_are_reported() -> None:
    index = build_index([sf("001A", None), sf("001B", "acme.com"), sf("001C", "www.acme.com")])
    assert index.customers["acme.com"].ids == {"salesforce": "001B"}
    reasons = sorted(e.reason for e in index.report.entries.values())
    assert reasons == ["duplicate domain acme.com", "no domain"]


def test_external_id_mode() -> None:
    anchor = Account(source="hubspot", id="900", name="h", external_id="CUST-1", domain="a.com")
    index = build_index([anchor, org("7", external_id="CUST-1")], key="external_id")
    assert index.customers["CUST-1"].ids == {"hubspot": "900", "zendesk": "7"}
    assert index.resolve("mixpanel", "a.com") is None
    assert index.resolve("mixpanel", "CUST-1") == "CUST-1"


def test_deleted_accounts_are_ignored() -> None:
    gone = sf("001A", "acme.com").model_copy(update={"deleted": True})
    assert build_index([gone]).customers == {}


def test_field_mapping_defaults_for_both_crms() -> None:
    salesforce = load_field_mapping("salesforce")
    hubspot = load_field_mapping("hubspot")
    assert salesforce.identity["domain"] == "Website"
    assert hubspot.identity["domain"] == "domain"
    assert salesforce.api_name("health_score") == "Health_Score__c"
    assert hubspot.write["health_score"].type == "number"
    assert set(salesforce.write) == set(hubspot.write)
    with pytest.raises(KeyError, match="not mapped for hubspot"):
        hubspot.api_name("nope")


def test_field_mapping_override_file(tmp_path: Path) -> None:
    path = tmp_path / "sf.yaml"
    path.write_text(
        "write:\n  health_score: {api_name: CS_Health__c, type: number, label: Health}\n"
    )
    mapping = load_field_mapping("salesforce", path)
    assert mapping.api_name("health_score") == "CS_Health__c"
    assert mapping.api_name("health_status") == "Health_Status__c"  # defaults kept


def test_field_mapping_bad_override_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "sf.yaml"
    path.write_text("write:\n  health_score: {api_name: X__c, type: currency, label: H}\n")
    with pytest.raises(CsbridgeError) as info:
        load_field_mapping("salesforce", path)
    assert str(path) in str(info.value)
    assert "write.health_score.type" in str(info.value)
    assert "\n" not in str(info.value)
