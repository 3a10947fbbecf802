"""Bad models are one clear line naming the file and the field."""

import pytest

from csbridge.errors import CsbridgeError
from csbridge.scoring import load_model, parse_model

BASE = """
name: m
dimensions:
  a:
    weight: {wa}
    indicators:
      x: {{weight: {wx}, transform: {{type: linear, zero_at: 0, full_at: 1}}}}
      y: {{weight: 50, transform: {{type: linear, zero_at: 0, full_at: 1}}}}
  b:
    weight: 40
    indicators:
      z: {{transform: {{type: table, values: {{low: 0, high: 100}}}}}}
bands:
  - {{name: bad, below: 50}}
  - {{name: good}}
"""


def test_valid_base_model_loads():
    assert parse_model(BASE.format(wa=60, wx=50), source="m.yaml").name == "m"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE.format(wa=50, wx=50), "m.yaml: dimensions: dimension weights sum to 90, not 100"),
        (
            BASE.format(wa=60, wx=40),
            "dimensions.a.indicators: indicator weights sum to 90, not 100",
        ),
        ("name: m\ndimensions: [1, 2\n", "m.yaml: invalid YAML at line"),
        ("- a\n- b\n", "a model is a YAML mapping"),
        (BASE.format(wa=60, wx=50).replace("type: table", "type: curve"), "transform"),
        (
            BASE.format(wa=60, wx=50).replace(
                "zero_at: 0, full_at: 1}}", "zero_at: 1, full_at: 1}}", 1
            ),
            "zero_at and full_at must differ",
        ),
        (
            BASE.format(wa=60, wx=50).replace("- {name: good}", "- {name: good, up_to: 90}"),
            "the last band ('good') takes no bound",
        ),
        (
            BASE.format(wa=60, wx=50) + "segments: quadrant\n",
            "segments: unknown segment preset 'quadrant'",
        ),
        (BASE.format(wa=60, wx=50) + "colour: red\n", "colour: Extra inputs are not permitted"),
    ],
)
def test_bad_model(text, message):
    with pytest.raises(CsbridgeError) as err:
        parse_model(text, source="m.yaml")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_preset_names_the_presets():
    with pytest.raises(
        CsbridgeError, match="unknown model preset 'seed-7d': use one of seed-5d, seed-6d"
    ):
        load_model("seed-7d")


def test_missing_model_file(tmp_path):
    with pytest.raises(CsbridgeError, match="cannot read the model file"):
        load_model(str(tmp_path / "nope.yaml"))


def test_model_file_round_trip(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(BASE.format(wa=60, wx=50))
    assert load_model(str(path)).dimensions["a"].weight == 60
