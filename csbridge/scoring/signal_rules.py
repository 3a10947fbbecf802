"""The computation of each raw signal from one customer's facts (pure; see `signals.py`).

Every function takes the facts it needs and `now`, and returns the raw value in the
unit the presets expect, or None when the facts cannot say (the indicator then stays
missing and the score's coverage shows it). `signals.py` says which facts count and
which windows apply.

Rules (indicator: raw value):

- MAU (monthly-active users): the distinct users of the 30 days, from each day's users
  sketch (`csbridge.distinct`: exact up to 128 users, else within about 3.3 %); never
  below the busiest day's users (days stored before the sketches existed have none).
- dau_mau: mean daily active users over 30 d (days without usage count 0) / MAU.
- feature_adoption (5d), feature_breadth (6d): key features used in 30 d / key
  features (`options.key_features`, from `sources.mixpanel.key_features` unless the
  signals file names them; none named: no data). A feature is an event name, or the
  value of `sources.mixpanel.feature_property` when that is set.
- session_frequency: sessions per MAU over 30 d / the benchmark
  (`options.session_benchmark`, else the portfolio's median, computed by the caller
  with `sessions_per_user`); missing without either.
- time_in_product: minutes per MAU over 30 d (the durations events carry, from
  `sources.mixpanel.duration_property`) / the benchmark (`options.time_benchmark`,
  minutes, else the portfolio's median); missing when no event ever carried a duration.
- usage_trend: (events in the last 30 d - events in the previous 30 d) / previous;
  0 when both are 0; missing when only the previous is 0.
- license_utilization: MAU / seats purchased (primary CRM account); without usage,
  the CRM's seats used / seats purchased; missing without seats.
- user_expansion: (MAU of the last 30 d - MAU of days 61-90 before) / the latter.
- nps: the latest NPS answer of the last 365 d, on 0-10 (the preset bins it).
- csat: CSAT answers of the last 90 d (Zendesk ratings and CRM CSAT surveys). If the
  model's csat transform has both anchors within 0..1 (seed-5d) or `options.csat_unit`
  is "share": top-2-box share (two highest points; on Zendesk's good/bad scale, good).
  Otherwise (seed-6d, "mean"): the mean with every answer mapped onto 1-5 (good 5, bad 1).
- support_tickets: tickets opened in 90 d still new/open/pending/on hold.
- aged_open_tickets: tickets still open that were opened more than 7 d ago.
- severity_share: urgent + high tickets / all tickets opened in 90 d; missing if none.
- ticket_volume_trend: (tickets opened in the last 90 d - the 90 d before) / the
  latter; 0 when both are 0, missing when only the earlier is 0.
- contract_growth (5d): the latest closed-won upsell / downgrade / renewal of the last
  365 d → upsell / downgrade / stable; any other closed-won deal → stable; else missing.
  plan_movement (6d): the same, named upgrade / downgrade / stable.
- commercial_discussions: an open downgrade → discount_request, else an open upsell →
  expansion, else none.
- multi_threading (5d), contacts_count (6d): contacts not deleted and not marked as
  having left (`options.left_company_fields`, default Left_Company__c / left_company).
- exec_sponsor: none without an active executive_sponsor contact; engaged if one has
  CRM activity or a survey answer in 90 d; identified otherwise. Missing without contacts.
- sponsor_seniority: the most senior active executive_sponsor / decision_maker by title
  (C-level, VP, director, manager; other titles and no sponsor: none). Missing without
  contacts.
- champion_present: contacts with the champion role: all left → left; none with
  activity or an answer in 90 d while some have known activity → disengaged; else
  active. Missing without a champion.
- renewal_proximity: days from today to the primary CRM account's renewal date;
  missing when unknown or past.
- Configured custom fields (`options.custom_fields`, model key → field name) override
  any of these with the first non-empty `Account.custom` value of the customer's
  accounts (primary CRM first), e.g. engagement.webinar_attendance ← Webinar_Attendance__c.

Engagement and relationship from CRM activities (email_open_rate, webinar_attendance,
event_participation, support_engagement, comms_response, qbr_participation,
last_contact_days, meetings_90d): see `csbridge.scoring.activity_signals`.

Sentiment (ticket_sentiment, feedback_sentiment), exec_logins and the fields CSMs or
billing fill in (relationship_quality, community_activity, referrals, payment_delay):
see `csbridge.scoring.feedback_signals`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from statistics import fmean

from csbridge.distinct import DistinctUsers
from csbridge.models import Account, Contact, Opportunity, SurveyResponse, Ticket, UsageDay

OPEN_STATUSES = frozenset({"new", "open", "pending", "hold"})
SEVERE = frozenset({"urgent", "high"})
SPONSOR_ROLES = frozenset({"executive_sponsor", "decision_maker"})
SENIORITY_CATEGORY = {
    "executive": "c_level",
    "vp": "vp",
    "director": "director",
    "manager": "manager",
}
SENIORITY_RANK = ("none", "manager", "director", "vp", "c_level")
TRUE_TEXT = frozenset({"true", "1", "yes", "y"})


# --- usage (Mixpanel UsageDay) -------------------------------------------------------


def days_between(usage: Sequence[UsageDay], first: date, last: date) -> list[UsageDay]:
    """Usage days with `first <= day <= last`."""
    return [u for u in usage if first <= u.day <= last]


def peak_users(days: Sequence[UsageDay]) -> int:
    """The most users active on one day."""
    return max((u.active_users for u in days), default=0)


def distinct_users(days: Sequence[UsageDay]) -> int:
    """Users active on any of `days`: their sketches merged, at least the busiest day's."""
    sketches = []
    for day in days:
        if day.users:
            try:
                sketches.append(DistinctUsers.decode(day.users))
            except ValueError:
                continue  # an unreadable sketch counts as none: the peak still bounds it
    return max(DistinctUsers.union(sketches).count(), peak_users(days))


