"""Key features: a user's Mixpanel project names its own; the sandbox's config names the
sandbox's, so nobody inherits the sandbox's event names by default."""

from __future__ import annotations

from pathlib import Path

import yaml

from csbridge.commands.health import load_options
from csbridge.config import Settings
from csbridge_sandbox.world.names import KEY_FEATURES

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
    assert not set(KEY_FEATURES) & set(options.key_features)


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


def test_the_sandbox_config_names_the_sandbox_key_features() -> None:
    from csbridge_sandbox.runner import Sandbox

    sandbox = Sandbox.__new__(Sandbox)  # only its config(): no servers started
    sandbox.urls = {"mixpanel": "http://127.0.0.1:1"}
    config = sandbox.config()
    assert tuple(config["sources"]["mixpanel"]["key_features"]) == KEY_FEATURES
    assert "Logged In" not in KEY_FEATURES and "Ran Report" in KEY_FEATURES
