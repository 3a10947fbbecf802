"""Word lists and id formats the synthetic customer base draws from (no behaviour here)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cache
from typing import TypeVar

T = TypeVar("T")


def pick(rng: random.Random, items: Sequence[T]) -> T:
    """`rng.choice`, several times faster (one float draw instead of rejection sampling)."""
    return items[int(rng.random() * len(items))]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


NAME_FIRST = _words(
    "Acme Blue Bright Cedar Cobalt Crest Delta Ember Fable Falcon Granite Harbor Helix "
    "Indigo Juniper Keystone Lumen Maple Meridian Nimbus North Onyx Orbit Pioneer Quarry "
    "Quartz Raven Redwood Sable Summit Tidal Trident Umber Vector Willow Zenith Atlas "
    "Beacon Copper Drift Evergreen Foxglove Garnet Horizon Iris Jade Kestrel Lattice"
)
NAME_SECOND = _words(
    "Analytics Labs Systems Logistics Health Bank Retail Robotics Media Foods Energy "
    "Software Networks Dynamics Capital Works Partners Cloud Mobility Insurance Studios "
    "Security Biotech Freight Learning Travel"
)
TLDS = ("com", "com", "com", "io", "co", "net", "ai", "de", "co.uk", "fr")
INDUSTRIES = (
    "Software",
    "Financial Services",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Education",
    "Media",
    "Logistics",
    "Energy",
    "Travel",
    "Insurance",
    "Biotechnology",
)
FIRST_NAMES = _words(
    "Ada Ben Chloe Dev Elena Farid Grace Hiro Ines Jonas Kara Liam Maya Noah Olga Priya "
    "Quentin Rosa Sam Tariq Uma Victor Wen Xavier Yara Zoe Amir Bianca Carlos Dana Emeka "
    "Fatima Gustav"
)
LAST_NAMES = _words(
    "Andersen Brooks Chen Dubois Eriksson Fischer Garcia Haddad Ito Jansen Kowalski Lopez "
    "Moreau Nakamura Okafor Patel Quinn Rossi Schmidt Tanaka Usman Varga Weber Xu Yilmaz "
    "Zhang Silva Novak"
)
TITLES = {
    "champion": ("Head of Operations", "Director of Analytics", "Product Operations Lead"),
    "exec_sponsor": ("VP Operations", "Chief Operating Officer", "CTO", "VP Customer Experience"),
    "admin": ("Systems Administrator", "IT Manager", "Platform Admin"),
    "user": ("Analyst", "Operations Specialist", "Account Manager", "Engineer", "Coordinator"),
}
TICKET_SUBJECTS = (
    "Cannot log in after password reset",
    "Export to CSV times out",
    "Dashboard shows stale data",
    "How do I add a new user?",
    "SSO configuration question",
    "Invoice does not match contract",
    "API returns 500 on bulk endpoint",
    "Feature request: custom fields on reports",
    "Report scheduling stopped working",
    "Need help with the onboarding checklist",
    "Integration with Slack is failing",
    "Data import stuck at 90%",
    "Permissions for admins",
    "Mobile app crashes on launch",
    "Billing contact change",
    "Outage: nothing loads",
)
NPS_COMMENTS = {
    "promoter": (
        "Indispensable for our team.",
        "Great product and great support!",
        "Saves us hours every week.",
        "The new reports are excellent.",
    ),
    "passive": (
        "Does the job, a few rough edges.",
        "Good, but pricing is steep.",
        "Okay overall; exports could be faster.",
        "",
    ),
    "detractor": (
        "Too many outages lately.",
        "Support takes days to answer.",
        "We are evaluating alternatives.",
        "Hard to use, adoption is low.",
    ),
}
CSAT_COMMENTS = {
    "good": ("Thanks, quick fix!", "Very helpful agent.", "", "Solved on the first reply."),
    "bad": ("Took far too long.", "Issue is not really solved.", "", "Nobody answered for days."),
}
EVENT_NAMES = (
    ("Logged In", 30),
    ("Viewed Dashboard", 25),
    ("Ran Report", 15),
    ("Created Report", 6),
    ("Exported Data", 6),
    ("Used Feature", 12),
    ("Invited User", 2),
    ("Updated Settings", 4),
)
# the sandbox product's key feature events: its config names them (sources.mixpanel)
FEATURES = _words("alerts forecasting segments api workflows sso annotations")
BROWSERS = _words("Chrome Firefox Safari Edge")
OPPORTUNITY_STAGES_OPEN = (
    "Prospecting",
    "Qualification",
    "Proposal/Price Quote",
    "Negotiation/Review",
)

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def between(rng: random.Random, low: int, high: int) -> int:
    """`rng.randint(low, high)` (both inclusive), without rejection sampling."""
    return low + int(rng.random() * (high - low + 1))


@cache
def _chunk_bits(chunk: str) -> str:
    bits = 0
    for i, ch in enumerate(chunk):
        if "A" <= ch <= "Z":
            bits |= 1 << i
    return _CHECKSUM[bits]


def salesforce_id(prefix: str, number: int) -> str:
    """An 18-character Salesforce record id: key prefix, pod, counter and case-safe suffix.

    The counter is written in decimal (valid base-62 digits), so the suffix of the last two
    five-character chunks is always "AA" and ids stay cheap to mint by the hundred thousand.
    """
    if len(prefix) != 3 or not 0 <= number < 10**10:
        raise ValueError("a Salesforce key prefix has 3 characters and the counter fits 10 digits")
    return f"{prefix}5g{number:010d}{_chunk_bits(prefix + '5g')}AA"
