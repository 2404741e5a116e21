"""z3 labeler: verdicts -> values/hard/first_error (unknown stays null), premises sources, the label stage."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prmlabel.engine.types import ResponseView
from prmlabel.labelers import available_labelers, load_labeler
from prmlabel.labelers.z3_verifier import Z3Params, Z3Verifier
from tests.labelers.driver import drive, fixed

PREMISES = ["∀x (Cat(x) → Mammal(x))", "Cat(tom)", "∀x (Mammal(x) → ¬Cold(x))"]
FOLIO_PROBLEM = {
    "question": "Premises: ...",
    "reference_answer": "False",
    "domain": "logic",
    "meta": {"premises-FOL": PREMISES, "conclusion-FOL": "Cold(tom)", "label": "False"},
}
STEPS = (
    "fact1 & fact2 -> int1: Mammal(tom)\n",
    "Now let me think.\n",
    "int1 & fact3 -> int2: Cold(tom)\n",
    "int1 & fact3 -> int3: ¬Cold(tom)\n",
    "int3 -> ¬hypothesis\n",
    "The final answer is False",
)


def view(steps=STEPS, problem=FOLIO_PROBLEM) -> ResponseView:
    return ResponseView("q1", "r1", tuple(steps), True, None, problem)


def test_registered_without_rollouts():
    assert "z3" in available_labelers()
    labeler = load_labeler("z3", {"timeout_ms": 500})
    assert isinstance(labeler, Z3Verifier) and labeler.uses_rollouts is False
    assert labeler.params() == {"timeout_ms": 500, "response_timeout": 30.0}
    with pytest.raises(ValueError, match="no parameter"):
        load_labeler("z3", {"k": 8})
    with pytest.raises(ValueError, match="no parameter"):  # undecided written as right/wrong: gone
        load_labeler("z3", {"unverifiable_as": "correct"})
    with pytest.raises(ValueError, match="positive"):
        Z3Verifier(Z3Params(timeout_ms=0))


def test_labels_a_formal_response_in_zero_rounds():
    labels, rounds, requests = drive(Z3Verifier().label(view()), fixed({}))
    assert (rounds, requests) == (0, [])
    assert labels.extra["verdicts"] == ["correct", "unverifiable", "wrong", "correct", "correct", "correct"]
    assert labels.values == [1.0, None, 0.0, 1.0, 1.0, 1.0]
    assert labels.hard == [True, None, False, True, True, True]
    assert labels.first_error == 2
    assert labels.extra["rationales"][2] == "int1 & fact3 do not entail int2: a countermodel exists"
    assert labels.extra["rationales"][1] == "not in the formal step form"
    assert labels.extra["premises"] == "premises-FOL" and labels.extra["n_premises_formal"] == 3
    assert labels.extra["checker"].startswith("z3 ")
    assert (labels.extra["checked"], labels.extra["unchecked"], labels.extra["timeouts"]) == (5, 1, 0)
    json.dumps(labels.extra)  # label_extra is stored as JSON


def test_first_error_is_null_when_no_step_is_wrong_and_one_is_undecided():
    steps = ("fact1 & fact2 -> int1: Mammal(tom)\n", "Now let me think.\n", "The final answer is False")
    labels, _, _ = drive(Z3Verifier().label(view(steps)), fixed({}))
    assert labels.hard == [True, None, True] and labels.first_error is None
    steps = ("fact1 & fact2 -> int1: Mammal(tom)\n", "int1 & fact3 -> ¬hypothesis\n", "The final answer is False")
    labels, _, _ = drive(Z3Verifier().label(view(steps)), fixed({}))
    assert labels.hard == [True, True, True] and labels.first_error == -1


def test_no_formal_premises_means_every_step_unverifiable():
    for problem in (None, {"question": "2+2?", "reference_answer": "4", "domain": "math", "meta": {}}):
        labels, _, _ = drive(Z3Verifier().label(view(problem=problem)), fixed({}))
        assert labels.values == [None] * len(STEPS) and labels.hard == [None] * len(STEPS)
        assert labels.first_error is None  # nothing was checked: unknown, never "no error"
        assert set(labels.extra["rationales"]) == {"no formal premises"}
        assert labels.extra["unchecked"] == len(STEPS) and labels.extra["checked"] == 0


def test_prontoqa_problem_from_its_context():
    problem = {
        "question": "...",
        "reference_answer": "True",
        "domain": "logic",
        "meta": {
            "context": "Every cat is a mammal. Mammals are not cold. Tom is a cat.",
            "question": "Is the following statement true or false? Tom is not cold.",
        },
    }
    steps = ("fact3 & fact1 -> int1: Mammal(tom)\n", "int1 & fact2 -> hypothesis\n", "The final answer is True")
    labels, _, _ = drive(Z3Verifier().label(view(steps, problem)), fixed({}))
    assert labels.hard == [True, True, True] and labels.extra["premises"] == "prontoqa"


def test_wrong_final_answer_is_the_first_error():
    steps = ("fact1 & fact2 -> int1: Mammal(tom)\n", "The final answer is True")
    labels, _, _ = drive(Z3Verifier().label(view(steps)), fixed({}))
    assert labels.hard == [True, False] and labels.first_error == 1


def _read(folder: Path) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))]).to_pylist()


def test_label_stage_passes_the_problem_to_the_verifier(prmlabel, tmp_path):
    rows = [
        {
            "question": "Is Tom cold?",
            "answer": "False",
            "steps": list(STEPS),
            "premises-FOL": PREMISES,
            "conclusion-FOL": "Cold(tom)",
        },
        {"question": "What is 2+2?", "answer": "4", "steps": ["2+2=4\n", "The final answer is 4"]},
    ]
    src = tmp_path / "responses.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    prmlabel(["import", "-i", str(src), "-o", str(tmp_path / "rollouts"), "domain=logic", "runtime.progress=false"])
    prmlabel(["label", "-i", str(tmp_path / "rollouts"), "-o", str(tmp_path / "z3"), "--method", "z3", "--no-progress"])
    out = {r["question"]: r for r in _read(tmp_path / "z3")}
    folio = out["Is Tom cold?"]
    assert folio["method"] == "z3" and folio["hard"] == [True, None, False, True, True, True]
    assert folio["first_error"] == 2 and folio["label_cost"]["rollouts"] == 0
    assert json.loads(folio["label_extra"])["verdicts"][2] == "wrong"
    assert out["What is 2+2?"]["hard"] == [None, None] and out["What is 2+2?"]["first_error"] is None


def test_timeouts_and_checker_failures_are_null_and_counted(monkeypatch):
    from prmlabel.labelers import z3_verifier
    from prmlabel.verifiers.z3_check import CORRECT, UNVERIFIABLE, StepVerdict

    canned = [
        StepVerdict(CORRECT, "fact1 & fact2 entail int1"),
        StepVerdict(UNVERIFIABLE, "timeout"),
        StepVerdict(UNVERIFIABLE, "checker failed (memory)"),
        StepVerdict(UNVERIFIABLE, "not in the formal step form"),
    ]
    monkeypatch.setattr(z3_verifier, "check_response", lambda *args, **kwargs: canned)
    steps = ("fact1 & fact2 -> int1: Mammal(tom)\n",) * 4
    labels, _, _ = drive(Z3Verifier().label(view(steps)), fixed({}))
    assert labels.hard == [True, None, None, None] and labels.first_error is None
    extra = labels.extra
    assert (extra["checked"], extra["unchecked"], extra["timeouts"], extra["errors"]) == (1, 3, 1, 1)
