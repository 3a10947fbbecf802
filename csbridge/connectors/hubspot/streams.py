"""HubSpot pull over our HTTP layer: companies, contacts, deals, feedback submissions, owners
and the engagements (calls, emails, meetings, notes).

Why not hubspot-api-client here: its urllib3 retry never retries POST, and search is a
POST; going through `ApiClient` gives every call the one retry policy, the search
rate-limit bucket and the call accounting.

Incremental reads use search on the last-modified property, ascending, from the cursor
minus a lookback up to the run's start. Each request is its own time window starting at
the last timestamp already read (records at that exact timestamp are skipped by id), so
no window is ever paged towards the 10,000-result cap and a record modified during the
run cannot shift the pages under us. Only a page made entirely of one timestamp is
continued with `after`; more than the cap at one timestamp is an explicit error.
Archived records come from the list endpoint with `archived=true`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import structlog

from csbridge.connectors.hubspot.activities import ACTIVITY_SPECS, activity_parser
from csbridge.connectors.hubspot.records import (
    HubspotMapping,
    epoch_ms,
    parse_company,
    parse_contact,
    parse_deal,
    parse_feedback,
    parse_owner,
)
from csbridge.http.client import ApiClient
from csbridge.http.errors import FatalHttpError, json_object
from csbridge.http.paginate import Page, Paginator, dig, follow
from csbridge.models import Account, Activity, Contact, Opportunity, Owner, SurveyResponse

SYSTEM = "hubspot"
R = TypeVar("R")
Parser = Callable[[Mapping[str, Any], Mapping[str, tuple[str, ...]], str], R | None]
log = structlog.get_logger("csbridge.connectors.hubspot.streams")


class AfterPaginator(Paginator):
    """HubSpot list and search: follow `paging.next.after`; its absence is the end."""

    def next_token(self, body: Mapping[str, Any]) -> tuple[str | None, bool]:
        token = dig(body, "paging", "next", "after")
        return (str(token) if token not in (None, "") else None), token in (None, "")


@dataclass(frozen=True)
class HubspotOptions:
    """Tunables: page sizes, lookback, the search cap and the last-modified property."""

    page_size: int = 100
    lookback: timedelta = timedelta(minutes=10)
    result_cap: int = 10_000
    modified_property: Mapping[str, str] = field(
        default_factory=lambda: {
            "companies": "hs_lastmodifieddate",
            "contacts": "lastmodifieddate",  # contacts keep HubSpot's older property name
            "deals": "hs_lastmodifieddate",
            "feedback_submissions": "hs_lastmodifieddate",
            **{name: "hs_lastmodifieddate" for name in ACTIVITY_SPECS},
        }
    )
    company_associations: bool = True


class HubspotConnector:
    """Typed pages of HubSpot records; cursors are epoch milliseconds as strings."""

    def __init__(
        self,
        client: ApiClient,
        mapping: HubspotMapping | None = None,
        options: HubspotOptions | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.mapping = mapping or HubspotMapping()
        self.options = options or HubspotOptions()
        self.now = now
        self._associations = self.options.company_associations

    def companies(self, cursor: str | None = None) -> Iterator[Page[Account]]:
        """Companies changed since the cursor (minus the lookback)."""
        return self._search("companies", self.mapping.company, parse_company, cursor)

    def contacts(self, cursor: str | None = None) -> Iterator[Page[Contact]]:
        """Contacts changed since the cursor, with seniority and roles."""
        return self._search("contacts", self.mapping.contact, parse_contact, cursor)

    def deals(self, cursor: str | None = None) -> Iterator[Page[Opportunity]]:
        """Deals changed since the cursor, joined to their company by association."""
        for page in self._search("deals", self.mapping.deal, parse_deal, cursor):
            yield Page(self._with_companies("deals", page.records), page.cursor)

    def feedback_submissions(self, cursor: str | None = None) -> Iterator[Page[SurveyResponse]]:
        """NPS / CSAT / CES answers (`hs_value`, `hs_survey_type`), joined to companies."""
        pages = self._search("feedback_submissions", self.mapping.feedback, parse_feedback, cursor)
        for page in pages:
            yield Page(self._with_companies("feedback_submissions", page.records), page.cursor)

    def activities(self, object_type: str, cursor: str | None = None) -> Iterator[Page[Activity]]:
        """Engagements of one type (`calls`, `emails`, `meetings`, `notes`) changed since the
        cursor, joined to their company by association."""
        spec, parse = ACTIVITY_SPECS[object_type], activity_parser(object_type)
        for page in self._search(object_type, spec, parse, cursor):
            yield Page(self._with_companies(object_type, page.records), page.cursor)

    def archived(self, object_type: str) -> Iterator[Page[Any]]:
        """Archived records of one object type (full listing; pages carry no cursor)."""
        spec, parse = {
            "companies": (self.mapping.company, parse_company),
            "contacts": (self.mapping.contact, parse_contact),
            "deals": (self.mapping.deal, parse_deal),
        }[object_type]
        modified = self.options.modified_property[object_type]
        params: dict[str, Any] = {
            "archived": "true",
            "limit": self.options.page_size,
            "properties": ",".join(HubspotMapping.properties(spec, modified)),
        }
        fetch = partial(self._list, f"/crm/v3/objects/{object_type}", f"{object_type} list", params)
        for body in follow(AfterPaginator(), fetch):
            records = [parse(raw, spec, modified) for raw in body.get("results") or []]
            yield Page([r.model_copy(update={"deleted": True}) for r in records], None)

    def property_names(self, object_type: str) -> list[str]:
        """The names of the object type's properties (properties API)."""
        endpoint = f"{object_type} properties"
        response = self.client.get(
            f"/crm/v3/properties/{object_type}", endpoint=endpoint, must_exist=True
        )
        body = json_object(SYSTEM, endpoint, response)
        return [str(prop.get("name")) for prop in body.get("results") or []]

    def owners(self) -> Iterator[Page[Owner]]:
        """Owners (CSMs): full listing, active and archived."""
        for archived in ("false", "true"):
            params: dict[str, Any] = {"limit": self.options.page_size, "archived": archived}
            fetch = partial(self._list, "/crm/v3/owners", "owners", params)
            for body in follow(AfterPaginator(), fetch):
                yield Page([parse_owner(raw) for raw in body.get("results") or []], None)

    def _list(
        self, path: str, endpoint: str, params: Mapping[str, Any], after: str | None
    ) -> Mapping[str, Any]:
        """One page of a list endpoint: `params`, plus the `after` token past the first."""
        page = {**params, "after": after} if after else params
        response = self.client.get(path, params=page, endpoint=endpoint, must_exist=True)
        return json_object(SYSTEM, endpoint, response)

    # -- incremental search in self-splitting time windows ---------------------------------

    def _search(
        self,
        object_type: str,
        spec: Mapping[str, tuple[str, ...]],
        parse: Parser[R],
        cursor: str | None,
    ) -> Iterator[Page[R]]:
        prop = self.options.modified_property[object_type]
        limit = self.options.page_size
        end = int(self.now().timestamp() * 1000)
        floor = int(cursor) if cursor else 0
        low = max(floor - int(self.options.lookback.total_seconds() * 1000), 0) if cursor else 0
        properties = HubspotMapping.properties(spec, prop)
        skip: set[str] = set()
        after: str | None = None
        pager = AfterPaginator()
        while True:
            response = self.client.post(
                f"/crm/v3/objects/{object_type}/search",
                json=_search_body(prop, low, end, properties, limit, after),
                endpoint=f"{object_type} search",
                bucket="search",
                idempotent=True,
                must_exist=True,
            )
            body = json_object(SYSTEM, f"{object_type} search", response)
            results = list(body.get("results") or [])
            fresh = [raw for raw in results if str(raw.get("id")) not in skip]
            records = [r for r in (parse(raw, spec, prop) for raw in fresh) if r is not None]
            stamps = [epoch_ms((raw.get("properties") or {}).get(prop)) for raw in results]
            last = max((s for s in stamps if s is not None), default=None)
            if last is not None:
                floor = max(floor, last)
            yield Page(records, str(floor) if floor else cursor)
            token = pager.advance(body)
            if token is None:
                return
            if last is not None and last > low:
                skip = {
                    str(raw.get("id")) for raw, s in zip(results, stamps, strict=True) if s == last
                }
                low, after, pager = last, None, AfterPaginator()
            else:
                skip.update(str(raw.get("id")) for raw in results)
                after = token
                if int(after) + limit > self.options.result_cap:
                    raise FatalHttpError(
                        SYSTEM,
                        f"{object_type} search",
                        f"more than {self.options.result_cap} records share one {prop} value",
                    )

    def _with_companies(self, object_type: str, records: list[R]) -> list[R]:
        """Fill `account_id` from the object's company association (one batch call a page)."""
        missing = [r for r in records if getattr(r, "account_id", None) is None]
        if not missing or not self._associations:
            return records
        try:
            response = self.client.post(
                f"/crm/v4/associations/{object_type}/companies/batch/read",
                json={"inputs": [{"id": getattr(r, "id")} for r in missing]},  # noqa: B009
                endpoint=f"{object_type} associations",
                idempotent=True,
            )
        except FatalHttpError as exc:
            if exc.status not in (400, 404):
                raise
            log.warning("hubspot.associations_unavailable", object_type=object_type)
            self._associations = False
            return records
        if response.status_code >= 400:
            log.warning("hubspot.associations_unavailable", object_type=object_type)
            self._associations = False
            return records
        links: dict[str, str] = {}
        body = json_object(SYSTEM, f"{object_type} associations", response)
        for row in body.get("results") or []:
            targets = row.get("to") or []
            if targets:
                links[str(row["from"]["id"])] = str(targets[0].get("toObjectId"))
        return [
            r.model_copy(update={"account_id": links[r.id]})  # type: ignore[attr-defined]
            if getattr(r, "account_id", None) is None and getattr(r, "id", None) in links
            else r
            for r in records
        ]


def _search_body(
    prop: str, low: int, end: int, properties: list[str], limit: int, after: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": prop, "operator": "GTE", "value": str(low)},
                    {"propertyName": prop, "operator": "LT", "value": str(end)},
                ]
            }
        ],
        "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
        "properties": properties,
        "limit": limit,
    }
    if after is not None:
        body["after"] = after
    return body
