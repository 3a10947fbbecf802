"""Puts tests/connectors on the import path, so the vendor folders' tests share
`connector_cases` and `fake_source`."""
