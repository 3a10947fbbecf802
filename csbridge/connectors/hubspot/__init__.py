"""Everything about HubSpot: client, CRM streams, parsing, writes and the init-crm schema."""
