"""Sub-commands of the `csbridge` CLI, one module each."""
