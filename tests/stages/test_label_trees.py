"""Tree recipes end to end: `prmlabel run omegaprm` and `prmlabel run rest_mcts` on the simulator write
node tables that are trees (every non-root node's parent exists), more than one node per kept question,
every input row accounted for, and labels rows whose steps are the tree's."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from prmlabel.contract.schema import NODES
from tests.conftest import run_prmlabel


def _table(folder: Path) -> list[dict]:
    return [r for p in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


@pytest.fixture(scope="module")
def problems(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("trees") / "p.jsonl"
    run_prmlabel(["synthetic", "problems", "--count", "8", "--steps", "3-5", "--seed", "4", "-o", str(path)])
    return path


@pytest.mark.parametrize(
    ("recipe", "stage", "overrides"),
    [
        ("omegaprm", "omegaprm", ["steps_split=double_newline", "samples=4"]),
        ("rest_mcts", "rest_mcts", []),
    ],
)
def test_a_tree_recipe_writes_node_tables_that_are_trees(recipe, stage, overrides, problems, tmp_path):
    run = tmp_path / "run"
    args = ["run", recipe, "-i", str(problems), "-o", str(run), "backend=synthetic", "pipeline.num_shards=2"]
    run_prmlabel([*args, *overrides, "--no-progress"])
    folder = run / stage
    nodes = [r for p in sorted((folder / "nodes").glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert len(list((folder / "nodes").glob("part-*.parquet"))) == 2  # sharded like the labels
    assert pq.read_schema(next((folder / "nodes").glob("part-*.parquet"))).names == NODES.names
    ids = {(n["problem_id"], n["node_id"]) for n in nodes}
    assert len(ids) == len(nodes)
    for n in nodes:
        if n["parent_id"] is None:
            assert n["node_id"] == 0 and n["depth"] == 0 and n["step"] == ""
        else:
            assert (n["problem_id"], n["parent_id"]) in ids and n["parent_id"] < n["node_id"]
    per_question: dict[str, int] = {}
    for n in nodes:
        per_question[n["problem_id"]] = per_question.get(n["problem_id"], 0) + 1
    records = [json.loads(p.read_text()) for p in (folder / "_records").glob("*.json")]
    kept = sum(r["cost"]["questions"] - r["cost"]["questions_dropped"] for r in records)
    assert len(per_question) == kept > 0 and min(per_question.values()) > 1
    assert all(r["rows_in"] == r["rows_out"] + r["rows_rejected"] for r in records)
    assert sum(r["cost"]["nodes"] for r in records) == len(nodes)
    # A labels row's steps are a path of the tree: its every prefix through a labeled step is a node.
    texts = {(n["problem_id"], "".join(n["prefix_steps"]) + n["step"]) for n in nodes}
    labels = _table(folder)
    assert labels
    for row in labels:
        if recipe == "rest_mcts":
            assert all((row["problem_id"], "".join(row["steps"][: t + 1])) in texts for t in range(len(row["steps"])))
        for t, value in enumerate(row["values"]):
            if value is not None and t < len(row["steps"]) - 1 and recipe == "omegaprm":
                assert (row["problem_id"], "".join(row["steps"][: t + 1])) in texts
