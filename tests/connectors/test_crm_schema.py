"""init-crm's pure part (wanted fields, steps) and the connectors' request bodies; the
Salesforce Tooling answers a sandbox cannot give (refusal, picklist update, External ID
refused) through `responses`."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import yaml

from csbridge.cli import main
from csbridge.commands.init_crm import TargetResult, outcome_error
from csbridge.config import HttpSettings, HubspotSettings, SalesforceSettings
from csbridge.connectors.crm_schema import (
    ExistingField,
    Step,
    WantedField,
    answer_refusals,
    diff,
    option_label,
    wanted_schema,
)
from csbridge.connectors.hubspot.client import hubspot_client
from csbridge.connectors.hubspot.schema import HubspotSchema, field_type, property_body
from csbridge.connectors.salesforce.client import classify_salesforce, salesforce_client
from csbridge.connectors.salesforce.schema import SalesforceSchema, metadata, setup_steps
from csbridge.errors import CsbridgeError
from csbridge.http.client import ApiClient
from csbridge.http.errors import Ok, QuotaExhausted, Retry, SimpleResponse, Verdict
from csbridge.mappings.fields import load_field_mapping
from csbridge.scoring import load_model

BANDS = ("at_risk", "attention", "healthy", "champion")
SEGMENTS = ("high_touch", "low_touch", "high_touch", "tech_touch", "mid_touch")
TAGS = ("Promoter", "Churn Risk")
SF = "https://acme.my.salesforce.example"
API = f"{SF}/services/data/v62.0"


def sf_wanted(segments: tuple[str, ...] | None = SEGMENTS) -> list[WantedField]:
    schema = wanted_schema(load_field_mapping("salesforce"), BANDS, segments, TAGS)
    assert schema.groups == ()
    return list(schema.fields)


def existing(fields: list[WantedField]) -> list[ExistingField]:
    return [ExistingField(f.object, f.name, f.type, f.options) for f in fields]


def test_wanted_fields_take_values_from_model_and_rules() -> None:
    fields = {f.name: f for f in sf_wanted()}
    assert len(fields) == 19
    for attribute in ("Strategic_Fit__c", "Expansion_Potential__c"):  # read, for CSMs
        assert fields[attribute].type == "picklist"
        assert fields[attribute].options == ("high", "medium", "low")
    quality, community = fields["Relationship_Quality__c"], fields["Community_Level__c"]
    assert quality.options == ("excellent", "good", "neutral", "difficult")
    assert community.options == ("active", "contributor", "lurker", "none")
    for number in ("Referrals_12m__c", "Days_Past_Due__c"):  # read: CSMs, billing
        assert (fields[number].type, fields[number].options) == ("number", ())
    assert fields["Health_Status__c"].options == BANDS
    assert fields["NPS_Category__c"].options == ("detractor", "passive", "promoter")
    assert fields["CS_Segment__c"].options == ("high_touch", "low_touch", "tech_touch", "mid_touch")
    assert fields["CS_Tags__c"].type == "multipicklist" and fields["CS_Tags__c"].options == TAGS
    key = fields["Csbridge_Key__c"]
    assert (key.object, key.type, key.key) == ("Task", "text", True)
    assert fields["Health_Score__c"].options == () and not fields["Health_Score__c"].key


def test_segment_is_text_without_a_segment_matrix() -> None:
    segment = next(f for f in sf_wanted(None) if f.name == "CS_Segment__c")
    assert segment.type == "text" and segment.options == () and "segment" in segment.note


def test_hubspot_wants_its_group_on_companies_tasks_and_notes() -> None:
    schema = wanted_schema(load_field_mapping("hubspot"), BANDS, SEGMENTS, TAGS)
    assert schema.groups == (
        ("companies", "csbridge"),
        ("tasks", "csbridge"),
        ("notes", "csbridge"),
    )
    assert {f.object for f in schema.fields} == {"companies", "tasks", "notes"}
    note_key = next(f for f in schema.fields if f.object == "notes")
    assert (note_key.name, note_key.key) == ("csbridge_note_key", True)


def test_unknown_picklist_or_no_tags_is_an_error_naming_the_field(tmp_path: Path) -> None:
    override = tmp_path / "mapping.yaml"
    override.write_text(
        "write:\n  tier: {api_name: Tier__c, type: picklist, label: Tier}\n", encoding="utf-8"
    )
    with pytest.raises(CsbridgeError, match=r"write\.tier: .* map it as type text"):
        wanted_schema(load_field_mapping("salesforce", override), BANDS, None, TAGS)
    with pytest.raises(CsbridgeError, match=r"write\.tags: .*owned_tags"):
        wanted_schema(load_field_mapping("salesforce"), BANDS, None, ())


def test_diff_creates_what_is_missing_then_nothing() -> None:
    wanted = wanted_schema(load_field_mapping("hubspot"), BANDS, SEGMENTS, TAGS)
    first = diff(wanted, [], [])
    assert [s.action for s in first] == ["create"] * 23  # 3 groups, 20 properties
    assert [s.kind for s in first[:3]] == ["group", "group", "group"]
    again = diff(wanted, wanted.groups, existing(list(wanted.fields)))
    assert {s.action for s in again} == {"ok"}


def test_diff_adds_only_missing_values_and_keeps_others() -> None:
    fields = sf_wanted()
    have = existing(fields)
    tags = next(i for i, f in enumerate(have) if f.name == "CS_Tags__c")
    # the CRM has one tag csbridge wants and one it no longer owns; names differ in case
    have[tags] = ExistingField("account", "cs_tags__C", "multipicklist", ("Promoter", "Old"))
    steps = diff(wanted_schema(load_field_mapping("salesforce"), BANDS, SEGMENTS, TAGS), [], have)
    changed = [s for s in steps if s.action != "ok"]
    assert [(s.action, s.name, s.add) for s in changed] == [
        ("update", "CS_Tags__c", ("Churn Risk",))
    ]


def test_diff_reports_a_wrong_type_or_a_read_only_field_as_conflict() -> None:
    fields = sf_wanted()
    have = existing(fields)
    have[0] = ExistingField("Account", "Health_Score__c", "text")
    have[1] = ExistingField("Account", "Health_Status__c", "picklist", BANDS, writable=False)
    have[2] = ExistingField("Account", "Health_Trend__c", None)
    steps = diff(wanted_schema(load_field_mapping("salesforce"), BANDS, SEGMENTS, TAGS), [], have)
    conflicts = {s.name: s.reason for s in steps if s.action == "conflict"}
    assert set(conflicts) == {"Health_Score__c", "Health_Status__c", "Health_Trend__c"}
    assert "exists as text, csbridge writes number" in conflicts["Health_Score__c"]
    assert "field-level security" in conflicts["Health_Status__c"]
    assert "another type" in conflicts["Health_Trend__c"]


def test_option_label() -> None:
    assert option_label("at_risk") == "At Risk"
    assert option_label("Churn Risk") == "Churn Risk"


def test_hubspot_property_bodies() -> None:
    wanted = {
        f.name: f for f in wanted_schema(load_field_mapping("hubspot"), BANDS, None, TAGS).fields
    }
    shapes = {
        n: (b["type"], b["fieldType"])
        for n, b in ((n, property_body(f, "csbridge")) for n, f in wanted.items())
    }
    assert shapes == {
        "cs_health_score": ("number", "number"),
        "cs_health_status": ("enumeration", "select"),
        "cs_health_trend": ("number", "number"),
        "cs_segment": ("string", "textarea"),
        "cs_health_coverage": ("number", "number"),
        "cs_health_drivers": ("string", "textarea"),
        "cs_health_previous": ("number", "number"),
        "cs_health_why": ("string", "textarea"),
        "cs_health_updated": ("datetime", "date"),
        "cs_nps_category": ("enumeration", "select"),
        "cs_tags": ("enumeration", "checkbox"),
        "cs_marketing_paused": ("bool", "booleancheckbox"),
        "cs_strategic_fit": ("enumeration", "select"),
        "cs_expansion_potential": ("enumeration", "select"),
        "cs_relationship_quality": ("enumeration", "select"),
        "cs_community_level": ("enumeration", "select"),
        "cs_referrals_12m": ("number", "number"),
        "cs_days_past_due": ("number", "number"),
        "csbridge_task_key": ("string", "text"),
        "csbridge_note_key": ("string", "text"),
    }
    paused = property_body(wanted["cs_marketing_paused"], "csbridge")
    assert [o["value"] for o in paused["options"]] == ["true", "false"]
    tags = property_body(wanted["cs_tags"], "csbridge")
    assert tags["groupName"] == "csbridge"
    assert [(o["label"], o["value"]) for o in tags["options"]] == [
        ("Promoter", "Promoter"),
        ("Churn Risk", "Churn Risk"),
    ]
    for body in (paused, tags):  # what we create reads back as the type we want
        assert field_type(body) == wanted[str(body["name"])].type


def test_salesforce_metadata_and_setup_steps() -> None:
    fields = {f.name: f for f in sf_wanted()}
    assert metadata(fields["Health_Score__c"])["type"] == "Number"
    assert metadata(fields["Marketing_Paused__c"])["defaultValue"] == "false"
    tags = metadata(fields["CS_Tags__c"])
    assert tags["type"] == "MultiselectPicklist" and tags["visibleLines"] == 4
    values = tags["valueSet"]["valueSetDefinition"]["value"]
    assert [v["fullName"] for v in values] == list(TAGS)
    key = metadata(fields["Csbridge_Key__c"])
    assert (key["type"], key["length"], key["externalId"]) == ("Text", 255, True)
    steps = diff(wanted_schema(load_field_mapping("salesforce"), BANDS, SEGMENTS, TAGS), [], [])
    text = setup_steps(steps)
    assert "Setup → Object Manager → Account → Fields & Relationships:" in text
    assert "Setup → Object Manager → Activity (the Task fields)" in text
    assert 'Number: Field Label "Health Score", Field Name Health_Score, Length 16' in text
    assert "values (one per line): at_risk, attention, healthy, champion" in text
    assert (
        'Text: Field Label "csbridge Task Key", Field Name Csbridge_Key, Length 255, '
        "check External ID" in text
    )
    assert "field-level security" in text and text.count("New →") == 19


# -- Salesforce over `responses` ---------------------------------------------------------


def sf_client() -> ApiClient:
    settings = SalesforceSettings(
        instance_url=SF, login_url=SF, client_id="cid", client_secret="secret"
    )
    client = salesforce_client(settings, HttpSettings())
    client.session.headers["Authorization"] = "Bearer token"
    return client


def describe(fields: list[WantedField], obj: str) -> dict[str, object]:
    kinds = {"number": "double", "text": "string"}
    return {
        "fields": [
            {
                "name": f.name,
                "type": kinds.get(f.type, f.type),
                "updateable": True,
                "picklistValues": [{"value": v, "active": True} for v in f.options],
            }
            for f in fields
            if f.object == obj
        ]
    }


def test_new_owned_tag_patches_the_field_with_all_values(rsps: responses.RequestsMock) -> None:
    have = next(f for f in sf_wanted() if f.name == "CS_Tags__c")
    old = metadata(have)
    rsps.get(f"{API}/tooling/query", json={"records": [{"Id": "00NSb0000000001AAA"}]})
    rsps.get(f"{API}/tooling/sobjects/CustomField/00NSb0000000001AAA", json={"Metadata": old})
    patch = rsps.patch(f"{API}/tooling/sobjects/CustomField/00NSb0000000001AAA", status=204)
    step = Step("update", "Account", "CS_Tags__c", "add Champion", have, ("Champion",))
    SalesforceSchema(sf_client(), "62.0").apply(step)
    query = parse_qs(urlsplit(rsps.calls[0].request.url or "").query)["q"][0]
    assert "DeveloperName = 'CS_Tags' AND TableEnumOrId = 'Account'" in query
    sent = json.loads(patch.calls[0].request.body or b"")["Metadata"]
    values = [v["fullName"] for v in sent["valueSet"]["valueSetDefinition"]["value"]]
    assert values == ["Promoter", "Churn Risk", "Champion"]
    assert sent["type"] == "MultiselectPicklist" and sent["label"] == "CS Tags"


@pytest.mark.parametrize("answer", [{"Id": "00NSb0000000001AAA"}, {"Metadata": None}])
def test_field_answer_without_metadata_is_one_line_naming_the_field(
    rsps: responses.RequestsMock, answer: dict[str, object]
) -> None:
    have = next(f for f in sf_wanted() if f.name == "CS_Tags__c")
    rsps.get(f"{API}/tooling/query", json={"records": [{"Id": "00NSb0000000001AAA"}]})
    rsps.get(f"{API}/tooling/sobjects/CustomField/00NSb0000000001AAA", json=answer)
    step = Step("update", "Account", "CS_Tags__c", "add Champion", have, ("Champion",))
    with pytest.raises(CsbridgeError) as caught:
        SalesforceSchema(sf_client(), "62.0").apply(step)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("salesforce Account.CS_Tags__c: ")
    assert "without its Metadata" in message
    assert "add Champion to its values in Setup" in message
    assert not [c for c in rsps.calls if c.request.method == "PATCH"]


def test_key_field_without_external_id_when_the_org_refuses_it(
    rsps: responses.RequestsMock,
) -> None:
    key = next(f for f in sf_wanted() if f.key)
    refusal = [{"errorCode": "FIELD_INTEGRITY_EXCEPTION", "message": "External ID not allowed"}]
    rsps.post(f"{API}/tooling/sobjects/CustomField/", status=400, json=refusal)
    created = rsps.post(f"{API}/tooling/sobjects/CustomField/", status=201, json={"id": "00N"})
    SalesforceSchema(sf_client(), "62.0").apply(Step("create", "Task", key.name, "missing", key))
    body = json.loads(created.calls[0].request.body or b"")
    assert body["FullName"] == "Activity.Csbridge_Key__c"
    assert body["Metadata"]["externalId"] is False


def test_a_multi_line_refusal_is_one_line_and_shortened(rsps: responses.RequestsMock) -> None:
    want = next(f for f in sf_wanted() if f.name == "Health_Score__c")
    text = "Field name invalid.\nSee the documentation:\r\n\thttps://help.test\n" + "x" * 400
    refusal = [{"errorCode": "INVALID_FIELD", "message": text}]
    rsps.post(f"{API}/tooling/sobjects/CustomField/", status=400, json=refusal)
    with pytest.raises(CsbridgeError) as caught:
        SalesforceSchema(sf_client(), "62.0").apply(Step("create", "Account", want.name, "", want))
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message and "\t" not in message
    assert "INVALID_FIELD: Field name invalid. See the documentation: https://help.test x" in (
        message
    )
    assert message.endswith("…") and len(message) < 360
    assert "token" not in message


def test_refused_tooling_prints_setup_steps_and_exits_2(
    rsps: responses.RequestsMock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the config's default model (seed-5d) adds one score field per dimension
    dimensions = list(load_model("seed-5d").dimensions)
    mapping = load_field_mapping("salesforce", dimensions=dimensions)
    fields = list(wanted_schema(mapping, BANDS, SEGMENTS, TAGS).fields)
    config = tmp_path / "csbridge.yaml"
    source = {"instance_url": SF, "login_url": SF, "client_id": "c", "client_secret": "s"}
    config.write_text(
        yaml.safe_dump({"sources": {"salesforce": source}, "crm": {"targets": ["salesforce"]}})
    )
    present = [f for f in fields if f.name != "Health_Score__c" and f.name != "CS_Tags__c"]
    refusal = [{"errorCode": "INSUFFICIENT_ACCESS_OR_READONLY", "message": "no"}]
    rsps.post(f"{SF}/services/oauth2/token", json={"access_token": "t0k"})
    rsps.get(f"{API}/sobjects/Account/describe", json=describe(present, "Account"))
    rsps.get(f"{API}/sobjects/Task/describe", json=describe(present, "Task"))
    rsps.post(f"{API}/tooling/sobjects/CustomField/", status=403, json=refusal)
    # the second missing field is not tried; both are read back once more
    rsps.get(f"{API}/sobjects/Account/describe", json=describe(present, "Account"))
    rsps.get(f"{API}/sobjects/Task/describe", json=describe(present, "Task"))
    code = main(["init-crm", "--config", str(config)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out + err
    assert err.count("\n") == 1 and "Customize Application" in err
    assert "HTTP 403 INSUFFICIENT_ACCESS_OR_READONLY" in err
    assert "Setup → Object Manager → Account → Fields & Relationships:" in out
    assert 'Number: Field Label "Health Score"' in out
    assert 'Picklist (Multi-Select): Field Label "CS Tags"' in out
    assert out.count("New →") == 2
    assert "init-crm: 0 created, 0 updated, 2 refused, 22 ok, 0 conflicts" in out


def test_refusals_reach_the_caller_but_quota_and_retries_keep_their_meaning() -> None:
    classify = answer_refusals(classify_salesforce)

    def answer(status: int, code: str) -> Verdict:
        body = json.dumps([{"errorCode": code, "message": "TotalRequests Limit exceeded."}])
        return classify(SimpleResponse(status, {}, body))

    assert isinstance(answer(403, "INSUFFICIENT_ACCESS_OR_READONLY"), Ok)
    assert isinstance(answer(400, "FIELD_INTEGRITY_EXCEPTION"), Ok)
    assert isinstance(answer(403, "REQUEST_LIMIT_EXCEEDED"), QuotaExhausted)
    assert isinstance(answer(503, "SERVER_UNAVAILABLE"), Retry)


def test_exit_error_for_conflicts_and_fields_not_seen_after_creation() -> None:
    fields = sf_wanted()
    ok = Step("ok", "Account", fields[0].name, "exists", fields[0])
    conflict = Step("conflict", "Account", fields[1].name, "exists as text", fields[1])
    created = Step("create", "Account", fields[2].name, "missing", fields[2])
    assert outcome_error([TargetResult("salesforce", [ok, created], ["", "done"])]) is None
    error = outcome_error([TargetResult("salesforce", [ok, conflict], ["", ""])])
    assert error is not None and "1 field(s) conflict" in str(error)
    error = outcome_error([TargetResult("salesforce", [created], ["unverified"])])
    assert error is not None and "salesforce Account.Health_Trend__c" in str(error)
    assert "field-level security" in str(error)


def test_hubspot_create_answered_409_is_done_and_403_names_the_scope(
    rsps: responses.RequestsMock,
) -> None:
    base = "https://api.hubapi.example"
    client = hubspot_client(HubspotSettings(base_url=base, access_token="pat"), HttpSettings())
    schema = HubspotSchema(client, "csbridge")
    exists = {"status": "error", "category": "CONFLICT", "message": "already exists"}
    rsps.post(f"{base}/crm/v3/properties/companies/groups", status=409, json=exists)
    schema.apply(Step("create", "companies", "csbridge", "missing"))  # a resent create
    rsps.get(f"{base}/crm/v3/properties/tasks", status=403, json={"message": "scope"})
    with pytest.raises(CsbridgeError, match=r"crm\.schemas\.companies\.write"):
        schema.fields(["tasks"])
    rsps.get(f"{base}/crm/v3/properties/deals", status=400, json={"message": "bad object"})
    with pytest.raises(CsbridgeError, match="HTTP 400: bad object"):
        schema.fields(["deals"])
