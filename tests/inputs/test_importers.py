"""Tests for prmlabel.inputs.importers: presets on the public files, custom field maps, rejects, partitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prmlabel.contract.schema import REJECTS, ROLLOUTS, table_from_rows
from prmlabel.inputs.importers import ResponseFieldMap, ResponseLoad, load_responses

DATA = Path(__file__).resolve().parents[1] / "data"  # tests/data/README.md: sources, licenses
ROW_KEYS = set(ROLLOUTS.names[:6]) | {
    "response_id",
    "sample_index",
    "policy",
    "steps",
    "step_split",
    "response",
    "final_answer",
    "is_correct",
    "gold_first_error",
}


def _data(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        pytest.fail(f"{path} is missing; tests/data/README.md lists the test data")
    return path


def _jsonl(path: Path, rows: list[dict | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _check(load: ResponseLoad) -> ResponseLoad:
    assert load.rows_in == len(load.rows) + len(load.rejects)
    for row in load.rows:
        assert set(row) == ROW_KEYS
        assert "".join(row["steps"]) == row["response"] and all(s.strip() for s in row["steps"])
        assert all(s.endswith("\n\n") for s in row["steps"][:-1]) or row["step_split"] != "given"
        assert row["response_id"] == f"{row['problem_id']}/r{row['sample_index']}"
        gold = row["gold_first_error"]
        assert gold is None or -1 <= gold < len(row["steps"])
    table_from_rows(load.rows, ROLLOUTS)
    table_from_rows(load.rejects, REJECTS)
    return load


# ------------------------------------------------------------------------------------------------------
# Presets on the public data files
# ------------------------------------------------------------------------------------------------------


def test_processbench_gsm8k() -> None:
    path = _data("processbench/gsm8k.json")
    source = json.loads(path.read_text(encoding="utf-8"))
    load = _check(load_responses(path, "processbench", None))
    assert len(load.rows) == 40 and not load.rejects
    for row, src in zip(load.rows, source, strict=True):
        assert row["problem_id"] == src["id"] and row["response_id"] == f"{src['id']}/r0"
        assert row["gold_first_error"] == src["label"]
        assert row["is_correct"] == src["final_answer_correct"] and row["policy"] == src["generator"]
        assert [s.removesuffix("\n\n") for s in row["steps"]] == src["steps"]
        assert row["reference_answer"] is None and row["step_split"] == "given" and row["meta"] == "{}"
    assert sum(r["gold_first_error"] == -1 for r in load.rows) == 19


def test_bigbench_mistake() -> None:
    for name in ("logical_deduction.jsonl", "word_sorting.jsonl"):
        path = _data(f"bigbench_mistake/{name}")
        source = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        load = _check(load_responses(path, "bigbench_mistake", None))
        assert len(load.rows) == 40 and not load.rejects
        for row, src in zip(load.rows, source, strict=True):
            expected = -1 if src["mistake_index"] is None else src["mistake_index"]
            assert row["gold_first_error"] == expected and row["reference_answer"] == src["target"]
            assert row["final_answer"] == src["answer"]
            answered = src["answer"] is not None
            assert row["is_correct"] == (answered and src["answer"].strip() == src["target"].strip())


def test_prm800k_phase_examples() -> None:
    phase1 = _check(load_responses(_data("prm800k/prm800k-phase1-test-example.json"), "prm800k", None))
    (row,) = phase1.rows
    # Step 1 has no chosen completion (all five rated -1; a human wrote the next step): the response
    # stops there, with that step as the first error.
    assert len(row["steps"]) == 2 and row["gold_first_error"] == 1 and row["reference_answer"] == "29"
    assert row["is_correct"] is False and row["final_answer"] is None
    assert json.loads(row["meta"])["label"]["finish_reason"] == "solution"
    phase2 = _check(load_responses(_data("prm800k/prm800k-phase2-test-example.json"), "prm800k", None))
    (row,) = phase2.rows
    assert len(row["steps"]) == 7 and row["gold_first_error"] == 6  # found_error at the pre-generated step 6
    assert "pre_generated_steps" in json.loads(row["meta"])["question"]


def test_prm800k_samples() -> None:
    load = _check(load_responses(_data("prm800k/samples_prm800k.openr.jsonl"), "prm800k", None))
    assert len(load.rows) == 6 and not load.rejects
    finished = [r for r in load.rows if json.loads(r["meta"])["label"]["finish_reason"] == "solution"]
    solved = [r for r in finished if r["gold_first_error"] == -1]
    assert len(solved) == 3 and all(r["final_answer"] and r["is_correct"] for r in solved)
    give_up = [r for r in load.rows if json.loads(r["meta"])["label"]["finish_reason"] == "give_up"]
    assert [r["gold_first_error"] for r in give_up] == [7]
    # The phase-1 record appears twice in the folder: two responses to one problem share its id.
    folder = _check(load_responses(_data("prm800k"), "prm800k", None))
    assert len(folder.rows) == 8
    pencil = [r for r in folder.rows if r["reference_answer"] == "29"]
    assert len({r["problem_id"] for r in pencil}) == 1 and sorted(r["sample_index"] for r in pencil) == [0, 1]


def test_math_shepherd() -> None:
    path = _data("math_shepherd/samples_math-shepherd.openr.jsonl")
    source = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    load = _check(load_responses(path, "math_shepherd", None))
    assert len(load.rows) == 7 and not load.rejects
    for row, src in zip(load.rows, source, strict=True):
        marks = json.loads(row["meta"])["step_labels"]
        assert len(marks) == len(row["steps"]) == src["input"].count("ки")
        assert row["gold_first_error"] == (marks.index("-") if "-" in marks else -1)
        assert row["steps"][0].startswith("Step 1:") and "Step 1:" not in row["question"]
        assert src["input"].startswith(row["question"]) and "ки" not in row["response"]
        assert row["is_correct"] == (marks[-1] == "+")
    assert load.rows[0]["final_answer"] == "13520"


# ------------------------------------------------------------------------------------------------------
# Synthetic files: rejects and custom field maps
# ------------------------------------------------------------------------------------------------------


def test_preset_rejects(tmp_path: Path) -> None:
    rows: list[dict | str] = [
        {"id": "a", "generator": "m", "problem": "P", "steps": ["s0", "s1"], "final_answer_correct": True, "label": -1},
        {"id": "b", "generator": "m", "problem": "P", "steps": [], "label": -1},
        {"id": "c", "generator": "m", "problem": "P", "steps": ["s0"], "label": 1},
        {"id": "d", "generator": "m", "steps": ["s0"], "label": 0},
        {"id": "e", "generator": "m", "problem": "P", "steps": ["s0", "  "], "label": 0},
        '{"id": "f", "problem": ',
    ]
    load = _check(load_responses(_jsonl(tmp_path / "pb.jsonl", rows), "processbench", None))
    assert len(load.rows) == 1
    reasons = {r["row"]: r["reason"] for r in load.rejects}
    assert reasons[2] == "no steps: steps field 'steps' is an empty list"
    assert reasons[3] == "label 1 is out of range for 1 steps (0..0, -1 = no error)"
    assert reasons[4].startswith("missing question field 'problem'")
    assert reasons[5] == "step 1 of field 'steps' is empty"
    assert reasons[6].startswith("invalid JSON")

    shepherd = [
        {"input": "Q? Step 1: a ки\nStep 2: b ки", "label": "Q? Step 1: a +\nStep 2: b -", "task": "t"},
        {"input": "Q? Step 1: a ки", "label": "Q? Step 1: a *", "task": "t"},
        {"input": "Q? no tags", "label": "Q? no tags", "task": "t"},
    ]
    load = _check(load_responses(_jsonl(tmp_path / "ms.jsonl", shepherd), "math_shepherd", None))
    assert load.rows[0]["steps"] == ["Step 1: a\n\n", "Step 2: b"] and load.rows[0]["gold_first_error"] == 1
    assert "with each 'ки' -> +/-" in load.rejects[0]["reason"]
    assert "no step tags" in load.rejects[1]["reason"]


def test_custom_field_map(tmp_path: Path) -> None:
    rows = [
        {"q": "Q1", "ref": "4", "sol": ["a", "b", "c"], "first_bad": 1, "model": "m1", "x": 1},
        {"q": "Q1", "ref": "4", "sol": ["a", "b"], "first_bad": -1},
        {"q": "Q1", "ref": "4", "sol": ["a"], "first_bad": 3},
        {"q": "Q2", "ref": "5", "sol": ["a"], "first_bad": None},
        {"q": "Q3", "ref": "6", "sol": ["a"], "first_bad": "x"},
        {"ref": "7", "sol": ["a"], "first_bad": 0},
    ]
    fm = ResponseFieldMap(question="q", answer="ref", steps="sol", label="first_bad", policy="model")
    load = _check(load_responses(_jsonl(tmp_path / "mine.jsonl", rows), None, fm))
    assert [r["gold_first_error"] for r in load.rows] == [1, -1, None]
    q1 = load.rows[:2]
    assert q1[0]["problem_id"] == q1[1]["problem_id"] and [r["sample_index"] for r in q1] == [0, 1]
    assert q1[0]["policy"] == "m1" and q1[1]["policy"] == "mine" and q1[0]["source"] == "mine"
    assert json.loads(q1[0]["meta"]) == {"x": 1}
    reasons = {r["row"]: (r["field"], r["reason"]) for r in load.rejects}
    assert reasons[3] == ("first_bad", "label 3 is out of range for 1 steps (0..0, -1 = no error)")
    assert reasons[5][0] == "first_bad" and "expected a step index" in reasons[5][1]
    assert reasons[6][0] == "q" and reasons[6][1].startswith("missing question field 'q'")


def test_custom_split_response_and_per_step_labels(tmp_path: Path) -> None:
    text = "First step.\n\nSecond step.\n\nSo the answer is \\boxed{3}."
    rows = [
        {"pid": "p1", "question": "Q", "text": text, "ok": [True, False, None]},
        {"pid": "p1", "question": "Q", "text": text, "ok": "+++"},
        {"pid": "p2", "question": "Q", "text": text, "ok": [True, None, False]},
        {"pid": "p3", "question": "Q", "text": text, "ok": [True, True]},
        {"pid": "p4", "question": "Q", "text": text, "ok": [True, "maybe", True]},
        {"pid": "p5", "question": "Q", "text": "   "},
        {"pid": "p1", "question": "Another Q", "text": text, "ok": "+++"},
    ]
    fm = ResponseFieldMap(id="pid", answer=None, steps=None, response="text", label="ok", label_kind="per_step_bool")
    load = _check(load_responses(_jsonl(tmp_path / "r.jsonl", rows), None, fm, source="own"))
    assert [r["gold_first_error"] for r in load.rows] == [1, -1, None]
    first = load.rows[0]
    assert first["steps"] == ["First step.\n\n", "Second step.\n\n", "So the answer is \\boxed{3}."]
    assert first["step_split"] == "double_newline" and first["final_answer"] == "3"
    assert [r["response_id"] for r in load.rows] == ["p1/r0", "p1/r1", "p2/r0"]
    assert json.loads(first["meta"]) == {"ok": [True, False, None]}  # per-step labels are kept
    reasons = {r["row"]: r["reason"] for r in load.rejects}
    assert reasons[4] == "label field 'ok' has 2 entries but there are 3 steps"
    assert "entry 1 of label field 'ok'" in reasons[5]
    assert reasons[6].startswith("no steps")
    assert reasons[7] == "problem_id p1 was first seen with a different question (row 1)"


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="unknown import preset 'nope'"):
        load_responses("x.jsonl", "nope", None)
    with pytest.raises(ValueError, match="not both"):
        load_responses("x.jsonl", "processbench", ResponseFieldMap())
    with pytest.raises(ValueError, match="label_kind"):
        ResponseFieldMap(label_kind="soft")
    with pytest.raises(ValueError, match="step split"):
        ResponseFieldMap(split="paragraphs")


def test_hub_names_give_the_responses_of_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PRM800K by its Hub name (tasksource/PRM800K: the raw records) reads as the local file does."""
    from prmlabel.inputs.hub import presets_for
    from tests.hub_cache import add_hub_dataset, offline_hf_home

    home = offline_hf_home(tmp_path, monkeypatch)
    path = _data("prm800k/samples_prm800k.openr.jsonl")
    add_hub_dataset(home, "tasksource/PRM800K", {"test": path})
    preset = presets_for("hf://tasksource/PRM800K")[1]
    hub = _check(load_responses("hf://tasksource/PRM800K", preset, split="test"))
    local = _check(load_responses(path, preset))
    keys = ("problem_id", "question", "reference_answer", "steps", "gold_first_error", "is_correct")
    assert preset == "prm800k" and len(hub.rows) == len(local.rows) > 0
    assert [[r[k] for k in keys] for r in hub.rows] == [[r[k] for k in keys] for r in local.rows]
    assert [r["reason"] for r in hub.rejects] == [r["reason"] for r in local.rejects]
