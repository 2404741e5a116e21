"""Look inside a run folder: DuckDB views of every stage, stats and the HTML report."""
