"""The csbridge sandbox: emulators of the vendor APIs over a seeded synthetic customer base.

Installed by the extra `csbridge[sandbox]`; used by `csbridge demo`, `csbridge sandbox serve`,
the end-to-end tests and the benchmarks. It imports nothing from `csbridge`, so it never
shares the connectors' assumptions.
"""
