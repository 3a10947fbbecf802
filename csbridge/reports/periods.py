"""Reporting periods: a quarter ("2026Q4") or a month ("2026-11"); the end is exclusive."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from csbridge.errors import CsbridgeError

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Period:
    """A reporting period: `start` is its first day, `end` the first day after it."""

    label: str
    start: date
    end: date

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        if self.label[4] == "Q":
            return quarter_of(add_months(self.start, -3))
        return month_of(add_months(self.start, -1))


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def quarter_of(day: date) -> Period:
    """The calendar quarter holding `day`."""
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return Period(f"{day.year}Q{(day.month - 1) // 3 + 1}", first, add_months(first, 3))


def month_of(day: date) -> Period:
    """The calendar month holding `day`."""
    first = date(day.year, day.month, 1)
    return Period(first.strftime("%Y-%m"), first, add_months(first, 1))


def parse_period(text: str, option: str = "--period") -> Period:
    """`2026Q4` or `2026-11` as a Period; a CsbridgeError naming the option otherwise."""
    quarter = _QUARTER.match(text.strip())
    if quarter:
        return quarter_of(date(int(quarter[1]), 3 * int(quarter[2]), 1))
    month = _MONTH.match(text.strip())
    if month and 1 <= int(month[2]) <= 12:
        return month_of(date(int(month[1]), int(month[2]), 1))
    raise CsbridgeError(
        f"{option} {text!r}: use a quarter such as 2026Q4 or a month such as 2026-11"
    )


def months_back(last: date, count: int) -> list[Period]:
    """The `count` calendar months ending with `last`'s month, oldest first."""
    return [month_of(add_months(last, -k)) for k in range(count - 1, -1, -1)]
