"""The DuckDB index: schema of the shared tables, atomic imports, typed queries."""
