"""Everything about Zendesk Support: client, ticket / organization / CSAT streams, parsing."""
