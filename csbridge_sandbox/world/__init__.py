"""The seeded synthetic customer base every emulator serves."""
