"""Tests for prmlabel.inputs.problems: field maps, answer rules, rejects with reasons, presets on real files."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prmlabel.contract.schema import PROBLEMS, REJECTS, table_from_rows
from prmlabel.inputs.problems import PRESETS, FieldMap, ProblemLoad, load_problems
from prmlabel.inputs.rows import make_problem_id

DATA = Path(__file__).resolve().parents[1] / "data"  # tests/data/README.md: sources, licenses
KEYS = set(PROBLEMS.names)


def _jsonl(path: Path, rows: list[dict | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _check(load: ProblemLoad) -> ProblemLoad:
    assert load.rows_in == len(load.problems) + len(load.rejects)
    assert all(set(p) == KEYS for p in load.problems)
    table_from_rows(load.problems, PROBLEMS)
    table_from_rows(load.rejects, REJECTS)
    return load


def _data(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        pytest.fail(f"{path} is missing; tests/data/README.md lists the test data")
    return path


def test_rejects_say_which_row_and_why_in_the_users_field_names(tmp_path: Path) -> None:
    rows: list[dict | str] = [
        {"uid": "a", "problem": "1+1?", "sol": "2", "extra": [1, 2]},
        '{"uid": "b", "problem": "trunc',
        {"uid": "c", "sol": "3"},
        {"uid": "d", "problem": ["not", "text"], "sol": "4"},
        {"uid": "e", "problem": "   ", "sol": "5"},
        {"uid": "f", "problem": "no answer"},
        {"uid": "a", "problem": "dup id", "sol": "7"},
        {"uid": 8, "problem": "numeric id", "sol": 8},
        {"problem": "no id", "sol": "9"},
    ]
    fm = FieldMap(id="uid", question="problem", answer="sol")
    load = _check(load_problems(_jsonl(tmp_path / "mine.jsonl", rows), fm))
    assert load.rows_in == 9 and len(load.problems) == 3
    reasons = {r["row"]: (r["field"], r["reason"], r["problem_id"]) for r in load.rejects}
    assert reasons[2][1].startswith("invalid JSON")
    assert reasons[3][0] == "problem"
    assert reasons[3][1].startswith("missing question field 'problem'; map it with")
    assert reasons[3][2] == "c"
    assert reasons[4][1] == "question field 'problem' has type list; expected a string"
    assert reasons[5][1] == "empty question field 'problem'"
    assert reasons[6][0] == "sol" and reasons[6][1].startswith("missing answer field 'sol'")
    assert reasons[7] == ("uid", "duplicate problem_id a (first seen at row 1); the first one is kept", "a")
    first, numeric, hashed = load.problems
    assert first["problem_id"] == "a" and json.loads(first["meta"]) == {"extra": [1, 2]}
    assert numeric["problem_id"] == "8" and numeric["reference_answer"] == "8"
    assert hashed["problem_id"] == make_problem_id("mine", "no id", "9") and hashed["source"] == "mine"
    raw = json.loads(next(r["raw"] for r in load.rejects if r["row"] == 4))
    assert raw["uid"] == "d"


def test_hash_ids_are_stable_under_reordering(tmp_path: Path) -> None:
    rows = [{"question": f"q{i}", "answer": str(i)} for i in range(4)]
    a = load_problems(_jsonl(tmp_path / "a.jsonl", rows), FieldMap(), source="s")
    b = load_problems(_jsonl(tmp_path / "b.jsonl", rows[::-1]), FieldMap(), source="s")
    assert sorted(p["problem_id"] for p in a.problems) == sorted(p["problem_id"] for p in b.problems)
    assert all(p["problem_id"].startswith("s-") and len(p["problem_id"]) == 14 for p in a.problems)


def test_same_question_and_answer_twice_is_a_duplicate(tmp_path: Path) -> None:
    rows = [{"question": "q", "answer": a} for a in ("1", "1", "2")]
    load = _check(load_problems(_jsonl(tmp_path / "d.jsonl", rows), FieldMap()))
    assert len(load.problems) == 2 and load.rejects[0]["row"] == 2
    assert load.rejects[0]["reason"].startswith("duplicate problem_id d-")


def test_answer_rules(tmp_path: Path) -> None:
    rows = [
        {"question": "g1", "answer": "work\n#### 1,234"},
        {"question": "g2", "answer": "no marker 5"},
        {"question": "g3", "answer": "####   "},
    ]
    load = _check(load_problems(_jsonl(tmp_path / "g.jsonl", rows), FieldMap(answer_from="gsm8k")))
    assert [p["reference_answer"] for p in load.problems] == ["1234"]
    assert "no '#### <answer>' line" in load.rejects[0]["reason"]
    assert "nothing after '####'" in load.rejects[1]["reason"]
    assert json.loads(load.problems[0]["meta"]) == {"answer": "work\n#### 1,234"}  # the solution is kept

    rows = [{"q": "b1", "s": "so \\boxed{\\frac{1}{2}} then \\boxed{3}"}, {"q": "b2", "s": "none"}]
    boxed = FieldMap(question="q", answer="s", answer_from="boxed")
    load = _check(load_problems(_jsonl(tmp_path / "b.jsonl", rows), boxed))
    assert load.problems[0]["reference_answer"] == "3"
    assert "no \\boxed{} answer in field 's'" in load.rejects[0]["reason"]

    rows = [
        {"problem": "m1", "answer": " 7 ", "solution": "\\boxed{8}"},
        {"problem": "m2", "solution": "\\boxed{x^2}"},
        {"problem": "m3", "answer": "", "solution": "nothing"},
    ]
    load = _check(load_problems(_jsonl(tmp_path / "m.jsonl", rows), PRESETS["math"]))
    assert [p["reference_answer"] for p in load.problems] == ["7", "x^2"]
    reason = "missing answer: no field 'answer' and no \\boxed{} in field 'solution'"
    assert load.rejects[0]["reason"] == reason
    assert set(json.loads(load.problems[0]["meta"])) == {"solution"}


def test_logic_rules(tmp_path: Path) -> None:
    rows = [
        {"premises": ["A.", "B."], "conclusion": "C.", "label": "Uncertain", "conclusion-FOL": "C"},
        {"premises": "A.\nB.", "conclusion": "D.", "label": "False"},
        {"premises": ["A."], "conclusion": "E.", "label": "Maybe"},
        {"conclusion": "F.", "label": "True"},
    ]
    load = _check(load_problems(_jsonl(tmp_path / "f.jsonl", rows), PRESETS["folio"]))
    p0, p1 = load.problems
    assert p0["question"].startswith("Premises:\n- A.\n- B.\n\nConclusion: C.")
    assert (p0["reference_answer"], p1["reference_answer"]) == ("Unknown", "False")
    assert p0["domain"] == "logic" and p0["source"] == "folio"
    assert json.loads(p0["meta"])["conclusion-FOL"] == "C"
    assert "expected True, False, Uncertain or Unknown" in load.rejects[0]["reason"]
    assert load.rejects[1]["field"] == "premises"

    rows = [
        {"id": "p1", "context": "Ctx.", "question": "Q?", "options": ["A) True", "B) False"], "answer": "B"},
        {"id": "p2", "context": "Ctx.", "question": "Q?", "options": ["A) True", "B) False"], "answer": "C"},
    ]
    load = _check(load_problems(_jsonl(tmp_path / "p.jsonl", rows), PRESETS["prontoqa"]))
    assert load.problems[0]["question"] == "Ctx.\n\nQ?" and load.problems[0]["reference_answer"] == "False"
    assert "not one of the option letters ['A', 'B']" in load.rejects[0]["reason"]


def test_optional_answer_and_other_formats(tmp_path: Path) -> None:
    pq.write_table(pa.table({"problem": ["x", "y"], "id": ["1", "2"]}), tmp_path / "pb.parquet")
    load = _check(load_problems(tmp_path / "pb.parquet", PRESETS["processbench"]))
    assert [p["reference_answer"] for p in load.problems] == [None, None]
    (tmp_path / "c.csv").write_text("question,answer\nq1,1\nq2,\n", encoding="utf-8")
    load = _check(load_problems(tmp_path / "c.csv", FieldMap()))
    assert len(load.problems) == 1 and load.rejects[0]["row"] == 3 and load.rejects[0]["field"] == "answer"


def test_bad_field_map_values_raise() -> None:
    with pytest.raises(ValueError, match="unknown answer_from 'nope'"):
        FieldMap(answer_from="nope")
    with pytest.raises(ValueError, match="unknown question_from"):
        FieldMap(question_from="nope")


# ------------------------------------------------------------------------------------------------------
# Presets on the public data files
# ------------------------------------------------------------------------------------------------------


def test_gsm8k_test_set() -> None:
    load = _check(load_problems(_data("gsm8k/test.jsonl"), PRESETS["gsm8k"]))
    assert len(load.problems) == 40 and not load.rejects
    for p in load.problems:
        Fraction(p["reference_answer"])  # every answer is a plain number
        assert p["source"] == "gsm8k" and "####" in json.loads(p["meta"])["answer"]


def test_math500() -> None:
    load = _check(load_problems(_data("math500/test.jsonl"), PRESETS["math500"]))
    assert len(load.problems) == 40 and not load.rejects
    assert load.problems[0]["problem_id"] == "test/precalculus/807.json"
    assert all(p["reference_answer"] for p in load.problems)


def test_processbench_problems() -> None:
    load = _check(load_problems(_data("processbench/gsm8k.json"), PRESETS["processbench"]))
    assert len(load.problems) == 40 and all(p["reference_answer"] is None for p in load.problems)


def test_folio_validation() -> None:
    load = _check(load_problems(_data("folio/folio-validation.jsonl"), PRESETS["folio"]))
    assert len(load.problems) == 40 and not load.rejects
    assert {p["domain"] for p in load.problems} == {"logic"}
    assert {p["reference_answer"] for p in load.problems} == {"True", "False", "Unknown"}
    meta = json.loads(load.problems[0]["meta"])
    assert "premises-FOL" in meta and "conclusion-FOL" in meta


def test_prontoqa_and_proofwriter() -> None:
    load = _check(load_problems(_data("logic/ProntoQA_dev.json"), PRESETS["prontoqa"]))
    assert len(load.problems) == 40 and {p["reference_answer"] for p in load.problems} == {"True", "False"}
    load = _check(load_problems(_data("logic/ProofWriter_dev.json"), PRESETS["proofwriter"]))
    assert {p["reference_answer"] for p in load.problems} == {"True", "False", "Unknown"}


# ------------------------------------------------------------------------------------------------------
# The same data sets by their Hub names (hf://), from a datasets cache in tmp_path, offline
# ------------------------------------------------------------------------------------------------------


@pytest.fixture
def hf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from tests.hub_cache import offline_hf_home

    return offline_hf_home(tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("repo", "config", "split", "path", "preset"),
    [
        ("openai/gsm8k", "main", "test", "gsm8k/test.jsonl", "gsm8k"),
        ("HuggingFaceH4/MATH-500", None, "test", "math500/test.jsonl", "math500"),
        ("Qwen/ProcessBench", None, "gsm8k", "processbench/gsm8k.json", "processbench"),
        ("yale-nlp/FOLIO", None, "validation", "folio/folio-validation.jsonl", "folio"),
    ],
)
def test_hub_names_give_the_problems_of_the_files(
    hf_home: Path, repo: str, config: str | None, split: str, path: str, preset: str
) -> None:
    from prmlabel.inputs.hub import presets_for
    from tests.hub_cache import add_hub_dataset

    add_hub_dataset(hf_home, repo, {split: _data(path)}, config=config)
    assert presets_for(f"hf://{repo}")[0] == preset
    hub = _check(load_problems(f"hf://{repo}", PRESETS[preset], split=split))
    local = _check(load_problems(_data(path), PRESETS[preset]))
    keys = ("problem_id", "question", "reference_answer", "domain", "source")
    assert [[p[k] for k in keys] for p in hub.problems] == [[p[k] for k in keys] for p in local.problems]
    assert len(hub.problems) == 40 and not hub.rejects
