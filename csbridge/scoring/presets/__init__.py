"""Scoring model presets."""
