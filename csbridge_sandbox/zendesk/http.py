"""Zendesk request plumbing: error bodies, parameter parsing, opaque cursors, pagination.

Error bodies follow reference/zendesk-mixpanel-api.md A5: `{"error": "...", "description": "..."}`.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from csbridge_sandbox.common import absolute

T = TypeVar("T")
MAX_CURSOR_PAGE = 100
DEFAULT_OFFSET_PAGE = 100
MAX_OFFSET_PAGES = 100  # offset pagination deeper than 10,000 records is refused (since 2023)


class ZendeskError(Exception):
    """Raised by handlers; rendered as Zendesk's JSON error body with `status`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> JSONResponse:
        """The JSON error response."""
        return JSONResponse({"error": self.error, "description": self.description}, self.status)


def fault_response(status: int, retry_after: int | None) -> Response:
    """What an armed status fault answers: the account limit's plain-text 429 with
    `Retry-After` (1 s unless given), or Zendesk's JSON error body for other statuses."""
    if status == 429:
        return PlainTextResponse(
            "Number of allowed API requests per minute exceeded",
            429,
            headers={"Retry-After": str(1 if retry_after is None else retry_after)},
        )
    error = {401: "Couldn't authenticate you", 403: "Forbidden", 500: "InternalError"}.get(
        status, "ServiceUnavailable"
    )
    response = ZendeskError(status, error, "Sandbox fault injected by /_sandbox/faults").response()
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def int_param(request: Request, name: str, default: int | None = None) -> int | None:
    """An integer query parameter; a non-integer is a 400 InvalidValue."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ZendeskError(400, "InvalidValue", f"{name} must be an integer") from None


def encode_cursor(text: str) -> str:
    """An opaque cursor (base64, as Zendesk's look)."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The text inside a cursor; a cursor we did not mint is a 400."""
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ZendeskError(400, "InvalidPaginationParameter", "cursor is invalid") from None


def paginate(
    request: Request,
    key: str,
    items: Sequence[T],
    item_id: Callable[[T], int],
    render: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """A list endpoint's page: cursor pagination with `page[size]`, offset pagination without.

    `items` must be sorted by `item_id`.
    """
    params = request.query_params
    path = request.url.path
    extra = {k: v for k, v in params.items() if not k.startswith("page") and k != "per_page"}
    if "page[size]" in params or "page[after]" in params or "page[before]" in params:
        size = int_param(request, "page[size]", MAX_CURSOR_PAGE) or MAX_CURSOR_PAGE
        if size > MAX_CURSOR_PAGE or size < 1:
            raise ZendeskError(
                400,
                "InvalidPaginationParameter",
                f"page[size] must be between 1 and {MAX_CURSOR_PAGE}",
            )
        start, stop = 0, len(items)
        if params.get("page[after]"):
            start = bisect.bisect_right(items, _cursor_id(params["page[after]"]), key=item_id)
            stop = min(len(items), start + size)
        elif params.get("page[before]"):
            stop = bisect.bisect_left(items, _cursor_id(params["page[before]"]), key=item_id)
            start = max(0, stop - size)
        else:
            stop = min(len(items), size)
        page = items[start:stop]
        has_more = stop < len(items)
        after = encode_cursor(str(item_id(page[-1]))) if page else None
        before = encode_cursor(str(item_id(page[0]))) if page else None
        nxt = absolute(request, path, {**extra, "page[size]": size, "page[after]": after or ""})
        prev = absolute(request, path, {**extra, "page[size]": size, "page[before]": before or ""})
        return {
            key: [render(x) for x in page],
            "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": before},
            "links": {"next": nxt if has_more else None, "prev": prev if before else None},
        }
    per_page = min(int_param(request, "per_page", DEFAULT_OFFSET_PAGE) or 1, DEFAULT_OFFSET_PAGE)
    page_no = max(1, int_param(request, "page", 1) or 1)
    if page_no > MAX_OFFSET_PAGES:
        raise ZendeskError(
            400,
            "InvalidPaginationParameter",
            "Offset pagination is limited to the first 100 pages. Use cursor pagination.",
        )
    start = (page_no - 1) * per_page
    page = items[start : start + per_page]
    more = start + per_page < len(items)
    return {
        key: [render(x) for x in page],
        "next_page": absolute(request, path, {**extra, "page": page_no + 1, "per_page": per_page})
        if more
        else None,
        "previous_page": absolute(
            request, path, {**extra, "page": page_no - 1, "per_page": per_page}
        )
        if page_no > 1
        else None,
        "count": len(items),
    }


def _cursor_id(cursor: str) -> int:
    text = decode_cursor(cursor)
    if not text.isdigit():
        raise ZendeskError(400, "InvalidPaginationParameter", "cursor is invalid")
    return int(text)
