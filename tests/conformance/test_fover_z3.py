"""FoVer conformance: z3 step labels on a hand-made problem set, checked against labels worked out by hand.

The paper's rule (Kamoi et al., 2025, arXiv 2505.15960; psunlpgroup/FoVer @742fcf9,
src/dataset_creation/base_dataset_specific/fol/verifier/verifier.py, ``verify_fol_one_step``): a step
``cited -> conclusion`` is checked with the cited facts and earlier ``intN`` substituted as written (local
validity), by ``check_sat(cited AND NOT conclusion)``: sat -> ``wrong_implication``, unsat -> ``correct``.
The appended last step "The final answer is X" is labeled ``y_pred == y_true``
(dataset_generation/generate_error_labels.py). A step z3 cannot decide (prose, a formula that does not
parse) is null here; ``first_error`` is the first step decided wrong, -1 only when every step was decided
right, null otherwise.

Data: tests/data/conformance/fover/problems.jsonl, one response per row, in FLD notation (FoVer's FLDx2
problems). Each row carries ``expected_hard`` and ``expected_first_error`` and, per step, ``why``: the z3
query written out and its answer, worked out by hand (README.md there lists the problems). The second file,
fldx2_fewshot.jsonl, holds the nine FLDx2 problems and gold proofs of FoVer's own few-shot prompt: FoVer
keeps a gold proof only if every step verifies (generate_error_labels.py, ``ground_truth``), so each must
come out all correct here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_prmlabel

DATA = Path(__file__).resolve().parents[1] / "data" / "conformance" / "fover"
IMPORT_FIELDS = [
    "fields.id=id",
    "fields.question=problem",
    "fields.answer=proof_label",
    "fields.steps=solution_steps",
    "domain=logic",
    "runtime.progress=false",
]


def _read(folder: Path) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))]).to_pylist()


def _label(src: Path, root: Path) -> dict[str, dict]:
    """`prmlabel import` then `prmlabel label --method z3`, as a user runs them; rows by their file id."""
    run_prmlabel(["import", "-i", str(src), "-o", str(root / "rollouts"), *IMPORT_FIELDS])
    run_prmlabel(["label", "-i", str(root / "rollouts"), "-o", str(root / "z3"), "--method", "z3", "--no-progress"])
    out = {}
    for row in _read(root / "z3"):
        meta = json.loads(row["meta"]) if isinstance(row["meta"], str) else row["meta"]
        out[meta.get("id", row["problem_id"])] = row
    return out


@pytest.fixture(scope="module")
def handmade(tmp_path_factory) -> tuple[list[dict], dict[str, dict]]:
    src = DATA / "problems.jsonl"
    rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines()]
    return rows, _label(src, tmp_path_factory.mktemp("fover"))


def test_the_hand_made_set_covers_every_case(handmade):
    rows, _ = handmade
    hard = [h for r in rows for h in r["expected_hard"]]
    assert {True, False, None} <= set(hard)
    assert {-1, None} <= {r["expected_first_error"] for r in rows} and any(
        isinstance(r["expected_first_error"], int) and r["expected_first_error"] >= 0 for r in rows
    )
    assert all(len(r["why"]) == len(r["solution_steps"]) == len(r["expected_hard"]) for r in rows)


def test_step_labels_match_the_hand_worked_labels(handmade):
    rows, labeled = handmade
    assert set(labeled) == {r["id"] for r in rows}
    for r in rows:
        got = labeled[r["id"]]
        assert got["method"] == "z3"
        assert got["hard"] == r["expected_hard"], (r["id"], json.loads(got["label_extra"])["rationales"])
        assert got["values"] == [None if h is None else float(h) for h in r["expected_hard"]], r["id"]
        assert got["first_error"] == r["expected_first_error"], r["id"]
        extra = json.loads(got["label_extra"])
        assert extra["premises"] == "facts_formula"
        assert extra["unchecked"] == r["expected_hard"].count(None), r["id"]
        assert extra["checked"] == len(r["expected_hard"]) - extra["unchecked"]


def test_fldx2_gold_proofs_import_and_verify(tmp_path):
    """FLDx2 rows (FoVer's few-shot problems) import with `fields.*` and every gold step verifies."""
    src = DATA / "fldx2_fewshot.jsonl"
    rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines()]
    assert {r["proof_label"] for r in rows} == {"PROVED", "DISPROVED", "UNKNOWN"}
    labeled = _label(src, tmp_path)
    assert set(labeled) == {r["id"] for r in rows}
    for r in rows:
        got = labeled[r["id"]]
        rationales = json.loads(got["label_extra"])["rationales"]
        assert got["hard"] == [True] * len(r["solution_steps"]), (r["id"], rationales)
        assert got["first_error"] == -1


def test_a_broken_fldx2_proof_is_caught(tmp_path):
    """The same import with one gold step citing the wrong fact: that step, and only that, is wrong."""
    first = (DATA / "fldx2_fewshot.jsonl").read_text(encoding="utf-8").splitlines()[0]
    row = json.loads(first)  # PROVED, hypothesis {D}
    steps = list(row["solution_steps"])
    assert steps[2] == "int2 & fact8 -> hypothesis\n"  # int2 = {C}; fact8: {C} -> {D}
    steps[2] = "int2 & fact7 -> hypothesis\n"  # fact7: ({F} & {G}) -> ¬{E}; C ∧ fact7 ∧ ¬D is sat
    src = tmp_path / "broken.jsonl"
    src.write_text(json.dumps({**row, "solution_steps": steps}, ensure_ascii=False) + "\n")
    got = _label(src, tmp_path)[row["id"]]
    assert got["hard"] == [True, True, False, True] and got["first_error"] == 2
