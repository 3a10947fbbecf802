"""Segment (touch-model) matrix presets."""
