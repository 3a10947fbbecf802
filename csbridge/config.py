"""Settings: one YAML file plus `CSBRIDGE_` environment variables.

Environment variables win over the file, nested keys joined by `__`, e.g.
`CSBRIDGE_DATABASE_URL` or `CSBRIDGE_SOURCES__HUBSPOT__ACCESS_TOKEN`, so secrets
can stay out of the file. Secrets are `SecretStr`: they print as `**********`.

`load_config(path)` turns every problem (missing file, bad YAML, unknown key,
wrong type) into one `CsbridgeError` line naming the file, the key and the fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from csbridge.config_types import CaBundle, Secret, Url
from csbridge.errors import CsbridgeError
from csbridge.scoring.signal_types import SignalOptions, SignalSettings

ENV_PREFIX = "CSBRIDGE_"
# `CSBRIDGE_` variables read elsewhere (the CLI's log level, webhook secrets by sender)
OTHER_ENV = re.compile(r"CSBRIDGE_(LOG_LEVEL|WEBHOOK_SECRET_\w+)")
DEFAULT_DATABASE_URL = "sqlite:///./csbridge.db"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(_Section):
    """Timeouts and retry bounds shared by every API client."""

    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=6, ge=1, le=20)
    max_retry_seconds: float = Field(default=300.0, gt=0, description="total time across retries")
    retry_after_cap: float = Field(default=120.0, gt=0, description="longest Retry-After honoured")


class ZendeskSettings(_Section):
    """Zendesk Support: API token auth; the plan sets the per-minute limit."""

    base_url: Url
    email: str
    api_token: Secret
    plan: Literal[
        "essential", "team", "growth", "professional", "enterprise", "enterprise_plus"
    ] = "team"
    high_volume_api: bool = False
    requests_per_minute: int | None = Field(default=None, gt=0, description="overrides the plan")
    incremental_exports_per_minute: int | None = Field(default=None, gt=0)


class MixpanelSettings(_Section):
    """Mixpanel: service account auth; raw export and query API limits per project."""

    export_url: Url = "https://data.mixpanel.com"
    api_url: Url = "https://mixpanel.com"
    project_id: int
    service_account_username: str
    service_account_secret: Secret
    timezone: str = "UTC"
    group_key: str = "company_domain"
    lookback_days: int = Field(default=2, ge=0)
    queries_per_hour: int = Field(default=60, gt=0)
    queries_per_second: float = Field(default=3.0, gt=0)
    key_features: tuple[str, ...] = Field(
        default=(), description="the product's key features (feature adoption); none: no data"
    )
    feature_property: str | None = Field(
        default=None, description="event property naming the feature used; unset: event name"
    )
    duration_property: str | None = Field(
        default=None, description="event property with a duration in seconds (time in product)"
    )


class SalesforceSettings(_Section):
    """Salesforce: OAuth client credentials; a share of the org's daily API quota."""

    instance_url: Url
    login_url: Url = "https://login.salesforce.com"
    client_id: str
    client_secret: Secret
    api_version: str = "62.0"
    ca_bundle: CaBundle | None = None
    daily_quota_share: float = Field(default=0.5, gt=0, le=1)
    requests_per_second: float = Field(default=20.0, gt=0)


class HubspotSettings(_Section):
    """HubSpot: private-app token; the tier sets the 10-second limit."""

    base_url: Url = "https://api.hubapi.com"
    access_token: Secret
    tier: Literal["free", "starter", "professional", "enterprise"] = "starter"
    requests_per_10s: int | None = Field(default=None, gt=0, description="overrides the tier")
    search_requests_per_second: float = Field(default=4.0, gt=0)


class WarehouseQuery(_Section):
    """One named query: SQL run in the warehouse, reading rows keyed by the identity key.

    The SQL must use the bound parameter `:watermark` (e.g. `WHERE loaded_at >=
    :watermark`) and return the `watermark` column, ordered by it; usage rows carry
    `account`, `day`, `active_users`, `sessions`, `events` (optionally `last_event_at`);
    signals rows carry `account`, `indicator` (a model key, `financial.payment_delay`)
    and `value` (optionally `as_of`: each dated value is kept as history).
    """

    sql: str = Field(min_length=1)
    kind: Literal["usage", "signals"] = Field(
        default="usage", description="usage: daily usage rows; signals: indicator values"
    )
    watermark: str = Field(default="loaded_at", min_length=1, description="the cursor's column")
    start: str = Field(
        default="1970-01-01T00:00:00+00:00",
        description="the watermark of a first run (ISO time, or an integer)",
    )


