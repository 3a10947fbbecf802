"""Field mapping per CRM: internal name → the CRM field csbridge writes, shipped as YAML.

Defaults live in `csbridge/mappings/defaults/<crm>.yaml`. A deployment can pass its
own file of the same shape; its `write:` entries replace the defaults key by key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from csbridge.errors import CsbridgeError

Crm = Literal["salesforce", "hubspot"]
FieldType = Literal["number", "text", "date", "datetime", "picklist", "multipicklist", "boolean"]


class FieldSpec(BaseModel):
    """One CRM field csbridge writes, or reads back (`options`: a read picklist's values)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_name: str = Field(min_length=1)
    type: FieldType
    label: str
    options: tuple[str, ...] = ()


class TaskMapping(BaseModel):
    """Where csbridge's follow-up tasks go and the field holding each task's key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    object: str = Field(min_length=1)
    key_field: str = Field(min_length=1)


class CrmFieldMapping(BaseModel):
    """A CRM's account object, its identity fields, the fields csbridge writes, its tasks.

    `group` is the HubSpot property group `init-crm` creates the properties in (unused
    for Salesforce). The `tags` field is a multi-select holding the owned tags. `read`
    lists the fields CSMs fill in, which `init-crm` creates and csbridge only reads:
    segment attributes (`fit`, `potential`) and the inputs of indicators no API holds
    (relationship quality, community level, referrals, days past due); a read picklist
    without `options` offers high / medium / low.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    crm: Crm
    object: str
    identity: dict[Literal["domain", "external_id"], str]
    write: dict[str, FieldSpec]
    read: dict[str, FieldSpec] = Field(default_factory=dict)
    task: TaskMapping
    note: TaskMapping | None = None  # HubSpot: the note property holding a report note's key
    group: str | None = None

    @property
    def tag_field(self) -> str | None:
        """The CRM field holding csbridge's tags, if the mapping has one."""
        return self.write["tags"].api_name if "tags" in self.write else None

    def api_name(self, internal: str) -> str:
        """The CRM field for an internal name (KeyError names the known ones)."""
        try:
            return self.write[internal].api_name
        except KeyError:
            known = ", ".join(sorted(self.write))
            raise KeyError(f"{internal!r} is not mapped for {self.crm}; known: {known}") from None


def _read_yaml(text: str, label: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise CsbridgeError(f"{label}: not valid YAML; fix the syntax") from None
    if not isinstance(data, dict):
        raise CsbridgeError(f"{label}: the top level must be a mapping (crm:, object:, write:)")
    return data


def dimension_field(crm: Crm, dimension: str) -> dict[str, str]:
    """The number field holding one dimension's score: `Health_Usage__c`, `cs_health_usage`."""
    plain = re.sub(r"[^A-Za-z0-9]+", "_", dimension).strip("_") or "dimension"
    label = f"Health: {plain.replace('_', ' ').capitalize()}"
    if crm == "salesforce":
        name = "_".join(part.capitalize() for part in plain.split("_"))
        return {"api_name": f"Health_{name}"[:40] + "__c", "type": "number", "label": label}
    return {"api_name": f"cs_health_{plain.lower()}", "type": "number", "label": label}


def churn_probability_field(crm: Crm) -> dict[str, str]:
    """The number field holding a calibrated model's churn probability, in %."""
    name = "Churn_Probability__c" if crm == "salesforce" else "cs_churn_probability"
    return {"api_name": name, "type": "number", "label": "Churn Probability (%)"}


def load_field_mapping(
    crm: Crm,
    path: str | Path | None = None,
    dimensions: Sequence[str] = (),
    *,
    churn_probability: bool = False,
) -> CrmFieldMapping:
    """The packaged defaults for `crm`, with the `write:` / `read:` / `identity:` / `task:`
    of `path` on top.

    What the scoring model brings adds fields unless the file maps them itself:
    `dimensions` one score field each (`dimension.<name>`), a calibrated model
    (`churn_probability`) the churn probability (`health_churn_probability`).
    """
    default = resources.files("csbridge.mappings").joinpath("defaults", f"{crm}.yaml")
    data = _read_yaml(default.read_text(encoding="utf-8"), f"defaults/{crm}.yaml")
    data["write"] = dict(data.get("write") or {}) | {
        f"dimension.{name}": dimension_field(crm, name) for name in dimensions
    }
    if churn_probability:
        data["write"]["health_churn_probability"] = churn_probability_field(crm)
    label = f"defaults/{crm}.yaml"
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise CsbridgeError(f"{file}: field mapping file not found")
        label = str(file)
        override = _read_yaml(file.read_text(encoding="utf-8"), label)
        for section in ("write", "read", "identity", "task", "note"):
            merged = dict(data.get(section) or {})
            merged.update(override.pop(section, None) or {})
            if merged or section != "note":
                data[section] = merged
        data.update(override)
    try:
        mapping = CrmFieldMapping.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise CsbridgeError(f"{label}: {problems}; fix these keys") from None
    if mapping.crm != crm:
        raise CsbridgeError(f"{label}: crm is {mapping.crm}, expected {crm}")
    return mapping
