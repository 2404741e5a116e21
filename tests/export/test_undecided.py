"""No format writes an undecided step as a positive or a negative: it keeps the decided prefix, or
skips the row, or (FoVer) writes null; every such row and step is counted in the summary.

Each format's file is read back with its own layout (no shared helper that could hide a format's
mistake) and compared with the labels worked out by hand below.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from prmlabel.stages.export import run_export
from tests.export.folders import response, write_folder

T, F, U = True, False, None

# first_error is what the labelers write now (first_error_of): the first step *decided* wrong, or
# None when nothing was decided wrong and some step is undecided. The export reads the step labels.
ROWS = [
    # a: an undecided step before the decided-wrong one; only step 0 can be written without a null.
    response("pa", 0, ["1 + 1 = 2", "2 * 5 = 10", "10 - 1 = 8"], [T, U, F], [1.0, None, 0.0], first_error=2),
    # b: the first step is undecided: nothing before it to keep.
    response("pb", 0, ["3 * 3 = 9", "9 + 1 = 11", "so 11"], [U, F, F], [None, 0.0, 0.0], first_error=1),
    # c: decided wrong at step 1, the step after it undecided: first_error None in older folders.
    response("pc", 0, ["4 + 4 = 8", "8 / 2 = 5", "so 5"], [T, F, U], [0.5, 0.0, None], first_error=None),
    # d: nothing decided at all.
    response("pd", 0, ["5 - 2 = 3", "so 3"], [U, U], [None, None], first_error=None),
    # e: fully decided, all right.
    response("pe", 0, ["6 + 1 = 7", "so 7"], [T, T], [1.0, 1.0], first_error=-1),
]

PREFIX = {"pa": [T], "pc": [T, F], "pe": [T, T]}  # formats without null: the decided prefix
WITH_NULL = {"pa": [T, U, F], "pb": [U, F, F], "pc": [T, F, U], "pe": [T, T]}  # FoVer


def _jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _pid(question: str) -> str:
    return question.split()[1].rstrip(":")  # "Question pa: ..." -> "pa"


def _read_back(fmt: str, out) -> dict[str, list]:
    """problem id -> the labels the file holds for its steps, read the way the format's trainer reads them."""
    if fmt == "trl":
        return {_pid(r["prompt"]): r["labels"] for r in _jsonl(out)}
    if fmt == "openrlhf":
        got = {}
        for r in _jsonl(out):
            assert r["input"].count("ки") == len(r["value"])
            got[_pid(r["input"])] = [{"+": T, "-": F}[v] for v in r["value"]]
        return got
    if fmt == "math-shepherd":
        got = {}
        for r in _jsonl(out):
            assert r["input"].count(" ки") == len(r["label"].split("\n"))
            got[_pid(r["input"])] = [{"+": T, "-": F}[line[-1]] for line in r["label"].split("\n")]
        return got
    if fmt == "fover":
        got = {}
        for r in _jsonl(out):
            assert len(r["solution_steps"]) == len(r["error_labels"])
            got[r["id"].split("/")[0]] = r["error_labels"]
        return got
    if fmt == "jsonl":
        return {r["problem_id"]: r["labels"] for r in _jsonl(out)}
    if fmt == "hf":
        rows = pq.read_table(next((out / "data").glob("train-*.parquet"))).to_pylist()
        return {r["problem_id"]: r["labels"] for r in rows}
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", ["trl", "openrlhf", "math-shepherd", "jsonl", "hf"])
def test_formats_without_null_keep_the_decided_prefix_and_count_the_rest(tmp_path, fmt):
    folder = write_folder(tmp_path / "labels", ROWS, "label")
    out = tmp_path / ("out" if fmt == "hf" else "out.jsonl")
    summary = run_export(folder, out, fmt)
    assert _read_back(fmt, out) == PREFIX
    assert summary.skipped == {"first step's label unknown": 1, "every label unknown": 1}
    assert (summary.cut, summary.steps_cut, summary.null_steps) == (2, 3, 0)  # pa loses 2 steps, pc 1
    assert (summary.positive_steps, summary.negative_steps) == (4, 1)


def test_fover_writes_undecided_steps_as_null_and_counts_them(tmp_path):
    out = tmp_path / "fover.jsonl"
    summary = run_export(write_folder(tmp_path / "labels", ROWS, "label"), out, "fover")
    assert _read_back("fover", out) == WITH_NULL
    assert summary.skipped == {"every label unknown": 1}
    assert (summary.cut, summary.steps_cut, summary.null_steps) == (0, 0, 3)
    assert (summary.positive_steps, summary.negative_steps) == (4, 4)


@pytest.mark.parametrize("fmt", ["openrlhf", "jsonl"])
def test_soft_values_stop_at_the_first_undecided_value(tmp_path, fmt):
    summary = run_export(write_folder(tmp_path / "labels", ROWS, "label"), tmp_path / "s.jsonl", fmt, soft=True)
    got = {
        (r.get("problem_id") or _pid(r["input"])): r.get("labels", r.get("value")) for r in _jsonl(tmp_path / "s.jsonl")
    }
    assert got == {"pa": [1.0], "pc": [0.5, 0.0], "pe": [1.0, 1.0]}
    assert summary.float_labels and (summary.cut, summary.steps_cut) == (2, 3)


def test_a_filtered_folder_with_undecided_labels_final_is_cut_the_same_way(tmp_path):
    rows = [
        {
            **r,
            "keep": True,
            "reason": "kept",
            "labels_final": [None if h is None else float(h) for h in r["hard"]],
            "label_kind": "hard",
            "weight": 1.0,
            "filter_chain": [],
        }
        for r in ROWS
    ]
    out = tmp_path / "o.jsonl"
    summary = run_export(write_folder(tmp_path / "labeled", rows, "filter"), out, "trl")
    assert _read_back("trl", out) == PREFIX
    assert summary.cut == 2 and sum(summary.skipped.values()) == 2


def test_the_cli_summary_names_the_cut_and_null_counts(tmp_path):
    from tests.conftest import run_prmlabel

    folder = write_folder(tmp_path / "labels", ROWS, "label")
    proc = run_prmlabel(["export", "-i", str(folder), "-o", str(tmp_path / "t.jsonl"), "--format", "trl"])
    assert "2 rows written up to their first undecided step (3 steps left out)" in proc.stdout
    proc = run_prmlabel(["export", "-i", str(folder), "-o", str(tmp_path / "f.jsonl"), "--format", "fover"])
    assert "3 steps written as null" in proc.stdout
