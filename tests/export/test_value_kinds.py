"""`export --soft` writes values only where they are step probabilities: each labeler's value_kind
decides (probability as is, verdict as 0/1, ratio only with --threshold, advantage and score refused)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from prmlabel.contract.schema import LABELS
from prmlabel.contract.store import StoreError
from prmlabel.export.value_kinds import method_value_kind
from prmlabel.labelers import available_labelers
from prmlabel.labelers.base import VALUE_KINDS
from prmlabel.stages.export import run_export
from tests.export.folders import response, write_folder

EXPECTED_KINDS = {
    "mc": "probability",
    "omegaprm": "probability",
    "rest_mcts": "probability",
    "scan": "probability",
    "rpe": "ratio",
    "pav": "advantage",
    "grounded": "score",
    "judge": "verdict",
    "sympy": "verdict",
    "z3": "verdict",
}


def _rows(method: str, value_kind: str | None, values: list, hard: list) -> list[dict]:
    row = response("p1", 0, ["a = 1", "b = 2", "so 3"], hard, values, method=method)
    if value_kind is not None:
        row["value_kind"] = value_kind
    return [row]


def _jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_labeler_declares_what_its_values_are():
    assert set(available_labelers()) == set(EXPECTED_KINDS)
    for name, kind in EXPECTED_KINDS.items():
        assert method_value_kind(name) == kind and kind in VALUE_KINDS


def test_pav_advantages_are_refused_as_soft_labels_and_hard_labels_still_export(tmp_path):
    # A correct response: advantages 0 to 0.04 are "no loss", not probabilities near 0.
    folder = write_folder(tmp_path / "labels", _rows("pav", "advantage", [0.0, 0.04, 0.01], [True] * 3), "label")
    with pytest.raises(StoreError, match="advantages.*Drop --soft"):
        run_export(folder, tmp_path / "soft.jsonl", "openrlhf", soft=True)
    with pytest.raises(StoreError, match="advantages"):
        run_export(folder, tmp_path / "soft.jsonl", "trl", soft=True, threshold=0.5)
    assert not (tmp_path / "soft.jsonl").exists()
    run_export(folder, tmp_path / "hard.jsonl", "openrlhf")
    assert _jsonl(tmp_path / "hard.jsonl")[0]["value"] == ["+", "+", "+"]


def test_grounded_scores_are_refused_as_soft_labels(tmp_path):
    folder = write_folder(
        tmp_path / "labels", _rows("grounded", "score", [0.3, -0.1, 1.0], [True, False, None]), "label"
    )
    with pytest.raises(StoreError, match="fused GroundedPRM scores"):
        run_export(folder, tmp_path / "soft.jsonl", "jsonl", soft=True)


def test_rpe_ratios_need_a_threshold_and_one_above_1_is_a_positive(tmp_path):
    folder = write_folder(tmp_path / "labels", _rows("rpe", "ratio", [1.25, 0.5, 0.9], [True, False, True]), "label")
    with pytest.raises(StoreError, match="--threshold 0.8"):
        run_export(folder, tmp_path / "soft.jsonl", "openrlhf", soft=True)
    summary = run_export(folder, tmp_path / "cut.jsonl", "openrlhf", soft=True, threshold=0.8)
    assert not summary.float_labels and summary.skipped == {}
    assert _jsonl(tmp_path / "cut.jsonl")[0]["value"] == ["+", "-", "+"]  # P_t >= 0.8, GenPRM's rule


def test_verdicts_export_as_hard_labels_without_a_threshold(tmp_path):
    folder = write_folder(
        tmp_path / "labels", _rows("sympy", "verdict", [1.0, 0.0, None], [True, False, None]), "label"
    )
    summary = run_export(folder, tmp_path / "v.jsonl", "trl", soft=True)
    assert not summary.float_labels
    assert _jsonl(tmp_path / "v.jsonl")[0]["labels"] == [True, False]  # the undecided step is cut


def test_probabilities_export_as_floats(tmp_path):
    folder = write_folder(
        tmp_path / "labels", _rows("mc", "probability", [0.75, 0.25, 0.0], [True, True, False]), "label"
    )
    run_export(folder, tmp_path / "p.jsonl", "jsonl", soft=True)
    assert _jsonl(tmp_path / "p.jsonl")[0]["labels"] == [0.75, 0.25, 0.0]


def _old_folder(tmp_path, method: str, values: list):
    """A labels folder written before the value_kind column existed: the shards have no such column."""
    folder = write_folder(tmp_path / "old", _rows(method, None, values, [True, True, True]), "label")
    (shard,) = folder.glob("part-*.parquet")
    table = pq.read_table(shard)
    table = table.drop_columns(["value_kind"]).replace_schema_metadata(LABELS.metadata)
    pq.write_table(table, shard)
    assert "value_kind" not in pq.read_schema(shard).names
    return folder


def test_a_folder_without_the_column_is_read_by_its_method(tmp_path):
    mc = _old_folder(tmp_path / "mc", "mc", [0.5, 0.75, 1.0])
    run_export(mc, tmp_path / "mc.jsonl", "openrlhf", soft=True)
    assert _jsonl(tmp_path / "mc.jsonl")[0]["value"] == [0.5, 0.75, 1.0]
    pav = _old_folder(tmp_path / "pav", "pav", [0.0, 0.02, 0.0])
    with pytest.raises(StoreError, match="advantages"):
        run_export(pav, tmp_path / "pav.jsonl", "openrlhf", soft=True)
    other = _old_folder(tmp_path / "other", "human", [1.0, 1.0, 1.0])
    with pytest.raises(StoreError, match="no declared kind"):
        run_export(other, tmp_path / "other.jsonl", "openrlhf", soft=True)
    run_export(other, tmp_path / "other_hard.jsonl", "openrlhf")  # hard labels need no kind


def test_soft_labels_final_made_from_advantages_are_refused(tmp_path):
    (row,) = _rows("pav", "advantage", [0.0, 0.04, 0.01], [True] * 3)
    labeled = {
        **row,
        "keep": True,
        "reason": "scan:denoised",
        "labels_final": [0.0, 0.5, 0.0],
        "label_kind": "soft",
        "weight": 1.0,
        "filter_chain": ["scan"],
    }
    folder = write_folder(tmp_path / "labeled", [labeled], "filter")
    with pytest.raises(StoreError, match="not probabilities"):
        run_export(folder, tmp_path / "o.jsonl", "openrlhf")
    hard = {**labeled, "labels_final": [1.0, 1.0, 1.0], "label_kind": "hard"}
    run_export(write_folder(tmp_path / "labeled2", [hard], "filter"), tmp_path / "h.jsonl", "openrlhf")
    assert _jsonl(tmp_path / "h.jsonl")[0]["value"] == ["+", "+", "+"]


def test_the_cli_says_what_to_do_for_advantages(tmp_path):
    from tests.conftest import run_prmlabel

    folder = write_folder(tmp_path / "labels", _rows("pav", "advantage", [0.0, 0.04, 0.01], [True] * 3), "label")
    proc = run_prmlabel(
        ["export", "-i", str(folder), "-o", str(tmp_path / "x.jsonl"), "-f", "openrlhf", "--soft"], check=False
    )
    assert proc.returncode == 2 and "Drop --soft" in proc.stderr and "Traceback" not in proc.stderr
