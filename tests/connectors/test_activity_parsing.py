"""Activity rows of both CRMs → `Activity`: kinds, directions, dates, csbridge's own tasks."""

from __future__ import annotations

from datetime import UTC, datetime

from csbridge.connectors.hubspot.activities import ACTIVITY_SPECS, activity_parser
from csbridge.connectors.salesforce.activities import (
    parse_campaign_member,
    parse_email_message,
    parse_event,
    parse_task,
)
from csbridge.connectors.salesforce.soql import SalesforceMapping
from csbridge.models import Activity

MAP = SalesforceMapping()
TASK = MAP.task.resolve(["AccountId", "WhoId", "Type", "TaskSubtype", "CallType", "Subject"])
TASK |= MAP.task.resolve(["Status", "IsClosed", "CompletedDateTime", "Csbridge_Key__c"])


def task(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {"Id": "00T1", "SystemModstamp": "2026-02-01T10:00:00.000+0000"}
    return {**base, **fields}


def test_salesforce_task_kind_direction_and_completion() -> None:
    call = parse_task(
        task(
            TaskSubtype="Call",
            CallType="Inbound",
            IsClosed=True,
            CompletedDateTime="2026-01-30T09:00:00.000+0000",
        ),
        TASK,
        [],
    )
    assert (call.kind, call.direction) == ("call", "inbound")
    assert call.occurred_at == datetime(2026, 1, 30, 9, tzinfo=UTC)
    email = parse_task(task(TaskSubtype="Email", Status="Completed", IsClosed=True), TASK, [])
    assert (email.kind, email.direction) == ("email", None)
    todo = parse_task(task(Type="Other", Status="Not Started", IsClosed=False), TASK, [])
    assert todo.kind == "task" and todo.occurred_at is None  # not done: no engagement yet


def test_salesforce_task_created_by_csbridge_keeps_its_key() -> None:
    ours = parse_task(task(TaskSubtype="Call", Csbridge_Key__c="csb:acme:churn:2026-02"), TASK, [])
    assert ours.csbridge_key == "csb:acme:churn:2026-02"


def test_salesforce_event_and_campaign_member() -> None:
    chosen = MAP.event.resolve(["Type", "Subject", "StartDateTime", "Outcome__c", "AccountId"])
    meeting = parse_event(
        task(
            Id="00U1",
            Type="Meeting",
            Subject="QBR",
            StartDateTime="2026-01-05T15:00:00Z",
            Outcome__c="No Show",
            AccountId="001A",
        ),
        chosen,
        [],
    )
    assert (meeting.kind, meeting.status, meeting.account_id) == ("meeting", "No Show", "001A")
    chosen = MAP.campaign_member.resolve(["CampaignId", "ContactId", "HasResponded", "Status"])
    chosen |= {"account_id": "Contact.AccountId", "campaign_type": "Campaign.Type"}
    chosen |= {"start": "Campaign.StartDate"}
    member = parse_campaign_member(
        task(
            Id="00v1",
            CampaignId="701A",
            ContactId="003A",
            HasResponded=True,
            Status="Attended",
            Contact={"AccountId": "001A"},
            Campaign={"Type": "Webinar", "StartDate": "2026-01-20"},
        ),
        chosen,
        [],
    )
    assert (member.kind, member.subtype, member.attended) == ("campaign", "Webinar", True)
    assert (member.account_id, member.campaign_id) == ("001A", "701A")
    assert member.occurred_at == datetime(2026, 1, 20, tzinfo=UTC)


def test_hubspot_email_direction_and_meeting_outcome() -> None:
    def parse(object_type: str, **props: str) -> Activity:
        raw = {"id": "9", "properties": {"hs_lastmodifieddate": "1767225600000", **props}}
        return activity_parser(object_type)(raw, ACTIVITY_SPECS[object_type], "hs_lastmodifieddate")

    sent = parse("emails", hs_email_direction="EMAIL", hs_timestamp="2026-01-01T00:00:00Z")
    reply = parse("emails", hs_email_direction="INCOMING_EMAIL")
    forwarded = parse("emails", hs_email_direction="FORWARDED_EMAIL")
    assert [e.direction for e in (sent, reply, forwarded)] == [
        "outbound",
        "inbound",
        None,
    ]
    assert sent.occurred_at == datetime(2026, 1, 1, tzinfo=UTC)
    meeting = parse("meetings", hs_meeting_outcome="NO_SHOW", hs_meeting_title="QBR")
    assert (meeting.kind, meeting.status) == ("meeting", "NO_SHOW")


def test_salesforce_email_message_direction_opens_and_account() -> None:
    chosen = MAP.email_message.resolve(
        ["RelatedToId", "Incoming", "MessageDate", "IsTracked", "FirstOpenedDate"]
    )
    stamp = "2026-01-05T15:00:00.000+0000"
    sent = parse_email_message(
        task(Id="02s1", RelatedToId="001A", Incoming=False, IsTracked=True, MessageDate=stamp),
        chosen,
        [],
    )
    assert (sent.direction, sent.opened, sent.account_id) == ("outbound", False, "001A")
    opened = parse_email_message(
        task(Id="02s2", RelatedToId="006B", IsTracked=True, FirstOpenedDate=stamp), chosen, []
    )
    assert opened.opened is True and opened.account_id is None  # related to a deal
    reply = parse_email_message(task(Id="02s3", Incoming=True, IsTracked=True), chosen, [])
    assert (reply.direction, reply.opened) == ("inbound", None)
