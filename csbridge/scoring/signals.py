"""Raw health signals of one customer, from its stored facts and `now` (pure: no I/O, no clock).

`compute_signals(facts, now, model, options)` returns the raw value of every indicator
of `model` that these sources can feed, keyed like the model (`usage.dau_mau`), in the
units the presets expect. An indicator the facts cannot feed is left out: the engine
then renormalises and the score's `coverage` says how much of the model had data.
Signals are computed *for a model* because two presets give one indicator name two
units (`csat`: a top-2-box share in seed-5d, a 1-5 mean in seed-6d); the model's own
transform decides (see CSAT below), so a custom YAML model works the same way.

Windows end at `now`. Usage windows are whole days: the 30 days before `now`'s date
(the current day is still partial), the "previous 30" the 30 before those.

Which facts count: the customer's CRM facts (contacts, deals, NPS/CSAT answers from a
CRM) come from ONE CRM, the primary one (`CustomerFacts.crm`: the first of
Salesforce, HubSpot that holds the customer), so a company kept in both CRMs is not
counted twice. Zendesk and Mixpanel facts are always used. Usage indicators need the
customer to have usage days in Mixpanel at all (then 30 silent days give 0, not
"missing"); ticket indicators need a matched Zendesk organization or tickets.

Rules (indicator: raw value):

- dau_mau: mean daily active users over 30 d (days without usage count 0) / monthly
  active users. UsageDay has no user ids, so MAU is the peak daily active users of the
  window, a lower bound: the ratio is an upper bound of the true DAU/MAU.
- feature_adoption (5d), feature_breadth (6d): key features with an event in 30 d /
  key features (`options.key_features`; default: the sandbox's product events, every
  event name but "Logged In"). Mixpanel usage is folded by event name, so a "feature"
  is an event name.
- session_frequency: sessions per monthly-active user over 30 d / the benchmark
  (`options.session_benchmark`, else the portfolio's median, computed by the caller
  with `sessions_per_user`); missing without either.
- usage_trend: (events in the last 30 d - events in the previous 30 d) / previous;
  0 when both are 0; missing when only the previous is 0.
- license_utilization: monthly-active users / seats purchased (primary CRM account);
  without usage, the CRM's seats used / seats purchased; missing without seats.
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

Not fed by these sources (missing unless mapped to a custom field): time_in_product,
email_open_rate, webinar_attendance, support_engagement, community_activity,
referrals, qbr_participation, exec_logins, event_participation, comms_response,
ticket_sentiment, feedback_sentiment, payment_delay, relationship_quality.
`last_seen_at` (the last product event) is returned beside the values for the
silent-account rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from csbridge.models import Account, Contact, Opportunity, SurveyResponse, Ticket, UsageDay
from csbridge.scoring import signal_rules as rule
from csbridge.scoring.model import LinearTransform, ScoringModel

SANDBOX_KEY_FEATURES = (
    "Viewed Dashboard",
    "Ran Report",
    "Created Report",
    "Exported Data",
    "Used Feature",
    "Invited User",
    "Updated Settings",
)
CRMS = ("salesforce", "hubspot")
SignalValue = float | int | str
T = TypeVar("T", Contact, Opportunity, SurveyResponse)


class SignalOptions(BaseModel):
    """Choices behind the signals (the `--signals` file of `csbridge health`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_features: tuple[str, ...] = SANDBOX_KEY_FEATURES
    session_benchmark: float | None = Field(default=None, gt=0)
    csat_unit: Literal["share", "mean"] | None = None
    aged_ticket_days: int = Field(default=7, ge=0)
    left_company_fields: tuple[str, ...] = ("Left_Company__c", "left_company")
    custom_fields: dict[str, str] = Field(default_factory=dict)
    attribute_fields: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class CustomerFacts:
    """Everything stored about one customer, across systems (see `csbridge.sync.portfolio`).

    `accounts` lists the primary CRM's account first; `crm` names that CRM; `systems`
    the systems whose accounts matched the customer.
    """

    key: str
    accounts: Sequence[Account] = ()
    contacts: Sequence[Contact] = ()
    opportunities: Sequence[Opportunity] = ()
    tickets: Sequence[Ticket] = ()
    surveys: Sequence[SurveyResponse] = ()
    usage: Sequence[UsageDay] = ()
    crm: str | None = None
    systems: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CustomerSignals:
    """The model-keyed raw values, the segment attributes and the last product event."""

    key: str
    values: dict[str, SignalValue]
    attributes: dict[str, Any] = field(default_factory=dict)
    last_seen_at: datetime | None = None


def compute_signals(
    facts: CustomerFacts,
    now: datetime,
    model: ScoringModel,
    options: SignalOptions | None = None,
    benchmark: float | None = None,
) -> CustomerSignals:
    """The raw values of `model`'s indicators for one customer (see the module doc)."""
    opts = options or SignalOptions()
    raw = catalogue(facts, now, opts, csat_unit(model, opts), opts.session_benchmark or benchmark)
    values: dict[str, SignalValue] = {}
    for dim_name, dim in model.dimensions.items():
        for name in dim.indicators:
            key = f"{dim_name}.{name}"
            mapped = opts.custom_fields.get(key)
            value = rule.first_custom(facts.accounts, mapped) if mapped else None
            if value is None:
                value = raw.get(name)
            if isinstance(value, int | float | str) and not isinstance(value, bool):
                values[key] = value
    attributes: dict[str, Any] = {}
    primary = facts.accounts[0] if facts.accounts else None
    if primary is not None and primary.arr is not None:
        attributes["arr"] = primary.arr
    for attribute, name in opts.attribute_fields.items():
        value = rule.first_custom(facts.accounts, name)
        if value is not None:
            attributes[attribute] = value
    return CustomerSignals(facts.key, values, attributes, rule.last_seen(facts.usage))


def portfolio_signals(
    customers: Sequence[CustomerFacts],
    now: datetime,
    model: ScoringModel,
    options: SignalOptions | None = None,
) -> list[CustomerSignals]:
    """Signals of every customer; session_frequency against the portfolio's median."""
    opts = options or SignalOptions()
    benchmark = opts.session_benchmark or portfolio_benchmark(
        [sessions_per_user(c, now) for c in customers]
    )
    return [compute_signals(c, now, model, opts, benchmark) for c in customers]


def csat_unit(model: ScoringModel, options: SignalOptions) -> Literal["share", "mean"]:
    """ "share" when configured so or when the model's csat anchors lie within 0..1."""
    if options.csat_unit is not None:
        return options.csat_unit
    for dim in model.dimensions.values():
        transform = dim.indicators["csat"].transform if "csat" in dim.indicators else None
        if isinstance(transform, LinearTransform):
            inside = max(abs(transform.zero_at), abs(transform.full_at)) <= 1.0
            return "share" if inside else "mean"
    return "share"


def catalogue(
    facts: CustomerFacts,
    now: datetime,
    options: SignalOptions,
    unit: Literal["share", "mean"],
    benchmark: float | None,
) -> dict[str, SignalValue | None]:
    """Every signal these sources can feed, by indicator name (None: no data)."""
    out: dict[str, SignalValue | None] = {}
    out.update(usage_signals(facts, now, options, benchmark))
    out.update(support_signals(facts, now, options))
    out.update(survey_signals(facts, now, unit))
    out.update(crm_signals(facts, now, options))
    return out


def usage_windows(facts: CustomerFacts, now: datetime) -> list[list[UsageDay]]:
    """Usage days of the last 30 d, the 30 d before, and days 61-90 before `now`'s date."""
    today = now.date()
    return [
        rule.days_between(
            facts.usage, today - timedelta(days=30 * (k + 1)), today - timedelta(days=30 * k + 1)
        )
        for k in range(3)
    ]


def sessions_per_user(facts: CustomerFacts, now: datetime) -> float | None:
    """Sessions per monthly-active user over the last 30 d (for the portfolio benchmark)."""
    return rule.sessions_per_user(usage_windows(facts, now)[0])


def portfolio_benchmark(values: Sequence[float | None]) -> float | None:
    """The median of the customers' sessions per user (those with usage)."""
    known = [v for v in values if v is not None and v > 0]
    return median(known) if known else None


def usage_signals(
    facts: CustomerFacts, now: datetime, options: SignalOptions, benchmark: float | None
) -> dict[str, SignalValue | None]:
    """dau_mau, feature adoption/breadth, session_frequency, usage_trend, users, licences."""
    primary = facts.accounts[0] if facts.accounts else None
    seats = primary.seats_purchased if primary is not None else None
    if not facts.usage:
        used = primary.seats_used if primary is not None else None
        share = used / seats if used is not None and seats else None
        return {"license_utilization": share}
    last, previous, quarter_ago = usage_windows(facts, now)
    mau = rule.peak_users(last)
    features = rule.feature_share(last, options.key_features)
    per_user = rule.sessions_per_user(last)
    frequency = per_user / benchmark if per_user is not None and benchmark else None
    if mau == 0 and benchmark:
        frequency = 0.0
    return {
        "dau_mau": round(rule.dau_mau(last, 30), 4),
        "feature_adoption": features,
        "feature_breadth": features,
        "session_frequency": None if frequency is None else round(frequency, 4),
        "usage_trend": rule.change(sum(u.events for u in last), sum(u.events for u in previous)),
        "license_utilization": round(mau / seats, 4) if seats else None,
        "user_expansion": rule.change(mau, rule.peak_users(quarter_ago)),
    }


def support_signals(
    facts: CustomerFacts, now: datetime, options: SignalOptions
) -> dict[str, SignalValue | None]:
    """support_tickets, aged_open_tickets, severity_share, ticket_volume_trend."""
    if "zendesk" not in facts.systems and not facts.tickets:
        return {}
    tickets = facts.tickets
    recent = rule.created_between(tickets, rule.window(now, 90), now)
    before = rule.created_between(tickets, rule.window(now, 180), rule.window(now, 90))
    aged_before = rule.window(now, options.aged_ticket_days)
    return {
        "support_tickets": sum(1 for t in recent if rule.is_open(t)),
        "aged_open_tickets": sum(
            1 for t in tickets if rule.is_open(t) and t.created_at < aged_before
        ),
        "severity_share": rule.severity_share(recent),
        "ticket_volume_trend": rule.change(len(recent), len(before)),
    }


def survey_signals(
    facts: CustomerFacts, now: datetime, unit: Literal["share", "mean"]
) -> dict[str, SignalValue | None]:
    """nps (latest in 365 d) and csat (90 d, in the model's unit)."""
    answers = crm_only(facts.surveys, facts.crm)
    since = rule.window(now, 90)
    csat = [a for a in answers if a.kind == "csat" and since <= a.responded_at <= now]
    value = rule.csat_share(csat) if unit == "share" else rule.csat_mean(csat)
    recent_nps = [a for a in answers if a.responded_at <= now]
    return {
        "nps": rule.latest_nps(recent_nps, rule.window(now, 365)),
        "csat": None if value is None else round(value, 4),
    }


def crm_signals(
    facts: CustomerFacts, now: datetime, options: SignalOptions
) -> dict[str, SignalValue | None]:
    """Contract movement, open discussions, contacts, sponsor, champion, renewal."""
    today = now.date()
    opps = crm_only(facts.opportunities, facts.crm)
    movement = rule.latest_movement(opps, today, today - timedelta(days=365))
    plan = {"upsell": "upgrade"}.get(movement or "", movement)
    out: dict[str, SignalValue | None] = {
        "contract_growth": movement,
        "plan_movement": plan,
        "commercial_discussions": rule.open_discussion(opps) if facts.crm else None,
        "renewal_proximity": rule.days_to(facts.accounts[0].renewal_date, today)
        if facts.crm and facts.accounts
        else None,
    }
    contacts = crm_only(facts.contacts, facts.crm)
    if not contacts:
        return out
    left = {c.id for c in contacts if rule.has_left(c, options.left_company_fields)}
    active = [c for c in contacts if c.id not in left]
    since = rule.window(now, 90)
    responders = {a.contact_id for a in facts.surveys if a.contact_id and a.responded_at >= since}
    sponsors = [c for c in active if "executive_sponsor" in c.roles]
    if not sponsors:
        sponsor = "none"
    elif any(rule.recently_active(c, since, responders) for c in sponsors):
        sponsor = "engaged"
    else:
        sponsor = "identified"
    champions = [c for c in contacts if "champion" in c.roles]
    out.update(
        multi_threading=len(active),
        contacts_count=len(active),
        exec_sponsor=sponsor,
        sponsor_seniority=rule.sponsor_seniority(
            [c for c in active if rule.SPONSOR_ROLES & set(c.roles)]
        ),
        champion_present=rule.champion_status(champions, left, since, responders),
    )
    return out


def crm_only(facts: Sequence[T], crm: str | None) -> list[T]:
    """Facts from the primary CRM or from a system that is not a CRM."""
    return [f for f in facts if f.source == crm or f.source not in CRMS]
