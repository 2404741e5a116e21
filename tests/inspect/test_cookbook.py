"""docs/duckdb.md: every query of the cookbook runs against a small run folder and answers something."""

from __future__ import annotations

import pytest

from prmlabel.inspect.run_folder import connect
from tests.test_docs import blocks

QUERIES = blocks("duckdb.md", "sql")


def test_the_cookbook_has_queries():
    assert len(QUERIES) >= 10


@pytest.mark.parametrize("query", QUERIES, ids=[f"query{i}" for i in range(len(QUERIES))])
def test_cookbook_query_runs(run_folder, query):
    con, _ = connect(run_folder)
    rows = con.execute(query).fetchall()
    if "-- empty when" not in query:  # the doc says which answers may be empty
        assert rows, query
