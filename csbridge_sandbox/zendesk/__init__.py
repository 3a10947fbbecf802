"""The Zendesk Support emulator: incremental exports, organizations, ratings."""
