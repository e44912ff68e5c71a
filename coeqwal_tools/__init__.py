"""Developer tooling around the warehouse: the embedded database, sample data,
benchmarks, the docs site and the SQL linter. The pipeline itself is `ingest`."""
