"""Sandbox throughput: world generation time and pages/s per emulator, over real HTTP.

Measures, in one run:
  world      seconds to generate 10,000 accounts (best of 3) and 500 accounts
  zendesk    cursor ticket export pages (1000/page, metric_sets) and organizations pages (100)
  mixpanel   raw export requests (one day each, JSON Lines) and engage pages (1000)
  salesforce SOQL Account pages (2000/page, nextRecordsUrl)      -- if engineer B's module exists
  hubspot    companies list pages (100/page, after paging)        -- if engineer B's module exists
For each emulator it prints pages/s, records/s, and the ratio to the vendor's own documented
ceiling for that route (how many times faster than the real API we can feed a test).
Usage: python bench/sandbox.py [--accounts N] [--seconds S]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import timedelta

import requests

from csbridge_sandbox.runner import Sandbox, run_sandbox
from csbridge_sandbox.world.build import build_world

ZD_AUTH = ("bench@example.com/token", "token")
MP_AUTH = ("bench.sa", "secret")
# documented vendor ceilings for the measured routes, in pages per second
VENDOR_PAGES_PER_S = {
    "zendesk ticket export": 10 / 60,  # 10 incremental-export requests/min
    "zendesk organizations": 700 / 60,  # account limit (Enterprise)
    "mixpanel export": 60 / 3600,  # 60 queries/hour (3/s is the burst ceiling)
    "mixpanel engage": 60 / 3600,  # 60 queries/hour
    "salesforce query": 100_000 / 86_400,  # daily API request allocation, averaged
    "hubspot companies": 190 / 10,  # 190 per 10 s (Pro/Enterprise private app)
}


def timed(fetch_all: Callable[[], tuple[int, int]], seconds: float) -> tuple[float, float]:
    """Repeat a full paging loop for about `seconds`; return (pages/s, records/s)."""
    pages = records = 0
    start = time.perf_counter()
    while True:
        p, r = fetch_all()
        pages, records = pages + p, records + r
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return pages / elapsed, records / elapsed


def zendesk_export(session: requests.Session, url: str) -> tuple[int, int]:
    body = session.get(
        url + "/api/v2/incremental/tickets/cursor.json",
        params={"start_time": 0, "include": "metric_sets"},
    ).json()
    pages, records = 1, len(body["tickets"])
    while not body["end_of_stream"]:
        body = session.get(body["after_url"]).json()
        pages, records = pages + 1, records + len(body["tickets"])
    return pages, records


def zendesk_orgs(session: requests.Session, url: str) -> tuple[int, int]:
    body = session.get(url + "/api/v2/organizations.json", params={"page[size]": 100}).json()
    pages, records = 1, len(body["organizations"])
    while body["meta"]["has_more"]:
        body = session.get(body["links"]["next"]).json()
        pages, records = pages + 1, records + len(body["organizations"])
    return pages, records


def mixpanel_export(session: requests.Session, url: str, sandbox: Sandbox) -> tuple[int, int]:
    day = (sandbox.world.now.date() - timedelta(days=2)).isoformat()
    response = session.get(
        url + "/api/2.0/export", params={"project_id": 1000001, "from_date": day, "to_date": day}
    )
    return 1, sum(1 for line in response.iter_lines() if line)


def mixpanel_engage(session: requests.Session, url: str) -> tuple[int, int]:
    form = {"project_id": "1000001", "data_group_id": "1"}
    body = session.post(url + "/api/2.0/engage", data=form).json()
    pages, records, page = 1, len(body["results"]), 0
    while len(body["results"]) >= body["page_size"]:
        page += 1
        body = session.post(
            url + "/api/2.0/engage", data={**form, "session_id": body["session_id"], "page": page}
        ).json()
        pages, records = pages + 1, records + len(body["results"])
    return pages, records


def salesforce_query(session: requests.Session, url: str) -> tuple[int, int]:
    body = session.get(
        url + "/services/data/v59.0/query", params={"q": "SELECT Id, Name, Website FROM Account"}
    ).json()
    pages, records = 1, len(body["records"])
    while not body["done"]:
        body = session.get(url + body["nextRecordsUrl"]).json()
        pages, records = pages + 1, records + len(body["records"])
    return pages, records


def hubspot_companies(session: requests.Session, url: str) -> tuple[int, int]:
    params: dict[str, str | int] = {"limit": 100, "properties": "name,domain"}
    body = session.get(url + "/crm/v3/objects/companies", params=params).json()
    pages, records = 1, len(body["results"])
    while body.get("paging", {}).get("next"):
        params["after"] = body["paging"]["next"]["after"]
        body = session.get(url + "/crm/v3/objects/companies", params=params).json()
        pages, records = pages + 1, records + len(body["results"])
    return pages, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000, help="accounts served (2000)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement")
    args = parser.parse_args()

    runs = []
    for _ in range(3):
        start = time.perf_counter()
        big = build_world(accounts=10_000)
        runs.append(time.perf_counter() - start)
    start = time.perf_counter()
    build_world(accounts=500)
    small = time.perf_counter() - start
    print(
        f"world: 10,000 accounts in {min(runs):.2f} s (best of 3; {len(big.tickets):,} tickets, "
        f"{len(big.contacts):,} contacts); 500 accounts in {small:.3f} s"
    )

    with run_sandbox(accounts=args.accounts) as sandbox:
        zd, mp = requests.Session(), requests.Session()
        zd.auth, mp.auth = ZD_AUTH, MP_AUTH
        crm = requests.Session()
        crm.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides verify
        crm.verify = str(sandbox.ca_cert_path)
        crm.headers["Authorization"] = "Bearer sandbox-session"
        urls = sandbox.urls
        checks: dict[str, Callable[[], tuple[int, int]]] = {
            "zendesk ticket export": lambda: zendesk_export(zd, urls["zendesk"]),
            "zendesk organizations": lambda: zendesk_orgs(zd, urls["zendesk"]),
            "mixpanel export": lambda: mixpanel_export(mp, urls["mixpanel"], sandbox),
            "mixpanel engage": lambda: mixpanel_engage(mp, urls["mixpanel"]),
        }
        if "salesforce" in urls:
            checks["salesforce query"] = lambda: salesforce_query(crm, urls["salesforce"])
        if "hubspot" in urls:
            checks["hubspot companies"] = lambda: hubspot_companies(crm, urls["hubspot"])
        print(f"emulators serving {args.accounts} accounts; {args.seconds:.0f} s per route")
        print(f"{'route':<24}{'pages/s':>10}{'records/s':>12}{'x vendor ceiling':>18}")
        for name, check in checks.items():
            pages_s, records_s = timed(check, args.seconds)
            ratio = pages_s / VENDOR_PAGES_PER_S[name]
            print(f"{name:<24}{pages_s:>10.1f}{records_s:>12,.0f}{ratio:>17,.0f}x")
        for session in (zd, mp, crm):
            session.close()
        for vendor in sandbox.missing:
            print(f"{vendor}: module not present, not measured")


if __name__ == "__main__":
    main()