class WarehouseSettings(_Section):
    """A SQL warehouse (any SQLAlchemy URL) whose named queries return aggregated facts."""

    url: Secret = Field(description="SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@host/db")
    batch_size: int = Field(default=10_000, gt=0, description="rows read per streamed batch")
    queries: dict[str, WarehouseQuery] = Field(min_length=1)


class SourcesSettings(_Section):
    """The systems to pull from; a missing section means that source is not used."""

    zendesk: ZendeskSettings | None = None
    mixpanel: MixpanelSettings | None = None
    salesforce: SalesforceSettings | None = None
    hubspot: HubspotSettings | None = None
    warehouse: WarehouseSettings | None = None


class CrmTargetSettings(_Section):
    """How csbridge writes into one CRM (connection settings live under sources.<crm>)."""

    mapping: str | None = Field(default=None, description="field mapping file over the defaults")
    fallback_owner_id: str | None = Field(
        default=None, description="task owner when the account has none"
    )
    batch_size: int | None = Field(
        default=None,
        gt=0,
        description="records per write call (default and cap: the API's maximum)",
    )
    bulk_threshold: int = Field(
        default=2000, gt=0, description="Salesforce: more changed records than this use Bulk 2.0"
    )
    task_lookup_delay: float = Field(
        default=10.0, ge=0, description="HubSpot: search index lag to wait out before a lookup"
    )


class CrmSettings(_Section):
    """The CRMs csbridge writes health back into."""

    targets: list[Literal["salesforce", "hubspot"]] = Field(default_factory=list)
    salesforce: CrmTargetSettings = Field(default_factory=CrmTargetSettings)
    hubspot: CrmTargetSettings = Field(default_factory=CrmTargetSettings)


EventKind = Literal[
    "band_changed",
    "segment_changed",
    "churn_risk_opened",
    "churn_risk_closed",
    "run_finished",
    "run_failed",
    "run_stopped",
]


class NotificationSettings(_Section):
    """Where rule notifications go: a Slack incoming webhook and/or a signed generic webhook."""

    slack_webhook_url: Secret | None = Field(
        default=None, description="Slack incoming-webhook URL (a secret: it authorises posting)"
    )
    webhook_url: Url | None = Field(default=None, description="Standard Webhooks receiver URL")
    webhook_secret: Secret | None = Field(default=None, description="whsec_... signing secret")
    timeout_seconds: float = Field(
        default=5.0, gt=0, description="connect and read timeout of one post (at most http's)"
    )
    budget_seconds: float = Field(
        default=30.0, gt=0, description="time all notifications may take in a run, retries included"
    )
    max_failures: int = Field(
        default=3, ge=1, description="failures in a row after which a channel is not tried again"
    )
    events: list[EventKind] = Field(
        default_factory=list,
        description="outbound events posted to webhook_url (failed/stopped runs also to Slack)",
    )


class IdentitySettings(_Section):
    """Which value joins one customer across systems."""

    key: Literal["domain", "external_id"] = "domain"


WebhookSource = Literal[
    "hubspot", "zendesk", "standard", "gainsight", "churnzero", "totango", "vitally", "planhat"
]


class WebhookSourceSettings(_Section):
    """One sender: its secrets (several during a rotation) and, for CS platforms, the scheme."""

    secrets: list[Secret] = Field(default_factory=list, description="newest first")
    scheme: Literal["token", "hmac"] = Field(
        default="token", description="CS platforms: shared-secret header or HMAC-SHA256 of body"
    )
    header: str | None = Field(default=None, description="CS platforms: header carrying it")


class WebhookSettings(_Section):
    """The webhook service: limits, the public URL HubSpot signs, and the senders."""

    max_body_bytes: int = Field(default=256 * 1024, gt=0)
    body_timeout_seconds: float = Field(
        default=10.0, gt=0, description="408 when a body takes longer to arrive"
    )
    tolerance_seconds: int = Field(default=300, gt=0)
    public_url: Url | None = Field(default=None, description="scheme://host as senders call it")
    lease_seconds: float = Field(default=60.0, gt=0, description="a claimed row is reclaimed after")
    worker_in_serve: bool = False
    alert_hold_days: float = Field(
        default=14,
        gt=0,
        description="a CS platform's score alert drives the churn-risk rule this long",
    )
    sources: dict[WebhookSource, WebhookSourceSettings] = Field(default_factory=dict)


class CrmNoteSettings(_Section):
    """Reports attached to each account in the CRM as a note, once per period (off by default)."""

    review: Literal["monthly", "quarterly", "off"] = Field(
        default="off", description="the Customer Success Review: once a month or a quarter"
    )
    qbr: Literal["quarterly", "off"] = Field(
        default="off", description="the QBR prep of the quarter, at its first run"
    )
    crms: list[Literal["salesforce", "hubspot"]] = Field(
        default_factory=list, description="CRMs the notes go to; empty: every crm.targets"
    )