def dau_mau(days: Sequence[UsageDay], window: int, mau: int) -> float:
    """Mean daily active users over `window` days (absent days count 0) / `mau`."""
    if mau == 0:
        return 0.0
    return sum(u.active_users for u in days) / window / mau


def minutes_per_user(days: Sequence[UsageDay], mau: int) -> float | None:
    """Minutes events lasted in `days` per monthly-active user; None without durations."""
    seconds = [u.active_seconds for u in days if u.active_seconds is not None]
    if not seconds:
        return None
    return sum(seconds) / 60 / mau if mau else 0.0


def feature_share(days: Sequence[UsageDay], key_features: Sequence[str]) -> float | None:
    """Share of the key features with at least one event in `days`."""
    if not key_features:
        return None
    used = {name for u in days for name, count in u.feature_events.items() if count > 0}
    return len(used & set(key_features)) / len(set(key_features))


def change(current: float, previous: float) -> float | None:
    """(current - previous) / previous; None without a base to compare against."""
    if previous <= 0:
        return 0.0 if current <= 0 else None
    return (current - previous) / previous


def sessions_per_user(days: Sequence[UsageDay], mau: int) -> float | None:
    """Sessions in `days` per monthly-active user; None without users."""
    return sum(u.sessions for u in days) / mau if mau else None


def last_seen(usage: Iterable[UsageDay]) -> datetime | None:
    """The last product event of any usage day."""
    return max((u.last_event_at for u in usage if u.last_event_at is not None), default=None)


# --- support (Zendesk tickets) --------------------------------------------------------


def is_open(ticket: Ticket) -> bool:
    """New, open, pending or on hold: not yet solved or closed."""
    return ticket.status.lower() in OPEN_STATUSES


def created_between(tickets: Sequence[Ticket], start: datetime, end: datetime) -> list[Ticket]:
    """Tickets created in [start, end)."""
    return [t for t in tickets if start <= t.created_at < end]


def severity_share(recent: Sequence[Ticket]) -> float | None:
    """Share of urgent + high tickets; None without tickets."""
    if not recent:
        return None
    return sum(1 for t in recent if t.priority in SEVERE) / len(recent)


# --- surveys --------------------------------------------------------------------------


def on_scale(answer: SurveyResponse, low: float, high: float) -> float:
    """The answer mapped linearly from its own scale onto [low, high]."""
    span = answer.scale_max - answer.scale_min
    if span <= 0:
        return high if answer.score >= answer.scale_max else low
    return low + (high - low) * (answer.score - answer.scale_min) / span


def latest_nps(answers: Sequence[SurveyResponse], since: datetime) -> float | None:
    """The most recent NPS answer since `since`, on 0-10."""
    recent = [a for a in answers if a.kind == "nps" and a.responded_at >= since]
    if not recent:
        return None
    latest = max(recent, key=lambda a: (a.responded_at, a.source, a.id))
    return round(on_scale(latest, 0.0, 10.0), 2)


def top_two_box(answer: SurveyResponse) -> bool:
    """Satisfied: one of the two highest points (a 2-point good/bad scale: the top one)."""
    if answer.scale_max - answer.scale_min >= 2:
        return answer.score >= answer.scale_max - 1
    return answer.score >= answer.scale_max


