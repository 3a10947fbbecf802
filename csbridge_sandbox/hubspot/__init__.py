"""The HubSpot emulator: CRM objects, batch, search, properties, associations."""
