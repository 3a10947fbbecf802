"""Key features: a user's Mixpanel project names its own; the sandbox's config names the
sandbox's, so nobody inherits the sandbox's event names by default."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from csbridge.cli import main
from csbridge.commands.health import load_options
from csbridge.config import Settings, load_config
from csbridge.connectors.hubspot.records import HubspotMapping
from csbridge.connectors.salesforce.soql import SalesforceMapping
from csbridge.errors import CsbridgeError
from csbridge.mappings.fields import load_field_mapping
from csbridge.scoring.signal_types import SEGMENT_ATTRIBUTE_FIELDS
from csbridge_sandbox.world.names import FEATURES

MIXPANEL = {
    "project_id": 1,
    "service_account_username": "sa",
    "service_account_secret": "s3cret",
}


def settings(**mixpanel: object) -> Settings:
    return Settings.model_validate({"sources": {"mixpanel": {**MIXPANEL, **mixpanel}}})


def test_a_mixpanel_project_without_key_features_scores_no_adoption() -> None:
    options = load_options(None, settings())
    assert options.key_features == ()
    assert not set(FEATURES) & set(options.key_features)


def test_the_configured_key_features_are_used_and_a_signals_file_overrides_them(
    tmp_path: Path,
) -> None:
    configured = settings(key_features=["Ran Report", "Shared Board"])
    assert load_options(None, configured).key_features == ("Ran Report", "Shared Board")
    signals = tmp_path / "signals.yaml"
    signals.write_text(yaml.safe_dump({"key_features": ["Exported Data"]}))
    assert load_options(str(signals), configured).key_features == ("Exported Data",)
    signals.write_text(yaml.safe_dump({"aged_ticket_days": 3}))
    kept = load_options(str(signals), configured)
    assert kept.key_features == ("Ran Report", "Shared Board") and kept.aged_ticket_days == 3


def test_the_sandbox_config_names_the_sandbox_features_and_durations() -> None:
    from csbridge_sandbox.runner import Sandbox

    sandbox = Sandbox.__new__(Sandbox)  # only its config(): no servers started
    sandbox.urls = {"mixpanel": "http://127.0.0.1:1"}
    config = sandbox.config()
    mixpanel = config["sources"]["mixpanel"]
    assert tuple(mixpanel["key_features"]) == FEATURES  # the `feature` property's values
    assert (mixpanel["feature_property"], mixpanel["duration_property"]) == (
        "feature",
        "$duration",
    )


def test_the_config_signals_section_feeds_the_options_and_a_signals_file_overrides_it(
    tmp_path: Path,
) -> None:
    config = tmp_path / "csbridge.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "sources": {"mixpanel": {**MIXPANEL, "key_features": ["alerts"]}},
                "signals": {"aged_ticket_days": 3, "attribute_fields": {"fit": "Fit__c"}},
            }
        )
    )
    configured = load_options(None, load_config(config))
    assert configured.aged_ticket_days == 3 and configured.key_features == ("alerts",)
    assert configured.attribute_fields == {"fit": ("Fit__c",)}
    signals = tmp_path / "signals.yaml"
    signals.write_text(yaml.safe_dump({"aged_ticket_days": 10}))
    overridden = load_options(str(signals), load_config(config))
    assert overridden.aged_ticket_days == 10 and overridden.attribute_fields == {"fit": ("Fit__c",)}


def test_the_default_segment_attributes_are_the_init_crm_picklists() -> None:
    assert load_options(None, Settings()).attribute_fields == {
        "fit": ("Strategic_Fit__c", "cs_strategic_fit"),
        "potential": ("Expansion_Potential__c", "cs_expansion_potential"),
    }


def test_a_bad_signals_value_is_one_line_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "csbridge.yaml"
    config.write_text(yaml.safe_dump({"signals": {"aged_ticket_days": -1, "nope": 1}}))
    with pytest.raises(CsbridgeError) as error:
        load_config(config)
    message = str(error.value)
    assert "signals.aged_ticket_days" in message and "signals.nope: unknown key" in message
    assert "\n" not in message


def test_the_signals_flag_says_it_is_deprecated(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "deprecated" in " ".join(capsys.readouterr().out.split())


def test_init_crm_creates_the_fields_the_pull_and_the_signals_read() -> None:
    options = Settings().signal_options()
    attributes, inputs = options.attribute_fields, options.input_fields
    read_by_pull = {
        "salesforce": set(SalesforceMapping().account.custom),
        "hubspot": {k.removeprefix("custom.") for k in HubspotMapping().company},
    }
    for crm in ("salesforce", "hubspot"):
        created = load_field_mapping(crm).read  # type: ignore[arg-type]
        assert set(attributes) == {"fit", "potential"}
        assert set(inputs) == {
            "relationship_quality",
            "community_activity",
            "referrals",
            "payment_delay",
        }
        assert set(created) == set(attributes) | set(inputs)
        for name, spec in created.items():
            assert spec.api_name in (attributes | inputs)[name]
            assert spec.api_name in read_by_pull[crm]
            assert spec.type in ("picklist", "number")


def test_the_account_fields_signals_names_beyond_its_defaults_are_listed_once() -> None:
    signals = Settings.model_validate(
        {
            "signals": {
                "custom_fields": {
                    "engagement.community_activity": "Community_Level_X__c",
                    "growth.referrals": "Community_Level_X__c",
                },
                "input_fields": {"payment_delay": ["Overdue_Days__c", "overdue_days"]},
                "attribute_fields": {**SEGMENT_ATTRIBUTE_FIELDS, "region": "Region__c"},
            }
        }
    ).signals
    assert signals.account_fields() == [
        ("signals.custom_fields", ("Community_Level_X__c",)),
        ("signals.attribute_fields", ("Region__c",)),
        ("signals.input_fields", ("Overdue_Days__c", "overdue_days")),
    ]
    assert Settings().signals.account_fields() == []  # init-crm's fields: read anyway
