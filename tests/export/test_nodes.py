"""`prmlabel export --nodes`: a hand-built search tree exported to TRL, OpenRLHF and values, and the
node-table queries and commands of the docs run on it.

Question q1 (omegaprm, values are ``mc``)::

    0 root (mc 0.5)
    +-- 1 "A" mc 0.75
    |   +-- 3 "C" mc 1.0
    +-- 2 "B" mc 0.25
        +-- 4 "D" mc null        <- unknown: never a label
            +-- 5 "E" mc 0.0     <- its parent's value is unknown

Question q2 (rest_mcts, values are ``value_target``; its ``mc`` must never be read)::

    0 root (target 0)
    +-- 1 "X" target 0.5 (mc 0.9)
    |   +-- 2 "Y" target 1.0 (mc 0.1)
    +-- 3 "Z" target null (mc 0.8)   <- unknown, although mc is set
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from prmlabel.cli import app
from prmlabel.contract.schema import LABELS, NODES, table_from_rows
from prmlabel.contract.store import ShardStore
from tests.conftest import REPO
from tests.test_docs import blocks

QUESTION = "Question {pid}: what is the final number?"
TREE = "runs/omega/omegaprm"  # where the docs' node commands and queries read the tree


def node(pid: str, nid: int, parent: int | None, steps: list[str], method: str, mc=None, target=None) -> dict:
    """A NODES row; ``steps`` are the path's steps from the root, the last one the node's own."""
    return {
        "problem_id": pid,
        "node_id": nid,
        "parent_id": parent,
        "depth": len(steps),
        "question": QUESTION.format(pid=pid),
        "reference_answer": "10",
        "prefix_steps": steps[:-1],
        "step": steps[-1] if steps else "",
        "visits": 1,
        "rollouts": 8 if mc is not None else 0,
        "successes": round(8 * mc) if mc is not None else 0,
        "mc": mc,
        "value_target": target,
        "value_kind": "probability",
        "terminal": False,
        "source": "root" if parent is None else "expansion",
        "method": method,
        "node_extra": "{}",
        "node_cost": {"rollouts": 8, "generated_tokens": 40},
    }


A, B, C, D, E = (f"{s} = step\n\n" for s in "ABCDE")
X, Y, Z = "X = 5\n\n", "The answer is 10.", "Z = 7\n\n"
Q1 = [
    node("q1", 0, None, [], "omegaprm", mc=0.5),
    node("q1", 1, 0, [A], "omegaprm", mc=0.75),
    node("q1", 2, 0, [B], "omegaprm", mc=0.25),
    node("q1", 3, 1, [A, C], "omegaprm", mc=1.0),
    node("q1", 4, 2, [B, D], "omegaprm", mc=None),
    node("q1", 5, 4, [B, D, E], "omegaprm", mc=0.0),
]
Q2 = [
    node("q2", 0, None, [], "rest_mcts", target=0.0),
    node("q2", 1, 0, [X], "rest_mcts", mc=0.9, target=0.5),
    node("q2", 2, 1, [X, Y], "rest_mcts", mc=0.1, target=1.0),
    node("q2", 3, 0, [Z], "rest_mcts", mc=0.8, target=None),
]


def labels_folder(path: Path, shards: tuple[list[dict], ...] = (Q1, Q2)) -> Path:
    """A labels folder as a tree method writes it: (no) labels rows, and nodes/ beside them, one shard a question."""
    with ShardStore(path).open("label", {"stage": "label", "input": "handmade"}, "fx-nodes", len(shards)) as store:
        for i, rows in enumerate(shards):
            side = {"nodes": table_from_rows(rows, NODES)}
            store.write_shard(i, table_from_rows([], LABELS), [], 0, 0, seconds=0.0, cost={}, side=side)
    return path


def compress_folder(path: Path, rows: list[dict]) -> Path:
    """A `prmlabel compress` folder: NODES rows are its own shards."""
    with ShardStore(path).open("compress", {"stage": "compress", "input": "handmade"}, "fx-compress", 1) as store:
        store.write_shard(0, table_from_rows(rows, NODES), [], len(rows), len(rows), seconds=0.0, cost={})
    return path


def export(args: list[str], cwd: Path) -> str:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, ["export", *args], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    return result.output


def refused(args: list[str], cwd: Path) -> str:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, ["export", *args], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code != 0, result.output
    return " ".join(result.output.split())


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    labels_folder(tmp_path / TREE)
    return tmp_path


def sidecar(path: Path) -> dict:
    return json.loads(path.with_name(f"{path.stem}.export.json").read_text())


def test_trl_writes_every_node_path_with_labels_at_the_threshold(tree):
    out = export(["-i", TREE, "--nodes", "-o", "t.parquet", "--format", "trl", "--threshold", "0.5"], tree)
    rows = pq.read_table(tree / "t.parquet").to_pylist()
    got = {(r["prompt"][9:11], tuple(r["completions"])): r["labels"] for r in rows}
    assert got == {
        ("q1", ("A = step",)): [True],  # 0.75
        ("q1", ("B = step",)): [False],  # 0.25
        ("q1", ("A = step", "C = step")): [True, True],  # the grandchild's path: its parent's value, then its own
        ("q2", ("X = 5",)): [True],  # value_target 0.5 >= 0.5 (its mc 0.9 is not read)
        ("q2", ("X = 5", "The answer is 10.")): [True, True],
    }
    summary = sidecar(tree / "t.parquet")
    assert summary["threshold"] == 0.5 and summary["nodes"] is True
    counts = summary["summary"]
    assert counts["nodes_in"] == 10 == counts["train_rows"] + sum(counts["skipped"].values())
    assert counts["skipped"] == {
        "root (no step to label)": 2,
        "value unknown (null) at the node": 2,  # q1 node 4, q2 node 3 (whose mc is set)
        "value unknown (null) at an ancestor": 1,  # q1 node 5
    }
    assert counts["value_columns"] == {"omegaprm": "mc", "rest_mcts": "value_target"}
    assert (counts["positive_steps"], counts["negative_steps"]) == (6, 1)
    assert "threshold" in out and "0.5 (a step is positive when its value >= 0.5)" in out
    assert re.search(r"null values\s+3 examples skipped", out)


def test_a_higher_threshold_flips_the_labels_below_it(tree):
    export(["-i", TREE, "--nodes", "-o", "t.jsonl", "--format", "trl", "--threshold", "0.8"], tree)
    rows = [json.loads(line) for line in (tree / "t.jsonl").read_text().splitlines()]
    got = {tuple(r["completions"]): r["labels"] for r in rows}
    assert got[("A = step", "C = step")] == [False, True]  # 0.75 < 0.8 <= 1.0
    assert got[("X = 5", "The answer is 10.")] == [False, True]


def test_trl_without_a_threshold_is_refused_and_writes_nothing(tree):
    message = refused(["-i", TREE, "--nodes", "-o", "t.parquet", "--format", "trl"], tree)
    assert "--threshold T" in message and "floors every value below 1 to 0" in message
    assert not (tree / "t.parquet").exists()


def test_openrlhf_writes_the_soft_values_of_each_path(tree):
    export(["-i", TREE, "--nodes", "-o", "o.jsonl", "--format", "openrlhf"], tree)
    rows = [json.loads(line) for line in (tree / "o.jsonl").read_text().splitlines()]
    got = {r["input"].split("? ", 1)[1]: r["value"] for r in rows}
    assert got == {
        "A = step ки": [0.75],
        "A = step ки\nC = step ки": [0.75, 1.0],
        "B = step ки": [0.25],
        "X = 5 ки": [0.5],
        "X = 5 ки\nThe answer is 10. ки": [0.5, 1.0],
    }
    assert all(r["input"].count("ки") == len(r["value"]) for r in rows)
    assert sidecar(tree / "o.jsonl")["summary"]["float_labels"] is True


def test_openrlhf_refuses_values_that_are_not_probabilities(tmp_path):
    rows = [{**r, "value_kind": "advantage"} for r in Q1]
    labels_folder(tmp_path / "adv", (rows,))
    message = refused(["-i", "adv", "--nodes", "-o", "o.jsonl", "--format", "openrlhf"], tmp_path)
    assert "advantage, not step probabilities" in message and "--format values" in message
    export(["-i", "adv", "--nodes", "-o", "v.jsonl", "--format", "values"], tmp_path)  # written as they are
    kinds = {json.loads(line)["value_kind"] for line in (tmp_path / "v.jsonl").read_text().splitlines()}
    assert kinds == {"advantage"}


def test_values_writes_each_nodes_own_value_and_never_a_null(tree):
    out = export(["-i", TREE, "--nodes", "-o", "v.parquet", "--format", "values"], tree)
    rows = pq.read_table(tree / "v.parquet").to_pylist()
    assert [(r["problem_id"], r["node_id"], r["value"]) for r in rows] == [
        ("q1", 1, 0.75),
        ("q1", 2, 0.25),
        ("q1", 3, 1.0),
        ("q1", 5, 0.0),  # its parent's value is unknown; its own is known, and a values row needs no path
        ("q2", 1, 0.5),
        ("q2", 2, 1.0),
    ]
    e = next(r for r in rows if r["node_id"] == 5)
    assert e["prefix_steps"] == [B, D] and e["step"] == E and e["prompt"] == QUESTION.format(pid="q1")
    assert {r["method"]: r["value_kind"] for r in rows} == {"omegaprm": "probability", "rest_mcts": "probability"}
    counts = sidecar(tree / "v.parquet")["summary"]
    assert counts["nodes_in"] == 10 == len(rows) + sum(counts["skipped"].values())
    assert counts["skipped"]["value unknown (null) at the node"] == 2
    assert "value unknown (null) at an ancestor" not in counts["skipped"]
    assert "rest_mcts: value_target" in out


def test_values_refuses_a_threshold_and_needs_nodes(tree):
    args = ["-i", TREE, "-o", "v.jsonl", "--format", "values"]
    assert "add --nodes" in refused(args, tree)
    assert "--threshold goes with trl or openrlhf" in refused([*args, "--nodes", "--threshold", "0.5"], tree)
    assert "has no node table" in refused(["-i", "runs", "--nodes", "-o", "v.jsonl", "--format", "values"], tree)


def test_validation_split_is_by_question(tree):
    args = ["-i", TREE, "--nodes", "-o", "v.jsonl", "--format", "values", "--val-fraction", "0.5"]
    export(args, tree)
    train = {json.loads(x)["problem_id"] for x in (tree / "v.jsonl").read_text().splitlines()}
    val = {json.loads(x)["problem_id"] for x in (tree / "v.validation.jsonl").read_text().splitlines()}
    assert len(train) == len(val) == 1 and train | val == {"q1", "q2"}


def test_compress_folder_rows_are_read_and_broken_paths_counted(tmp_path):
    orphan = node("q3", 7, 6, [A, B], "hrm", mc=0.5)  # its parent 6 is not in the table
    wrong = {**node("q1", 8, 1, [C, D], "omegaprm", mc=0.5)}  # parent 1's step is A, its prefix says C
    compress_folder(tmp_path / "c", [*Q1, orphan, wrong])
    export(["-i", "c", "--nodes", "-o", "t.jsonl", "--format", "trl", "--threshold", "0.5"], tmp_path)
    counts = sidecar(tmp_path / "t.jsonl")["summary"]
    assert counts["kind"] == "compress" and counts["nodes_in"] == 8 and counts["train_rows"] == 3
    assert counts["skipped"]["an ancestor is missing from the table"] == 1
    assert counts["skipped"]["the ancestors' steps differ from the node's prefix_steps"] == 1
    export(["-i", "c", "--nodes", "-o", "v.jsonl", "--format", "values"], tmp_path)
    ids = [json.loads(x)["node_id"] for x in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert ids == [1, 2, 3, 5, 8, 7]  # values rows need no path: both are written


def test_rest_mcts_values_are_its_targets_even_when_every_target_is_null(tmp_path):
    rows = [{**r, "value_target": None} for r in Q2]  # a tree without a correct leaf: no targets
    labels_folder(tmp_path / "r", (rows,))
    export(["-i", "r", "--nodes", "-o", "v.jsonl", "--format", "values"], tmp_path)
    assert (tmp_path / "v.jsonl").read_text() == ""  # its mc (the search's estimate) is not a target
    counts = sidecar(tmp_path / "v.jsonl")["summary"]
    assert counts["skipped"]["value unknown (null) at the node"] == 3 and counts["value_columns"] == {
        "rest_mcts": "value_target"
    }


def test_the_same_input_writes_the_same_bytes(tree):
    args = ["-i", TREE, "--nodes", "--format", "openrlhf"]
    export([*args, "-o", "a.parquet"], tree)
    export([*args, "-o", "b.parquet"], tree)
    assert (tree / "a.parquet").read_bytes() == (tree / "b.parquet").read_bytes()


# -- the docs: output.md's node queries and the --nodes commands of docs/export/*.md ---------------------

NODE_QUERIES = [q for q in blocks("output.md", "sql") if "/nodes/" in q]


def query(sql: str, cwd: Path) -> list[tuple]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return duckdb.sql(sql).fetchall()
    finally:
        os.chdir(old)


def test_the_docs_recursive_cte_walks_the_first_tree_from_its_root(tree):
    (walk,) = [q for q in NODE_QUERIES if "RECURSIVE" in q]
    rows = query(walk, tree)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("q1", "0", [0]),
        ("q1", "  1", [0, 1]),
        ("q1", "    3", [0, 1, 3]),
        ("q1", "  2", [0, 2]),
        ("q1", "    4", [0, 2, 4]),
        ("q1", "      5", [0, 2, 4, 5]),
    ]
    assert rows[-1][-1] == B + D + E  # the prefix text, the path's steps joined


def test_the_docs_prefix_value_query_matches_the_values_export(tree):
    (pairs,) = [q for q in NODE_QUERIES if "list_concat" in q]
    rows = query(pairs, tree)
    export(["-i", TREE, "--nodes", "-o", "v.parquet", "--format", "values"], tree)
    exported = pq.read_table(tree / "v.parquet").to_pylist()
    assert [(r[0], r[1], r[5]) for r in rows] == [(r["problem_id"], r["node_id"], r["value"]) for r in exported]
    assert [r[4] for r in rows] == ["".join(r["prefix_steps"]) + r["step"] for r in exported]


def test_every_docs_node_query_answers(tree):
    assert len(NODE_QUERIES) >= 3
    for sql in NODE_QUERIES:
        assert query(sql, tree), sql


def node_commands() -> list[str]:
    out = []
    for page in sorted((REPO / "docs" / "export").glob("*.md")):
        for line in page.read_text().replace("\\\n", " ").splitlines():
            if line.startswith("prmlabel ") and "--nodes" in line:
                out.append(line.split("  #")[0].strip())
    return out


def test_the_export_pages_node_commands_run_as_written(tree):
    compress_folder(tree / "runs" / "hrm" / "hrm", Q1 + Q2)  # `prmlabel run hrm -o runs/hrm`
    commands = node_commands()
    assert len(commands) >= 7
    assert all(any(f"--format {fmt}" in c for c in commands) for fmt in ("trl", "openrlhf", "values"))
    for command in commands:
        export(shlex.split(command)[2:], tree)