class ReportSettings(_Section):
    """What `csbridge run` does with the reports."""

    crm_notes: CrmNoteSettings = Field(default_factory=CrmNoteSettings)


class Settings(BaseSettings):
    """The whole configuration of a csbridge deployment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    database_url: str = DEFAULT_DATABASE_URL
    model: str = "seed-5d"
    model_per_segment: dict[str, str] = Field(
        default_factory=dict,
        description="segment → the model (preset or YAML file) that scores its accounts",
    )
    http: HttpSettings = Field(default_factory=HttpSettings)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    crm: CrmSettings = Field(default_factory=CrmSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    rules: str | None = Field(default=None, description="playbook rules file over the defaults")
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    signals: SignalSettings = Field(default_factory=SignalSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)

    def signal_options(self) -> SignalOptions:
        """The `signals:` section with the Mixpanel project's key features."""
        mixpanel = self.sources.mixpanel
        return SignalOptions(
            **self.signals.model_dump(), key_features=mixpanel.key_features if mixpanel else ()
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then the file's values (passed as init arguments)."""
        return (env_settings, init_settings)


def load_config(path: str | Path | None) -> Settings:
    """Read the YAML file at `path` (or nothing if None) merged with the environment."""
    label = str(path) if path is not None else "environment"
    data: Any = {}
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise CsbridgeError(f"{file}: config file not found; pass an existing file to --config")
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise CsbridgeError(f"{file}: not valid YAML{where}; fix the syntax there") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CsbridgeError(f"{file}: cannot read ({exc.__class__.__name__})") from None
        if not isinstance(data, dict):
            raise CsbridgeError(
                f"{file}: the top level must be a mapping of keys (database_url: …)"
            )
    env = {name.upper() for name in os.environ if name.upper().startswith(ENV_PREFIX)}
    _check_env_names(env)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise CsbridgeError(describe_errors(label, exc, env)) from None
    except SettingsError as exc:  # a list or mapping variable that is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        top = f"{ENV_PREFIX}{field.group(1).upper()}" if field else ENV_PREFIX
        names = ", ".join(sorted(n for n in env if n == top or n.startswith(top + "__")))
        raise CsbridgeError(
            f"environment variable {names or top}: cannot be parsed; a list or mapping is "
            "written as JSON, e.g. CSBRIDGE_CRM__TARGETS='[\"salesforce\"]'"
        ) from None


def _check_env_names(env: set[str]) -> None:
    """Refuse a `CSBRIDGE_` variable that names no setting (it would be ignored silently)."""
    for name in sorted(env):
        top = name[len(ENV_PREFIX) :].split("__", 1)[0].lower()
        if top not in Settings.model_fields and not OTHER_ENV.fullmatch(name):
            raise CsbridgeError(
                f"environment variable {name}: unknown csbridge setting; unset it or fix its "
                "spelling (nested keys are joined by __: CSBRIDGE_SOURCES__HUBSPOT__ACCESS_TOKEN)"
            )


def describe_errors(label: str, exc: ValidationError, env: AbstractSet[str] = frozenset()) -> str:
    """One line listing each invalid key with the fix; input values are never echoed.

    A key set by an environment variable is named by that variable, not by `label`.
    """
    from_file, from_env = [], []
    for error in exc.errors(include_input=False, include_url=False):
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc) or "(top level)"
        names = [_env_name(loc[:n]) for n in range(len(loc), 0, -1)]
        variable = next((name for name in names if name in env), None)
        if variable is not None:
            from_env.append(
                f"environment variable {variable}: {_fix(error['type'], error['msg'], None)}"
            )
        else:
            from_file.append(f"{key}: {_fix(error['type'], error['msg'], _env_name(loc))}")
    parts = ([f"{label}: " + "; ".join(from_file)] if from_file else []) + from_env
    return "; ".join(parts)


def _env_name(loc: list[str]) -> str:
    return ENV_PREFIX + "__".join(loc).upper()


def _fix(kind: str, message: str, env: str | None) -> str:
    """The fix for one error; `env` is the key's variable when the key came from the file."""
    if kind == "missing":
        return f"required; add it to the file or set {env}"
    if kind == "extra_forbidden":
        return "unknown key; " + ("remove it" if env else "unset it") + " or check its spelling"
    if kind == "empty_secret":
        return "empty; give the secret a value" + (f" in the file or in {env}" if env else "")
    message = message.removeprefix("Value error, ")
    fix = "" if kind == "value_error" else "; correct the value"
    return f"{message[0].lower()}{message[1:]}{fix}"
