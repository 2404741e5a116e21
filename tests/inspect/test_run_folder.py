"""`prmlabel sql`: every stage folder is a view by name, with its rejects and records."""

from __future__ import annotations

import csv
import io

import pyarrow.parquet as pq
import pytest

from prmlabel.contract.store import StoreError
from prmlabel.inspect.run_folder import connect, view_names
from tests.conftest import run_prmlabel


def _rows(folder):
    return [r for p in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


def test_views_are_named_after_the_stage_folders(run_folder):
    con, stages = connect(run_folder)
    assert {s.name: s.kind for s in stages} == {
        "rollouts": "rollouts",
        "mc": "labels",
        "omegaprm": "labels",
        "final": "labeled",
    }
    names = view_names(con)
    for stage in ("rollouts", "mc", "omegaprm", "final"):
        assert {stage, f"{stage}_rejects", f"{stage}_records"} <= set(names)
    assert con.execute("SELECT count(*) FROM mc").fetchone()[0] == len(_rows(run_folder / "mc"))
    assert con.execute("SELECT count(*) FROM mc_records").fetchone()[0] == 2  # two shards


def test_sql_command_prints_csv_that_matches_the_shards(run_folder):
    proc = run_prmlabel(
        [
            "sql",
            str(run_folder),
            "SELECT method, count(*) AS n, sum(first_error) AS s FROM mc GROUP BY 1",
            "--format",
            "csv",
        ]
    )
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    mc = _rows(run_folder / "mc")
    assert rows == [{"method": "mc", "n": str(len(mc)), "s": str(sum(r["first_error"] for r in mc))}]


def test_a_bad_query_is_an_error_message_not_a_traceback(run_folder):
    proc = run_prmlabel(["sql", str(run_folder), "SELECT nope FROM mc"], check=False)
    assert proc.returncode == 2 and "nope" in proc.stderr and "Traceback" not in proc.stderr


def test_a_folder_without_stages_says_what_to_pass(tmp_path):
    with pytest.raises(StoreError, match="holds no stage folders"):
        connect(tmp_path)


def test_a_tree_methods_nodes_are_a_view_that_walks_as_a_tree(tmp_path):
    run_prmlabel(["synthetic", "problems", "--count", "3", "--steps", "3-4", "-o", str(tmp_path / "p.jsonl")])
    gen = ["generate", "--backend", "synthetic", "-i", str(tmp_path / "p.jsonl"), "-o", str(tmp_path / "run" / "gen")]
    run_prmlabel([*gen, "--samples", "2", "--no-progress"])
    run = tmp_path / "run"
    label = ["label", "--backend", "synthetic", "-i", str(run / "gen"), "-o", str(run / "tree")]
    run_prmlabel([*label, "--method", "omegaprm", "params.mode=search", "params.split=double_newline", "--no-progress"])
    con, _ = connect(tmp_path / "run")
    assert "tree_nodes" in view_names(con)
    orphans = con.execute(
        "SELECT count(*) FROM tree_nodes n WHERE parent_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM tree_nodes p WHERE p.problem_id = n.problem_id AND p.node_id = n.parent_id)"
    ).fetchone()[0]
    per_question = con.execute("SELECT min(n) FROM (SELECT count(*) AS n FROM tree_nodes GROUP BY problem_id)")
    assert orphans == 0 and per_question.fetchone()[0] > 1
