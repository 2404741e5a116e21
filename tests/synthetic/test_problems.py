"""Synthetic problems (simulator ground truth): determinism, ranges, round-trips."""

from __future__ import annotations

import json

import pytest

from prmlabel.synthetic.problems import (
    VALUE_BOUND,
    SyntheticProblem,
    apply_op,
    make_problems,
    parse_question,
    problem_from_row,
)

KEYS = {"problem_id", "question", "reference_answer", "domain", "source", "meta"}


def test_deterministic_for_a_seed_and_differs_across_seeds() -> None:
    assert make_problems(20, (2, 6), seed=3) == make_problems(20, (2, 6), seed=3)
    assert make_problems(20, (2, 6), seed=3) != make_problems(20, (2, 6), seed=4)


def test_larger_set_extends_smaller_one() -> None:
    assert make_problems(50, (2, 6), seed=1)[:10] == make_problems(10, (2, 6), seed=1)


def test_rows_have_exactly_the_schema_keys() -> None:
    rows = make_problems(5, (1, 3), seed=7)
    assert len(rows) == 5
    for i, row in enumerate(rows):
        assert set(row) == KEYS
        assert row["problem_id"] == f"syn-7-{i:05d}"
        assert row["domain"] == "math" and row["source"] == "synthetic"
        meta = json.loads(row["meta"])
        assert isinstance(meta["start"], int) and all(len(op) == 2 for op in meta["ops"])


def test_step_range_respected_and_covered() -> None:
    rows = make_problems(400, (3, 7), seed=11)
    counts = {len(json.loads(r["meta"])["ops"]) for r in rows}
    assert counts == {3, 4, 5, 6, 7}
    single = make_problems(20, (4, 4), seed=2)
    assert all(len(json.loads(r["meta"])["ops"]) == 4 for r in single)


def test_reference_answer_is_the_chain_value_and_values_bounded() -> None:
    for row in make_problems(300, (1, 12), seed=5):
        meta = json.loads(row["meta"])
        value = meta["start"]
        for op, operand in meta["ops"]:
            value = apply_op(value, op, operand)
            assert abs(value) < 10**6
            assert abs(value) < VALUE_BOUND + 50
        assert row["reference_answer"] == str(value)


def test_parse_question_round_trips() -> None:
    for row in make_problems(200, (1, 10), seed=9):
        from_meta = SyntheticProblem.from_meta(row["meta"])
        assert parse_question(row["question"]) == from_meta
        assert from_meta is not None and str(from_meta.answer) == row["reference_answer"]


def test_parse_question_inside_a_template() -> None:
    row = make_problems(1, (4, 4), seed=0)[0]
    prompt = (
        "<|im_start|>system\nYou are a careful solver. Write one step per line.<|im_end|>\n"
        f"<|im_start|>user\nSolve the problem.\n\n{row['question']}\n\n"
        "Please reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert parse_question(prompt) == problem_from_row(row)


def test_parse_question_takes_the_last_question_after_a_few_shot_example() -> None:
    example = "Example: Start with 2. Add 3. What is the final number? Step 1: 2 + 3 = 5"
    question = "Start with 7. Multiply by 3, then add 5, then subtract 4. What is the final number?"
    parsed = parse_question(f"{example}\n\nNow: {question}")
    assert parsed == SyntheticProblem(7, (("*", 3), ("+", 5), ("-", 4)))
    assert parsed.answer == 22


@pytest.mark.parametrize("text", ["", "What is 2 + 3?", "Start with 7. What is the final number?"])
def test_parse_question_rejects_other_text(text: str) -> None:
    assert parse_question(text) is None


def test_problem_from_row_falls_back_to_question() -> None:
    row = make_problems(1, (3, 3), seed=0)[0]
    assert problem_from_row({**row, "meta": "not json"}) == problem_from_row(row)
    assert problem_from_row({"question": "hello", "meta": None}) is None


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        make_problems(3, (0, 2), seed=0)
    with pytest.raises(ValueError):
        make_problems(3, (4, 2), seed=0)
