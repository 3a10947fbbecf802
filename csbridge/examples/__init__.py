"""Bundled example data for the demo."""
