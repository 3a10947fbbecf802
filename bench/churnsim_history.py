"""Turn the ChurnSim `crm5` export into labelled history snapshots (JSON Lines).

One snapshot per account active on each as-of date (the first of each month, while a
full horizon still fits before the simulation ends), for accounts at least four weeks
old. Signals come ONLY from whole weeks that ended before the as-of date; the label
is whether the account's subscriptions stopped within the horizon after it.

Signals, named as seed-6d indicators where they plausibly fit:
  usage.license_utilization  mean weekly active users (last 4 weeks) / seats on the plan
  usage.dau_mau              mean weekly actives / the busiest week's actives (a WAU/MAU)
  usage.feature_breadth      event types used in the last 4 weeks / event types offered
  usage.usage_trend          events in the last 4 weeks vs the 4 before, as a fraction
  relationship.contacts_count  mean weekly active users (people at the account who use it)
  financial.plan_movement    MRR on the as-of date vs 31 days before: upgrade / stable / downgrade
Usage: python bench/churnsim_history.py [--data DIR] [--out FILE] [--horizon 90]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "churnsim-crm5"
SIMULATION_END = date(2023, 1, 1)
ACTION_TYPES = 25  # event types a customer can do (the export's "users" and "*_value" are derived)
WEEK = timedelta(days=7)


def load_subscriptions(data: Path) -> dict[str, list[dict[str, Any]]]:
    subs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with (data / "subscriptions.csv").open() as f:
        for row in csv.DictReader(f):
            subs[row["account_id"]].append(
                {
                    "start": date.fromisoformat(row["start_date"]),
                    "end": date.fromisoformat(row["end_date"]),
                    "mrr": float(row["mrr"]),
                    "seats": float(row["quantity"]) if row["units"] == "users" else 0.0,
                }
            )
    return subs


def load_usage(data: Path) -> dict[str, dict[date, dict[str, tuple[int, int]]]]:
    """account -> week start -> event type -> (events, distinct users)."""
    usage: dict[str, dict[date, dict[str, tuple[int, int]]]] = defaultdict(dict)
    with gzip.open(data / "usage_weekly.csv.gz", "rt") as f:
        for row in csv.DictReader(f):
            week = date.fromisoformat(row["week_start"])
            usage[row["account_id"]].setdefault(week, {})[row["event_type"]] = (
                int(row["events"]),
                int(row["users"]),
            )
    return usage


def snapshot(
    account: str,
    as_of: date,
    subs: list[dict[str, Any]],
    weeks: dict[date, dict[str, tuple[int, int]]],
    horizon: int,
) -> dict[str, Any] | None:
    """The account's snapshot on `as_of`, or None when it is not an active, 4-week-old account."""
    current = [s for s in subs if s["start"] <= as_of < s["end"]]
    first = min(s["start"] for s in subs)
    if not current or (as_of - first).days < 28:
        return None
    last_week = as_of - timedelta(days=as_of.weekday()) - WEEK  # latest Monday of a whole week
    recent = [weeks.get(last_week - k * WEEK, {}) for k in range(4)]
    before = [weeks.get(last_week - k * WEEK, {}) for k in range(4, 8)]
    actives = [max((u for _, u in w.values()), default=0) for w in recent]
    events = sum(e for w in recent for e, _ in w.values())
    seats = sum(s["seats"] for s in current)
    signals: dict[str, Any] = {
        "usage.feature_breadth": round(len({t for w in recent for t in w}) / ACTION_TYPES, 4),
        "usage.dau_mau": round(sum(actives) / 4 / max(actives), 4) if max(actives) else 0.0,
    }
    signals["relationship.contacts_count"] = round(sum(actives) / 4, 2)
    if seats:
        signals["usage.license_utilization"] = round(sum(actives) / 4 / seats, 4)
    earlier = sum(e for w in before for e, _ in w.values())
    if (as_of - first).days >= 56 and earlier:
        signals["usage.usage_trend"] = round(events / earlier - 1, 4)
    month_ago = as_of - timedelta(days=31)
    then = [s for s in subs if s["start"] <= month_ago < s["end"]]
    if then:
        now_mrr, then_mrr = sum(s["mrr"] for s in current), sum(s["mrr"] for s in then)
        movement = (
            "upgrade" if now_mrr > then_mrr else "downgrade" if now_mrr < then_mrr else "stable"
        )
        signals["financial.plan_movement"] = movement
    end = max(s["end"] for s in subs)
    churn_date = end if end < SIMULATION_END else None
    churned = churn_date is not None and (churn_date - as_of).days <= horizon
    measured = (last_week + WEEK - timedelta(days=1)).isoformat()
    return {
        "id": account,
        "as_of": as_of.isoformat(),
        "signals": signals,
        "signal_dates": {k: measured for k in signals if k.startswith("usage.")},
        "outcome": {"churned": churned, "date": churn_date.isoformat() if churned else None},
    }


def as_of_dates(horizon: int) -> list[date]:
    """First of each month from February, while the whole horizon fits in the simulation."""
    out, month = [], 2
    while month <= 12 and date(2022, month, 1) + timedelta(days=horizon) <= SIMULATION_END:
        out.append(date(2022, month, 1))
        month += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=Path("churnsim-history.jsonl"))
    parser.add_argument("--horizon", type=int, default=90, help="days")
    args = parser.parse_args()
    subs, usage = load_subscriptions(args.data), load_usage(args.data)
    rows = [
        row
        for as_of in as_of_dates(args.horizon)
        for account in sorted(subs, key=int)
        if (row := snapshot(account, as_of, subs[account], usage.get(account, {}), args.horizon))
    ]
    with args.out.open("w") as out:
        out.writelines(json.dumps(r) + "\n" for r in rows)
    churned = sum(r["outcome"]["churned"] for r in rows)
    print(
        f"{len(rows)} snapshots of {len({r['id'] for r in rows})} accounts, "
        f"{churned} churned within {args.horizon} days -> {args.out}"
    )


if __name__ == "__main__":
    main()
