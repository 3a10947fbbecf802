"""Salesforce pull through simple-salesforce on our session: accounts, contacts, opportunities,
NPS answers, owners and activities (Task, Event, EmailMessage, CampaignMember), each incremental on
`SystemModstamp` with an `Id` tie-break.

Every query is a `queryAll` (deleted records come back with `IsDeleted = true` and
become `deleted=True` records) ordered by `SystemModstamp, Id`; a page's cursor is its
last record's (SystemModstamp, Id), never behind the cursor the read started from.
Fields come from describe on every run: only fields the org has are queried, so a new
custom field needs no restart. `Sforce-Limit-Info` is read by the client's quota guard;
403 `REQUEST_LIMIT_EXCEEDED` is a quota stop, not an auth failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from csbridge.config import SalesforceSettings
from csbridge.connectors.salesforce.activities import (
    parse_campaign_member,
    parse_email_message,
    parse_event,
    parse_task,
)
from csbridge.connectors.salesforce.client import SalesforceDailyQuota
from csbridge.connectors.salesforce.records import (
    parse_account,
    parse_contact,
    parse_nps,
    parse_opportunity,
    parse_owner,
)
from csbridge.connectors.salesforce.soql import (
    FieldMap,
    SalesforceCursor,
    SalesforceMapping,
    incremental_query,
    parse_datetime,
    soql_string,
)
from csbridge.connectors.values import roles_from
from csbridge.http.client import ApiClient
from csbridge.http.errors import (
    AuthError,
    SimpleResponse,
    WrongUrlError,
    check_api_answer,
    json_object,
    safe_url,
)
from csbridge.http.paginate import Page, Paginator, follow
from csbridge.models import Account, Activity, Contact, Opportunity, Owner, SurveyResponse

SYSTEM = "salesforce"
R = TypeVar("R")
USER_FIELDS = FieldMap(
    {"name": ("Name",), "email": ("Email",), "manager_id": ("ManagerId",), "active": ("IsActive",)}
)


class NextRecordsUrlPaginator(Paginator):
    """Salesforce query: follow `nextRecordsUrl` until `done`."""

    def next_token(self, body: Mapping[str, Any]) -> tuple[str | None, bool]:
        token = body.get("nextRecordsUrl")
        return (str(token) if token else None), bool(body.get("done", True))


def login(settings: SalesforceSettings, client: ApiClient) -> str:
    """OAuth 2.0 client-credentials flow at `login_url`; returns the access token."""
    response = client.post(
        settings.login_url.rstrip("/") + "/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": settings.client_id,
            "client_secret": settings.client_secret.get_secret_value(),
        },
        endpoint="oauth2/token",
        idempotent=True,
        must_exist=True,
    )
    token = json_object(SYSTEM, "oauth2/token", response).get("access_token")
    if not token:
        raise AuthError(SYSTEM, "oauth2/token", "no access_token in the answer")
    return str(token)


def trust_ca_bundle(settings: SalesforceSettings, client: ApiClient) -> None:
    """Verify the org's certificate with `ca_bundle` when one is configured."""
    if settings.ca_bundle:
        # requests lets REQUESTS_CA_BUNDLE from the environment override `session.verify`
        # (psf/requests#3829); a configured CA bundle must win, so skip the environment.
        client.session.trust_env = False
        client.session.verify = settings.ca_bundle


def open_salesforce(
    settings: SalesforceSettings, client: ApiClient, token: str | None = None
) -> Salesforce:
    """simple-salesforce on the client's session (so every call runs under our policy),
    logged in with `login` unless a token is given; shared by the reader and the writer."""
    trust_ca_bundle(settings, client)
    return Salesforce(
        instance_url=settings.instance_url,
        session_id=token or login(settings, client),
        version=settings.api_version,
        session=client.session,
    )