def csat_share(answers: Sequence[SurveyResponse]) -> float | None:
    """Top-2-box share of CSAT answers; None without answers."""
    if not answers:
        return None
    return sum(1 for a in answers if top_two_box(a)) / len(answers)


def csat_mean(answers: Sequence[SurveyResponse]) -> float | None:
    """Mean CSAT with every answer mapped onto 1-5 (Zendesk good 5, bad 1)."""
    if not answers:
        return None
    return round(fmean(on_scale(a, 1.0, 5.0) for a in answers), 4)


# --- CRM: opportunities, contacts ------------------------------------------------------


def is_won(opp: Opportunity) -> bool:
    """Closed won, by the flag or by a stage name containing "won"."""
    return opp.is_won or "won" in (opp.stage or "").lower()


def is_closed(opp: Opportunity) -> bool:
    """Closed (won or lost), by the flag or the stage name."""
    stage = (opp.stage or "").lower()
    return opp.is_closed or is_won(opp) or "closed" in stage or "lost" in stage


def latest_movement(opps: Sequence[Opportunity], today: date, since: date) -> str | None:
    """upsell / downgrade / stable from closed-won deals; None when no contract is known.

    The latest closed-won upsell, downgrade or renewal closed in [since, today] decides
    (a renewal is "stable"); without one, any closed-won deal means a contract in force
    with no movement: "stable".
    """
    won = [o for o in opps if is_won(o) and o.close_date is not None and o.close_date <= today]
    moves = [
        o
        for o in won
        if o.kind in ("upsell", "downgrade", "renewal") and o.close_date and o.close_date >= since
    ]
    if moves:
        latest = max(moves, key=lambda o: (o.close_date or today, o.id))
        return {"upsell": "upsell", "downgrade": "downgrade"}.get(latest.kind, "stable")
    return "stable" if won else None


def open_discussion(opps: Sequence[Opportunity]) -> str:
    """discount_request (an open downgrade), expansion (an open upsell) or none."""
    open_kinds = {o.kind for o in opps if not is_closed(o)}
    if "downgrade" in open_kinds:
        return "discount_request"
    return "expansion" if "upsell" in open_kinds else "none"


def has_left(contact: Contact, fields: Sequence[str]) -> bool:
    """Deleted, or a configured custom field (e.g. Left_Company__c) says the person left."""
    if contact.deleted:
        return True
    for name in fields:
        value = contact.custom.get(name)
        if value is True or (isinstance(value, str) and value.strip().lower() in TRUE_TEXT):
            return True
    return False


def recently_active(contact: Contact, since: datetime, responders: set[str]) -> bool:
    """Activity logged since `since`, or a survey answered since then."""
    seen = contact.last_activity_at is not None and contact.last_activity_at >= since
    return seen or contact.id in responders


def champion_status(
    champions: Sequence[Contact], left: set[str], since: datetime, responders: set[str]
) -> str | None:
    """left (every champion gone) / disengaged (none active since) / active; None if none."""
    if not champions:
        return None
    staying = [c for c in champions if c.id not in left]
    if not staying:
        return "left"
    known = [c for c in staying if c.last_activity_at is not None or c.id in responders]
    if known and not any(recently_active(c, since, responders) for c in known):
        return "disengaged"
    return "active"


def sponsor_seniority(sponsors: Sequence[Contact]) -> str:
    """The most senior sponsor's level (c_level, vp, director, manager), or none."""
    levels = [SENIORITY_CATEGORY.get(c.seniority, "none") for c in sponsors]
    return max(levels, key=SENIORITY_RANK.index, default="none")


def days_to(renewal: date | None, today: date) -> int | None:
    """Days from today to the renewal date; None if unknown or already past."""
    if renewal is None or renewal < today:
        return None
    return (renewal - today).days


def window(now: datetime, days: int) -> datetime:
    """The start of the `days`-long window that ends at `now`."""
    return now - timedelta(days=days)


def first_custom(accounts: Sequence[Account], *fields: str) -> object:
    """The first non-empty value of the custom fields across the customer's accounts
    (account by account, primary first). Names match whatever their case, as Salesforce
    API names do (the pull keeps the org's spelling)."""
    wanted = [field.lower() for field in fields]
    for account in accounts:
        values = {name.lower(): value for name, value in account.custom.items()}
        for field in wanted:
            value = values.get(field)
            if value is not None and value != "":
                return value
    return None
