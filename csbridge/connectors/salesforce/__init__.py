"""Everything about Salesforce: client, SOQL streams, parsing, writes and the init-crm schema."""