class SalesforceConnector:
    """Typed pages of Salesforce records; `cursor` arguments are `SalesforceCursor.encode()`."""

    def __init__(
        self,
        settings: SalesforceSettings,
        client: ApiClient,
        mapping: SalesforceMapping | None = None,
        token: str | None = None,
        lookback: timedelta = timedelta(minutes=5),
    ) -> None:
        self.settings = settings
        self.client = client
        self.mapping = mapping or SalesforceMapping()
        self.lookback = lookback
        self.sf = open_salesforce(settings, client, token)
        self._fields: dict[str, list[str] | None] = {}

    def api_usage(self) -> tuple[int, int] | None:
        """(used, max) from the last `Sforce-Limit-Info` header, for the run report."""
        quota = self.client.quota
        if isinstance(quota, SalesforceDailyQuota) and quota.used is not None and quota.max:
            return quota.used, quota.max
        return None

    def accounts(self, cursor: str | None = None) -> Iterator[Page[Account]]:
        """Accounts with ARR, owner (and Owner.Email), renewal date, seats, mapped fields."""
        return self._stream("Account", self.mapping.account, cursor, parse_account)

    def contacts(self, cursor: str | None = None) -> Iterator[Page[Contact]]:
        """Contacts with seniority from the title and roles from a field or contact roles."""
        for page in self._stream("Contact", self.mapping.contact, cursor, parse_contact):
            yield Page(self._with_contact_roles(page.records), page.cursor)

    def opportunities(self, cursor: str | None = None) -> Iterator[Page[Opportunity]]:
        """Opportunities classified as new business, renewal, upsell or downgrade."""
        return self._stream("Opportunity", self.mapping.opportunity, cursor, parse_opportunity)

    def nps_answers(self, cursor: str | None = None) -> Iterator[Page[SurveyResponse]]:
        """NPS answers from the custom object named in the mapping (nothing if it is absent)."""
        return self._stream(self.mapping.nps_object, self.mapping.nps, cursor, parse_nps)

    def owners(self, cursor: str | None = None) -> Iterator[Page[Owner]]:
        """Users (account owners) with email and manager."""
        return self._stream("User", USER_FIELDS, cursor, parse_owner)

    def tasks(self, cursor: str | None = None) -> Iterator[Page[Activity]]:
        """Tasks: logged calls and emails, to-dos, and the tasks csbridge created (keyed)."""
        return self._stream("Task", self.mapping.task, cursor, parse_task)

    def events(self, cursor: str | None = None) -> Iterator[Page[Activity]]:
        """Events: meetings (QBRs among them) and scheduled calls."""
        return self._stream("Event", self.mapping.event, cursor, parse_event)

    def email_messages(self, cursor: str | None = None) -> Iterator[Page[Activity]]:
        """Emails (Enhanced Email): direction and, for tracked ones we sent, opens."""
        return self._stream("EmailMessage", self.mapping.email_message, cursor, parse_email_message)

    def campaign_members(self, cursor: str | None = None) -> Iterator[Page[Activity]]:
        """Campaign memberships of contacts: invited to a webinar or event, responded."""
        return self._stream(
            "CampaignMember", self.mapping.campaign_member, cursor, parse_campaign_member
        )

    # -- the incremental read ------------------------------------------------------------

    def _stream(
        self,
        sobject: str,
        fieldmap: FieldMap,
        cursor: str | None,
        parse: Callable[[Mapping[str, Any], dict[str, str], list[str]], R],
    ) -> Iterator[Page[R]]:
        self._fields.pop(sobject, None)  # describe again: a field added since is picked up
        available = self.fields_of(sobject)
        if available is None:
            return
        chosen = fieldmap.resolve(available)
        extra = fieldmap.custom_fields(available)
        start = SalesforceCursor.decode(cursor)
        soql = incremental_query(sobject, [*chosen.values(), *extra], start, self.lookback)
        floor = start

        def fetch(token: str | None) -> Mapping[str, Any]:
            if token is None:
                return self._call(
                    f"queryAll {sobject}", lambda: self.sf.query(soql, include_deleted=True)
                )
            return self._call(
                f"queryAll {sobject}",
                partial(self.sf.query_more, token, identifier_is_url=True, include_deleted=True),
            )

        for body in follow(NextRecordsUrlPaginator(), fetch):
            raws = list(body.get("records") or [])
            records = [parse(raw, chosen, extra) for raw in raws]
            if raws:
                last = SalesforceCursor(
                    parse_datetime(raws[-1].get("SystemModstamp")) or floor.modstamp,
                    str(raws[-1]["Id"]),
                )
                floor = max(floor, last, key=SalesforceCursor.key)
            yield Page(records, floor.encode())

    def fields_of(self, sobject: str) -> list[str] | None:
        """The object's field names from describe (cached until its stream reads again);
        None if the org has no such object."""
        if sobject not in self._fields:
            try:
                result = self._call(
                    f"describe {sobject}",
                    lambda: getattr(self.sf, sobject).describe(),
                    missing_ok=True,
                )
            except _NotFound:
                self._fields[sobject] = None
            else:
                self._fields[sobject] = [str(f["name"]) for f in result.get("fields") or []]
        return self._fields[sobject]

    def _call(
        self, endpoint: str, fn: Callable[[], Any], missing_ok: bool = False
    ) -> dict[str, Any]:
        try:
            result = fn()
        except SalesforceError as exc:
            content = exc.content
            text = content if isinstance(content, str) else json.dumps(content, default=str)
            response = SimpleResponse(int(exc.status), {}, text)
            if exc.status == 404 and missing_ok:
                raise _NotFound(endpoint) from None
            verdict = self.client.classify(response)
            self.client.raise_for_verdict(verdict, endpoint, exc.status, True)
            check_api_answer(SYSTEM, endpoint, response, str(exc.url))
            raise
        except ValueError:  # simple-salesforce could not decode the answer: not the API
            where = safe_url(self.settings.instance_url)
            raise WrongUrlError(
                SYSTEM, endpoint, f"the answer is not JSON at {where}; check instance_url"
            ) from None
        return dict(result)

    # -- record parsing ------------------------------------------------------------------

    def _with_contact_roles(self, contacts: list[Contact]) -> list[Contact]:
        role_object = self.mapping.contact_role_object
        if not contacts or self.fields_of(role_object) is None:
            return contacts
        ids = ", ".join(soql_string(c.id) for c in contacts)
        soql = f"SELECT ContactId, Role FROM {role_object} WHERE ContactId IN ({ids})"
        body = self._call(f"query {role_object}", lambda: self.sf.query_all(soql))
        extra: dict[str, list[str]] = {}
        for row in body.get("records") or []:
            if row.get("Role"):
                extra.setdefault(str(row["ContactId"]), []).append(str(row["Role"]))
        return [
            c.model_copy(update={"roles": roles_from([*c.roles, *extra[c.id]])})
            if c.id in extra
            else c
            for c in contacts
        ]


class _NotFound(Exception):
    """describe said the object does not exist in this org."""
