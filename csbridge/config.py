"""Settings: one YAML file plus `CSBRIDGE_` environment variables.

Environment variables win over the file, nested keys joined by `__`, e.g.
`CSBRIDGE_DATABASE_URL` or `CSBRIDGE_SOURCES__HUBSPOT__ACCESS_TOKEN`, so secrets
can stay out of the file. Secrets are `SecretStr`: they print as `**********`.

`load_config(path)` turns every problem (missing file, bad YAML, unknown key,
wrong type) into one `CsbridgeError` line naming the file, the key and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from csbridge.errors import CsbridgeError
from csbridge.scoring.signal_types import SignalOptions, SignalSettings

ENV_PREFIX = "CSBRIDGE_"
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

    base_url: str
    email: str
    api_token: SecretStr
    plan: Literal[
        "essential", "team", "growth", "professional", "enterprise", "enterprise_plus"
    ] = "team"
    high_volume_api: bool = False
    requests_per_minute: int | None = Field(default=None, gt=0, description="overrides the plan")
    incremental_exports_per_minute: int | None = Field(default=None, gt=0)


class MixpanelSettings(_Section):
    """Mixpanel: service account auth; raw export and query API limits per project."""

    export_url: str = "https://data.mixpanel.com"
    api_url: str = "https://mixpanel.com"
    project_id: int
    service_account_username: str
    service_account_secret: SecretStr
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

    instance_url: str
    login_url: str = "https://login.salesforce.com"
    client_id: str
    client_secret: SecretStr
    api_version: str = "62.0"
    ca_bundle: str | None = None
    daily_quota_share: float = Field(default=0.5, gt=0, le=1)
    requests_per_second: float = Field(default=20.0, gt=0)


class HubspotSettings(_Section):
    """HubSpot: private-app token; the tier sets the 10-second limit."""

    base_url: str = "https://api.hubapi.com"
    access_token: SecretStr
    tier: Literal["free", "starter", "professional", "enterprise"] = "starter"
    requests_per_10s: int | None = Field(default=None, gt=0, description="overrides the tier")


class SourcesSettings(_Section):
    """The systems to pull from; a missing section means that source is not used."""

    zendesk: ZendeskSettings | None = None
    mixpanel: MixpanelSettings | None = None
    salesforce: SalesforceSettings | None = None
    hubspot: HubspotSettings | None = None


class CrmTargetSettings(_Section):
    """How csbridge writes into one CRM (connection settings live under sources.<crm>)."""

    mapping: str | None = Field(default=None, description="field mapping file over the defaults")
    fallback_owner_id: str | None = Field(
        default=None, description="task owner when the account has none"
    )
    batch_size: int | None = Field(
        default=None, gt=0, description="records per write call (default: the API's maximum)"
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


class NotificationSettings(_Section):
    """Where rule notifications go: a Slack incoming webhook and/or a signed generic webhook."""

    slack_webhook_url: SecretStr | None = Field(
        default=None, description="Slack incoming-webhook URL (a secret: it authorises posting)"
    )
    webhook_url: str | None = Field(default=None, description="Standard Webhooks receiver URL")
    webhook_secret: SecretStr | None = Field(default=None, description="whsec_... signing secret")
    timeout_seconds: float = Field(
        default=5.0, gt=0, description="connect and read timeout of one post (at most http's)"
    )
    budget_seconds: float = Field(
        default=30.0, gt=0, description="time all notifications may take in a run, retries included"
    )
    max_failures: int = Field(
        default=3, ge=1, description="failures in a row after which a channel is not tried again"
    )


class IdentitySettings(_Section):
    """Which value joins one customer across systems."""

    key: Literal["domain", "external_id"] = "domain"


WebhookSource = Literal[
    "hubspot", "zendesk", "standard", "gainsight", "churnzero", "totango", "vitally", "planhat"
]


class WebhookSourceSettings(_Section):
    """One sender: its secrets (several during a rotation) and, for CS platforms, the scheme."""

    secrets: list[SecretStr] = Field(default_factory=list, description="newest first")
    scheme: Literal["token", "hmac"] = Field(
        default="token", description="CS platforms: shared-secret header or HMAC-SHA256 of body"
    )
    header: str | None = Field(default=None, description="CS platforms: header carrying it")


class WebhookSettings(_Section):
    """The webhook service: limits, the public URL HubSpot signs, and the senders."""

    max_body_bytes: int = Field(default=256 * 1024, gt=0)
    tolerance_seconds: int = Field(default=300, gt=0)
    public_url: str | None = Field(default=None, description="scheme://host as senders call it")
    lease_seconds: float = Field(default=60.0, gt=0, description="a claimed row is reclaimed after")
    worker_in_serve: bool = False
    sources: dict[WebhookSource, WebhookSourceSettings] = Field(default_factory=dict)


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
    http: HttpSettings = Field(default_factory=HttpSettings)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    crm: CrmSettings = Field(default_factory=CrmSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    rules: str | None = Field(default=None, description="playbook rules file over the defaults")
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    signals: SignalSettings = Field(default_factory=SignalSettings)

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
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise CsbridgeError(describe_errors(label, exc)) from None


def describe_errors(label: str, exc: ValidationError) -> str:
    """One line listing each invalid key with the fix; input values are never echoed."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        parts.append(f"{key}: {_fix(key, error['type'], error['msg'])}")
    return f"{label}: " + "; ".join(parts)


def _fix(key: str, kind: str, message: str) -> str:
    env = ENV_PREFIX + key.upper().replace(".", "__")
    if kind == "missing":
        return f"required; add it to the file or set {env}"
    if kind == "extra_forbidden":
        return "unknown key; remove it or check its spelling"
    return f"{message[0].lower()}{message[1:]}; correct the value"
