"""Mixpanel emulator: raw export and engage."""
