"""The data the signals are computed from and into, and the options behind them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from csbridge.models import (
    Account,
    Activity,
    Contact,
    IndicatorValue,
    Opportunity,
    SurveyResponse,
    Ticket,
    UsageDay,
)

SignalValue = float | int | str
CRMS = ("salesforce", "hubspot")


FieldNames = Annotated[
    tuple[str, ...], BeforeValidator(lambda v: (v,) if isinstance(v, str) else v)
]
SEGMENT_ATTRIBUTE_FIELDS: dict[str, tuple[str, ...]] = {
    "fit": ("Strategic_Fit__c", "cs_strategic_fit"),
    "potential": ("Expansion_Potential__c", "cs_expansion_potential"),
}
"""The picklists `init-crm` creates for CSMs (Salesforce Account, HubSpot company)."""
INPUT_FIELDS: dict[str, tuple[str, ...]] = {
    "relationship_quality": ("Relationship_Quality__c", "cs_relationship_quality"),
    "community_activity": ("Community_Level__c", "cs_community_level"),
    "referrals": ("Referrals_12m__c", "cs_referrals_12m"),
    "payment_delay": ("Days_Past_Due__c", "cs_days_past_due"),
}
"""The fields `init-crm` creates for CSMs (and, days past due, a billing integration)."""
EXEC_TITLES = r"\b(chief|c[a-z]{1,2}o|c-level|founder|president|vp|svp|evp|director|head of)\b"
"""Contact titles that make an executive for exec_logins: C-level, VP, director."""


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression ({exc})") from None
    return value


class SignalSettings(BaseModel):
    """Choices behind the signals: the `signals:` section of the config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    session_benchmark: float | None = Field(
        default=None, gt=0, description="sessions per user per 30 d; unset: portfolio median"
    )
    time_benchmark: float | None = Field(
        default=None, gt=0, description="minutes per user per 30 d; unset: portfolio median"
    )
    csat_unit: Literal["share", "mean"] | None = Field(
        default=None, description="unset: from the model's csat anchors"
    )
    aged_ticket_days: int = Field(default=7, ge=0, description="an open ticket older is aged")
    left_company_fields: tuple[str, ...] = Field(
        default=("Left_Company__c", "left_company"),
        description="contact fields that say the person left",
    )
    custom_fields: dict[str, str] = Field(
        default_factory=dict, description="model indicator key → account field that feeds it"
    )
    attribute_fields: dict[str, FieldNames] = Field(
        default_factory=lambda: dict(SEGMENT_ATTRIBUTE_FIELDS),
        description="segment attribute → account fields it is read from (first non-empty)",
    )
    input_fields: Annotated[dict[str, FieldNames], AfterValidator(lambda v: INPUT_FIELDS | v)] = (
        Field(
            default_factory=lambda: dict(INPUT_FIELDS),
            description="indicator → account fields CSMs or billing fill (first non-empty); "
            "entries given replace the default of their indicator",
        )
    )
    exec_titles: Annotated[str, AfterValidator(_regex)] = Field(
        default=EXEC_TITLES,
        description="regular expression (case-insensitive) on contact titles: executives",
    )

    def account_fields(self) -> list[tuple[str, tuple[str, ...]]]:
        """(config key, account fields) of every entry this section names itself, beyond
        the defaults (the fields `init-crm` creates, which the CRM sources always read).

        The CRM sources pull these too; an entry none of whose fields a CRM has is
        reported once per pull (`signals.custom_fields: Salesforce Account has no field X`).
        """
        defaults = {**SEGMENT_ATTRIBUTE_FIELDS, **INPUT_FIELDS}
        entries: list[tuple[str, tuple[str, ...]]] = [
            ("signals.custom_fields", (name,)) for name in self.custom_fields.values()
        ]
        for key, fields in (
            ("signals.attribute_fields", self.attribute_fields),
            ("signals.input_fields", self.input_fields),
        ):
            entries += [(key, names) for k, names in fields.items() if defaults.get(k) != names]
        return list(dict.fromkeys(entries))


class SignalOptions(SignalSettings):
    """The settings plus the key features (`sources.mixpanel.key_features`)."""

    key_features: tuple[str, ...] = ()  # none named: feature adoption has no data


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
    activities: Sequence[Activity] = ()
    indicators: Sequence[IndicatorValue] = ()
    crm: str | None = None
    systems: frozenset[str] = frozenset()

    def primary_crm_only(self) -> CustomerFacts:
        """A copy whose contacts, deals, survey answers and activities come from the
        primary CRM only (plus Zendesk / Mixpanel), so a company kept in both CRMs is not
        counted twice."""
        return replace(
            self,
            contacts=[c for c in self.contacts if self._kept(c.source)],
            opportunities=[o for o in self.opportunities if self._kept(o.source)],
            surveys=[a for a in self.surveys if self._kept(a.source)],
            activities=[a for a in self.activities if self._kept(a.source)],
        )

    def _kept(self, source: str) -> bool:
        return source == self.crm or source not in CRMS


@dataclass(frozen=True)
class CustomerSignals:
    """The model-keyed raw values, the segment attributes, the last product event and
    which values a source gave as is."""

    key: str
    values: dict[str, SignalValue]
    attributes: dict[str, Any] = field(default_factory=dict)
    last_seen_at: datetime | None = None
    catalogue: dict[str, SignalValue] = field(default_factory=dict)
    """Every signal with data by indicator name, whatever the model (for the playbooks:
    e.g. `champion_present`, `license_utilization`)."""
    given_by: dict[str, str] = field(default_factory=dict)
    """Model key → the source that gave its value as is (`warehouse`), for the keys of
    `values` that were neither computed nor read from a CRM field (the "why" says so)."""
