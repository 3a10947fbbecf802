"""Reading labelled history: JSON Lines of `score` inputs with an as-of date and an outcome.

One snapshot per line: `{"id", "as_of": "YYYY-MM-DD", "signals", "indicator_scores",
"attributes", "outcome": {"churned": bool, "date": "YYYY-MM-DD" | null},
"signal_dates": {indicator: "YYYY-MM-DD"}}` (`signal_dates` optional: when each signal
was measured, so a signal dated after `as_of` can be flagged as leakage). The account
part is checked exactly as `csbridge score` checks it; errors name the file and line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from csbridge.account_files import AccountInput, loads_json, parse_account
from csbridge.errors import CsbridgeError

HISTORY_KEYS = frozenset({"as_of", "outcome", "signal_dates"})


@dataclass(frozen=True, slots=True)
class Snapshot:
    account: AccountInput
    as_of: date
    churned: bool
    churn_date: date | None
    signal_dates: dict[str, date]
    content: str  # the line without its id, canonical: equal for exact duplicates

    def churned_within(self, days: int | None) -> bool:
        """Churned, and (when both are known) within `days` of the as-of date."""
        if not self.churned or days is None or self.churn_date is None:
            return self.churned
        return (self.churn_date - self.as_of).days <= days


@dataclass(frozen=True, slots=True)
class History:
    snapshots: list[Snapshot]
    data_hash: str  # sha256 of the file's bytes, 12 hex digits


def read_history(path: str) -> History:
    """Every snapshot of a JSON Lines history file; the first bad line raises CsbridgeError."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CsbridgeError(f"{path}: cannot read the history file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CsbridgeError(f"{path}: not UTF-8 text: save the file as UTF-8") from None
    snapshots = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path} line {lineno}"
        try:
            data = loads_json(line)
        except json.JSONDecodeError as exc:
            raise CsbridgeError(
                f"{where}: invalid JSON ({exc.msg}): one snapshot per line"
            ) from None
        snapshots.append(parse_snapshot(data, where))
    if not snapshots:
        raise CsbridgeError(f"{path}: no snapshots: give one JSON object per line")
    return History(snapshots, hashlib.sha256(raw).hexdigest()[:12])


def parse_snapshot(data: Any, where: str) -> Snapshot:
    """One snapshot object; the account part is checked by the same code as `score`."""
    if not isinstance(data, dict):
        raise CsbridgeError(f"{where}: a snapshot is a JSON object with id, as_of and outcome")
    account = parse_account({k: v for k, v in data.items() if k not in HISTORY_KEYS}, where)
    label = f"{where}: account {account.id!r}"
    as_of = _date(data.get("as_of"), f"{label}: as_of")
    outcome = data.get("outcome")
    if not isinstance(outcome, dict) or not isinstance(outcome.get("churned"), bool):
        raise CsbridgeError(
            f'{label}: outcome must be {{"churned": true|false, "date": "YYYY-MM-DD"|null}}'
        )
    unknown = outcome.keys() - {"churned", "date"}
    if unknown:
        raise CsbridgeError(f"{label}: outcome.{sorted(unknown)[0]}: an outcome has churned, date")
    churn_date = None
    if outcome.get("date") is not None:
        churn_date = _date(outcome["date"], f"{label}: outcome.date")
        if churn_date < as_of:
            raise CsbridgeError(
                f"{label}: outcome.date {churn_date} is before as_of {as_of}: "
                "the outcome is what happened after the snapshot"
            )
    dates = data.get("signal_dates") or {}
    if not isinstance(dates, dict):
        raise CsbridgeError(f"{label}: signal_dates must be an object of YYYY-MM-DD dates")
    signal_dates = {k: _date(v, f"{label}: signal_dates.{k}") for k, v in dates.items()}
    rest = {k: v for k, v in data.items() if k != "id"}
    content = json.dumps(rest, sort_keys=True, separators=(",", ":"), default=str)
    return Snapshot(account, as_of, outcome["churned"], churn_date, signal_dates, content)


def _date(value: Any, field: str) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CsbridgeError(f"{field} is {value!r}: give a date as YYYY-MM-DD")


def parse_horizon(text: str) -> int:
    """A horizon in days from `90d` or `90`; raises CsbridgeError naming --horizon."""
    digits = text.removesuffix("d")
    if not digits.isdigit() or int(digits) == 0:
        raise CsbridgeError(f"--horizon is {text!r}: give a number of days, e.g. 90d")
    return int(digits)
