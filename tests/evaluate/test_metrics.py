"""`prmlabel eval`: ProcessBench's scores on small files whose answers are worked out by hand."""

from __future__ import annotations

import json

import pytest

from prmlabel.evaluate.gold import read_gold
from prmlabel.evaluate.metrics import average, score_split
from prmlabel.evaluate.predictions import read_predictions
from tests.conftest import run_prmlabel
from tests.export.folders import labels_folder

STEPS = ["s0", "s1", "s2"]


@pytest.fixture
def processbench_split(tmp_path):
    """Gold labels a:1 b:-1 c:2 d:-1 e:0; predictions a:1 (right) b:-1 (right) c:0 d:2 e:null (wrong)."""
    gold = [
        {
            "id": i,
            "generator": "g",
            "problem": f"problem {i}",
            "steps": STEPS,
            "final_answer_correct": lab == -1,
            "label": lab,
        }
        for i, lab in [("a", 1), ("b", -1), ("c", 2), ("d", -1), ("e", 0)]
    ]
    (tmp_path / "pb.json").write_text(json.dumps(gold))
    preds = [{"id": i, "prediction": p} for i, p in [("a", 1), ("b", -1), ("c", 0), ("d", 2), ("e", None)]]
    (tmp_path / "pred.jsonl").write_text("\n".join(json.dumps(p) for p in preds) + "\n")
    return tmp_path


def test_processbench_scores_by_hand(processbench_split):
    s = score_split(
        "pb", read_gold(processbench_split / "pb.json"), read_predictions(processbench_split / "pred.jsonl")
    )
    assert (s.n_matched, s.n_error, s.n_correct) == (5, 3, 2)
    assert s.acc_error == pytest.approx(1 / 3)  # a right; c wrong step; e unknown
    assert s.acc_correct == pytest.approx(1 / 2)  # b right; d flagged a right solution
    assert s.f1 == pytest.approx(0.4)  # 2 * 1/3 * 1/2 / (1/3 + 1/2)
    # Steps with defined truth: a0 a1 | b0-2 | c0-2 | d0-2 | e0. Predicted wrong: a1 (hit), c0, d2.
    # Gold wrong: a1, c2, e0. Precision 1/3, recall 1/3.
    assert (s.step_precision, s.step_recall) == (pytest.approx(1 / 3), pytest.approx(1 / 3))


def _bigbench_gold(path):
    """BIG-Bench-Mistake rows (no id) for four of the fixture's responses, matched by question and steps."""
    from tests.export.folders import LABEL_ROWS

    picks = {"p1/r0": None, "p1/r1": 1, "p2/r0": 0, "p5/r0": None}
    rows = [
        {
            "input": r["question"],
            "steps": [s.strip() for s in r["steps"]],
            "target": "x",
            "answer": "x",
            "mistake_index": picks[r["response_id"]],
        }
        for r in LABEL_ROWS
        if r["response_id"] in picks
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_labels_folder_against_bigbench_mistake_matched_by_content(tmp_path):
    preds = read_predictions(labels_folder(tmp_path))
    s = score_split("bbm", read_gold(_bigbench_gold(tmp_path / "bbm.jsonl")), preds)
    # p1 has two responses, so its id is ambiguous and both match by question and steps.
    assert s.n_matched == 4
    assert (s.acc_error, s.acc_correct) == (0.5, 1.0)  # p1/r1 found at step 1, p2's step-0 mistake missed
    assert s.f1 == pytest.approx(2 / 3)
    assert (s.step_precision, s.step_recall) == (1.0, 0.5)  # hard labels: one step said wrong, and it is


def test_cli_reports_each_split_and_the_average(processbench_split, tmp_path):
    bbm = _bigbench_gold(tmp_path / "bbm.jsonl")
    folder = labels_folder(tmp_path / "run")
    pb_preds = processbench_split / "pred.jsonl"
    # The labels folder does not hold the ProcessBench ids, and the file of predictions has no bbm rows:
    # score each split with its own predictions, then check the CLI's average over two splits of one file.
    proc = run_prmlabel(["eval", "--pred", str(folder), "--gold", str(bbm), "--json"])
    (only,) = json.loads(proc.stdout)
    assert only["f1"] == pytest.approx(2 / 3)
    both = average(
        [
            score_split("pb", read_gold(processbench_split / "pb.json"), read_predictions(pb_preds)),
            score_split("bbm", read_gold(bbm), read_predictions(folder)),
        ]
    )
    assert both.acc_error == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert both.f1 == pytest.approx((0.4 + 2 / 3) / 2)  # ProcessBench averages the splits' F1
    table = run_prmlabel(
        [
            "eval",
            "--pred",
            str(pb_preds),
            "--gold",
            str(processbench_split / "pb.json"),
            "--gold",
            str(processbench_split / "pb.json"),
        ]
    ).stdout
    assert "average" in table and "0.400" in table


def test_mr_gsm8k_steps_count_from_one(tmp_path):
    rows = [
        {"uuid": "u1", "question": "q", "model_output_steps": STEPS, "model_output_solution_first_error_step": "N/A"},
        {"uuid": "u2", "question": "q", "model_output_steps": STEPS, "model_output_solution_first_error_step": 3},
        {
            "uuid": "u3",
            "question": "q",
            "model_output_steps": STEPS,
            "model_output_solution_first_error_step": "Step 2",
        },
    ]
    (tmp_path / "mr.json").write_text(json.dumps(rows))
    assert [g.first_error for g in read_gold(tmp_path / "mr.json")] == [-1, 2, 1]


def test_a_bad_gold_row_names_file_row_and_field(tmp_path):
    (tmp_path / "pb.json").write_text(json.dumps([{"id": "a", "problem": "p", "steps": STEPS, "label": 7}]))
    proc = run_prmlabel(["eval", "--pred", str(tmp_path / "pb.json"), "--gold", str(tmp_path / "pb.json")], check=False)
    assert proc.returncode == 2
    assert "pb.json: row 1, field label" in proc.stderr and "outside the 3 steps" in proc.stderr
