"""Zendesk Support pull: tickets (cursor incremental export), organizations, legacy CSAT.

Every stream yields `Page`s: the records of one API page plus the cursor that covers
them, so the store can commit both in one transaction.

- Tickets: `/api/v2/incremental/tickets/cursor.json`, `start_time` on the first run and
  `cursor=<after_cursor>` afterwards, `include=metric_sets`; stop on `end_of_stream`
  only (empty pages mid-stream are legal). Deleted tickets arrive with status `deleted`.
- Organizations: `/api/v2/organizations.json` with `page[size]`, following `meta.has_more`.
- Satisfaction ratings: `/api/v2/satisfaction_ratings.json` in `start_time`/`end_time`
  windows; ratings carry no organization, so each is joined through its ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from csbridge.connectors.zendesk.parse import parse_organization, parse_rating, parse_ticket
from csbridge.http.client import ApiClient
from csbridge.http.errors import json_object
from csbridge.http.paginate import Page, Paginator, dig, follow
from csbridge.models import Account, SurveyResponse, Ticket

SYSTEM = "zendesk"
TICKETS_PATH = "/api/v2/incremental/tickets/cursor.json"
ORGANIZATIONS_PATH = "/api/v2/organizations.json"
INCREMENTAL_ORGS_PATH = "/api/v2/incremental/organizations.json"
RATINGS_PATH = "/api/v2/satisfaction_ratings.json"
SHOW_MANY_PATH = "/api/v2/tickets/show_many.json"
TicketOrgLookup = Callable[[Iterable[str]], Mapping[str, str | None]]


class EndOfStreamPaginator(Paginator):
    """Zendesk cursor-based incremental export: follow `after_cursor` until `end_of_stream`."""

    def next_token(self, body: Mapping[str, Any]) -> tuple[str | None, bool]:
        token = body.get("after_cursor")
        return (str(token) if token else None), bool(body.get("end_of_stream"))


class EndTimePaginator(Paginator):
    """Zendesk time-based export: the next `start_time` is this page's `end_time`, until
    `end_of_stream`. An `end_time` that does not move (over a page of one timestamp) loops."""

    def next_token(self, body: Mapping[str, Any]) -> tuple[str | None, bool]:
        end = body.get("end_time")
        return (str(end) if end is not None else None), bool(body.get("end_of_stream"))


class HasMorePaginator(Paginator):
    """Zendesk cursor pagination: `meta.has_more` with `meta.after_cursor` (and `links.next`)."""

    def next_token(self, body: Mapping[str, Any]) -> tuple[str | None, bool]:
        token = dig(body, "meta", "after_cursor")
        has_more = bool(dig(body, "meta", "has_more"))
        return (str(token) if token else None), not has_more


@dataclass(frozen=True)
class ZendeskOptions:
    """Tunables with safe defaults (page sizes are the API maxima)."""

    ticket_page_size: int = 1000
    page_size: int = 100
    initial_history: timedelta = timedelta(days=365)
    ratings_window: timedelta = timedelta(days=30)
    ratings_lookback: timedelta = timedelta(days=2)


class ZendeskConnector:
    """Typed pages of Zendesk records over an `ApiClient`."""

    def __init__(
        self,
        client: ApiClient,
        options: ZendeskOptions | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.options = options or ZendeskOptions()
        self.now = now
        self._ticket_orgs: dict[str, str | None] = {}

    def tickets(
        self, cursor: str | None = None, start: datetime | None = None
    ) -> Iterator[Page[Ticket]]:
        """Tickets changed since `cursor` (an `after_cursor`), or since `start` on a first run.

        Each page's cursor is that page's `after_cursor`; the last page's is the bookmark
        for the next run. Pagination ends on `end_of_stream`, never on page size.
        """
        base: dict[str, Any] = {"include": "metric_sets", "per_page": self.options.ticket_page_size}
        if cursor:
            first = {**base, "cursor": cursor}
        else:
            latest = self.now() - timedelta(minutes=1)
            begin = min(start or latest - self.options.initial_history, latest)
            first = {**base, "start_time": int(begin.timestamp())}
        pager = EndOfStreamPaginator(first_token=cursor)

        def fetch(token: str | None) -> Mapping[str, Any]:
            params = first if token == cursor else {**base, "cursor": token}
            return self._get(TICKETS_PATH, params, "incremental/tickets", "incremental")

        for body in follow(pager, fetch):
            tickets = [parse_ticket(raw) for raw in body.get("tickets") or []]
            for ticket in tickets:
                self._ticket_orgs[ticket.id] = ticket.account_id
            yield Page(tickets, pager.token or cursor)

    def organizations(self, cursor: str | None = None) -> Iterator[Page[Account]]:
        """Organizations with `external_id` and `domain_names`.

        First run (no cursor): the full listing with `page[size]` / `meta.has_more`; it is
        not ordered by change time, so only its last page carries a cursor (the run's
        start). Later runs: the time-based incremental export from the cursor minus the
        lookback, `start_time` = the previous page's `end_time`, until `end_of_stream`.
        """
        if cursor:
            yield from self._organizations_since(int(cursor))
            return
        started = int((self.now() - timedelta(minutes=1)).timestamp())
        pager = HasMorePaginator()
        first: dict[str, Any] = {"page[size]": self.options.page_size}
        fetch = partial(self._page, ORGANIZATIONS_PATH, "organizations", first)
        for body in follow(pager, fetch):
            orgs = [parse_organization(raw) for raw in body.get("organizations") or []]
            yield Page(orgs, str(started) if pager.finished else None)

    def _organizations_since(self, floor: int) -> Iterator[Page[Account]]:
        lookback = int(self.options.ratings_lookback.total_seconds())
        start = str(max(floor - lookback, 0))
        pager = EndTimePaginator(first_token=start)

        def fetch(token: str | None) -> Mapping[str, Any]:
            params = {"start_time": token, "per_page": self.options.ticket_page_size}
            return self._get(
                INCREMENTAL_ORGS_PATH, params, "incremental/organizations", "incremental"
            )

        for body in follow(pager, fetch):
            orgs = [parse_organization(raw) for raw in body.get("organizations") or []]
            end = int(pager.token or start)
            yield Page(orgs, str(max(floor, end)))

    def satisfaction_ratings(
        self,
        cursor: str | None = None,
        start: datetime | None = None,
        ticket_orgs: TicketOrgLookup | None = None,
    ) -> Iterator[Page[SurveyResponse]]:
        """Answered legacy CSAT ratings in time windows from `cursor` (epoch seconds).

        Each window is read completely before its end becomes the page cursor; the read
        restarts `ratings_lookback` before the cursor. Organizations come from the rated
        tickets: tickets seen in this run, then `ticket_orgs` (e.g. the store), then
        `show_many` for the rest.
        """
        end = self.now() - timedelta(minutes=1)
        if cursor:
            begin = datetime.fromtimestamp(int(cursor), tz=UTC) - self.options.ratings_lookback
        else:
            begin = start or end - self.options.initial_history
        floor = int(cursor) if cursor else None
        while begin < end:
            stop = min(begin + self.options.ratings_window, end)
            raws: list[dict[str, Any]] = []
            params: dict[str, Any] = {
                "start_time": int(begin.timestamp()),
                "end_time": int(stop.timestamp()),
                "page[size]": self.options.page_size,
            }
            fetch = partial(self._page, RATINGS_PATH, "satisfaction_ratings", params)
            for body in follow(HasMorePaginator(), fetch):
                raws.extend(body.get("satisfaction_ratings") or [])
            orgs = self._orgs_for(
                {str(r["ticket_id"]) for r in raws if r.get("ticket_id")}, ticket_orgs
            )
            records = []
            for raw in raws:
                ticket = str(raw.get("ticket_id")) if raw.get("ticket_id") else None
                rating = parse_rating(raw, orgs.get(ticket) if ticket else None)
                if rating is not None:
                    records.append(rating)
            window_end = int(stop.timestamp())
            yield Page(records, str(max(window_end, floor or window_end)))
            begin = stop

    def _page(
        self, path: str, endpoint: str, params: Mapping[str, Any], token: str | None
    ) -> Mapping[str, Any]:
        """One page of a `page[after]` cursor listing: `params`, plus the token after the first."""
        return self._get(path, {**params, "page[after]": token} if token else params, endpoint)

    def _orgs_for(
        self, ticket_ids: set[str], lookup: TicketOrgLookup | None
    ) -> dict[str, str | None]:
        found = {t: self._ticket_orgs[t] for t in ticket_ids if t in self._ticket_orgs}
        missing = ticket_ids - found.keys()
        if missing and lookup is not None:
            known = lookup(sorted(missing))
            found.update({t: org for t, org in known.items() if t in missing})
            missing -= known.keys()
        ordered = sorted(missing, key=lambda t: (len(t), t))
        for i in range(0, len(ordered), 100):
            batch = ordered[i : i + 100]
            body = self._get(SHOW_MANY_PATH, {"ids": ",".join(batch)}, "tickets/show_many")
            for raw in body.get("tickets") or []:
                org = raw.get("organization_id")
                found[str(raw["id"])] = None if org is None else str(org)
        return found

    def _get(
        self, path: str, params: Mapping[str, Any], endpoint: str, bucket: str | None = None
    ) -> dict[str, Any]:
        response = self.client.get(
            path, params=params, endpoint=endpoint, bucket=bucket, must_exist=True
        )
        return json_object(SYSTEM, endpoint, response)
