"""The Salesforce emulator: OAuth, REST, SOQL, composite, collections, Bulk 2.0, tooling."""
