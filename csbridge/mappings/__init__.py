"""Identity resolution across systems and field mapping per CRM (defaults shipped as YAML)."""

from csbridge.mappings.fields import CrmFieldMapping, FieldSpec, load_field_mapping
from csbridge.mappings.identity import (
    Customer,
    IdentityIndex,
    UnmatchedReport,
    build_index,
    normalise_domain,
)

__all__ = [
    "CrmFieldMapping",
    "Customer",
    "FieldSpec",
    "IdentityIndex",
    "UnmatchedReport",
    "build_index",
    "load_field_mapping",
    "normalise_domain",
]
