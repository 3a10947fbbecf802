"""Notification bodies: Slack text, and Standard Webhooks signing checked two independent ways."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csbridge.errors import CsbridgeError
from csbridge.sync.changes import Notification
from csbridge.sync.notify_payload import message_id, sign, signed_webhook, slack_message
from csbridge.webhooks.verify import VerificationError, verify_standard

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = "whsec_plJ3nmyCDGBKInavdOK15jsl"
NOTE = Notification(
    key="acme.com:churn_risk:2026-11-23:notify",
    account_id="acme.com",
    rule="churn_risk",
    subject="Churn risk: diagnose <now> & call",
    description="Triggered by: health 55 < 60",
    targets=("csm", "cs_manager"),
    owner_id="005U",
)


def test_sign_matches_the_published_test_vector() -> None:
    body = b'{"event_type":"ping","data":{"success":true}}'
    signature = sign(SECRET, "msg_loFOjxBNrRLzqYUf", "1731705121", body)
    assert signature == "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0="


def test_signed_webhook_verifies_with_the_receiver_and_is_stable_across_retries() -> None:
    body, headers = signed_webhook(NOTE, SECRET, NOW)
    assert verify_standard(body, headers, [SECRET], NOW) == message_id(NOTE)
    event = json.loads(body)
    assert event["type"] == "csbridge.churn_risk"
    assert event["data"]["key"] == NOTE.key and event["data"]["targets"] == ["csm", "cs_manager"]
    retry_body, retry = signed_webhook(NOTE, SECRET, NOW + timedelta(minutes=5))
    assert retry["webhook-id"] == headers["webhook-id"]  # the idempotency key stays
    assert retry["webhook-timestamp"] != headers["webhook-timestamp"]
    assert "." not in headers["webhook-id"] and headers["webhook-id"].startswith("msg_")
    with pytest.raises(VerificationError):
        verify_standard(body, headers, ["whsec_" + "A" * 32], NOW)
    with pytest.raises(VerificationError):
        verify_standard(body.replace(b"55", b"56"), headers, [SECRET], NOW)
    assert retry_body != body  # the event carries its attempt time


def test_distinct_keys_distinct_ids() -> None:
    other = Notification("acme.com:detractor:n1:notify", "acme.com", "detractor", "x")
    assert message_id(other) != message_id(NOTE)


def test_bad_secrets_are_one_line_errors_without_the_secret() -> None:
    for bad in ("whsec_not*base64", "whsec_"):
        with pytest.raises(CsbridgeError) as info:
            signed_webhook(NOTE, bad, NOW)
        assert "whsec_not" not in str(info.value) and "\n" not in str(info.value)


def test_slack_message_escapes_and_names_the_audience() -> None:
    text = slack_message(NOTE, link="https://crm.example/acme")["text"]
    assert text.splitlines() == [
        "*Churn risk: diagnose &lt;now&gt; &amp; call*",
        "Account: <https://crm.example/acme|acme.com> · for csm, cs manager",
        "Triggered by: health 55 &lt; 60",
    ]
    assert slack_message(Notification("k", "a", "r", "s"))["text"] == "*s*\nAccount: a · for CS"


TEXT = st.text(alphabet=st.sampled_from("<>&|!@#U*_ ~`:/.ahttps;"), max_size=40) | st.sampled_from(
    ["<!channel>", "<!here|here>", "<@U024BE7LH>", "<https://evil.example|click>", "&lt;"]
)
LINK = "https://crm.example/a?b=1&c=<2>|x"


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@settings(max_examples=200, deadline=None)
@given(subject=TEXT, description=TEXT, account=TEXT, link=st.none() | st.just(LINK))
def test_no_field_of_a_slack_message_can_ping_or_link(
    subject: str, description: str, account: str, link: str | None
) -> None:
    note = Notification("k", account, "churn_risk", subject, description, ("csm",))
    text = slack_message(note, link=link)["text"]
    if link:  # csbridge's own link is the one <...> left, its URL escaped too
        opening = "<https://crm.example/a?b=1&amp;c=&lt;2&gt;%7Cx|"
        assert text.count(opening) == 1
        text = text.replace(opening, "", 1).replace(">", "", 1)
    assert "<" not in text and ">" not in text
    assert "&" not in re.sub(r"&(amp|lt|gt);", "", text)
    lines = text.splitlines()
    assert unescape(lines[0][1:-1]) == subject
    assert unescape(lines[1].removeprefix("Account: ").removesuffix(" · for csm")) == account
    assert unescape("\n".join(lines[2:])) == description
