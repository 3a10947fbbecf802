"""Default field mappings per CRM (YAML, shipped as package data)."""
