"""A SQL warehouse as a source: named queries whose aggregated rows are read in batches."""
