"""Simulated policy: format, rates (statistically), prefix continuation and gold first errors."""

from __future__ import annotations

import math
import random

import pytest

from prmlabel.synthetic.policy import (
    SyntheticPolicy,
    gold_first_error,
    parse_step,
    split_solution,
    step_correct,
)
from prmlabel.synthetic.problems import SyntheticProblem, make_problems, problem_from_row

PROBLEM = SyntheticProblem(start=7, ops=(("*", 3), ("+", 5), ("-", 4)))  # 21, 26, 22


def _problems(n: int, seed: int = 0) -> list[SyntheticProblem]:
    return [problem_from_row(r) for r in make_problems(n, (3, 8), seed=seed)]


def _well_formed(problem: SyntheticProblem, text: str, finished: bool = True) -> bool:
    """Every step parses, is numbered 1..m, and only a finished solution's last step has the answer."""
    steps = split_solution(text)
    if "".join(steps) != text:
        return False
    for i, step in enumerate(steps):
        parsed = parse_step(step)
        if parsed is None or parsed.number != i + 1:
            return False
        if i < len(steps) - 1 and not step.endswith("\n\n"):
            return False
        if (parsed.answer is not None) != (finished and i == len(steps) - 1):
            return False
    return not finished or len(steps) == len(problem.ops)


def _state_counts(problem: SyntheticProblem, text: str) -> tuple[int, int, int, int]:
    """From the text: (steps from a correct state, of which wrong, steps from a wrong state, of
    which back on the true value)."""
    values = problem.values
    carried = problem.start
    ok_n = ok_wrong = bad_n = bad_recovered = 0
    for j, step in enumerate(split_solution(text)):
        parsed = parse_step(step)
        assert parsed is not None and parsed.left == carried
        if carried == values[j]:
            ok_n += 1
            ok_wrong += parsed.result != values[j + 1]
        else:
            bad_n += 1
            bad_recovered += parsed.result == values[j + 1]
        carried = parsed.result
    return ok_n, ok_wrong, bad_n, bad_recovered


def _within(observed: int, n: int, p: float, z: float = 5.0) -> bool:
    return abs(observed / n - p) < z * math.sqrt(p * (1 - p) / n)


def test_exact_format() -> None:
    text = SyntheticPolicy(slip_rate=0.0).solve(PROBLEM, random.Random(0))
    assert text == ("Step 1: 7 * 3 = 21\n\nStep 2: 21 + 5 = 26\n\nStep 3: 26 - 4 = 22 The answer is \\boxed{22}.")


def test_no_slip_writes_correct_solutions() -> None:
    policy = SyntheticPolicy(slip_rate=0.0, recovery_rate=0.5)
    for i, problem in enumerate(_problems(200)):
        text = policy.solve(problem, random.Random(i))
        steps = split_solution(text)
        assert _well_formed(problem, text)
        assert gold_first_error(problem, steps) == -1
        assert parse_step(steps[-1]).answer == str(problem.answer)


def test_same_rng_seed_same_text() -> None:
    policy = SyntheticPolicy(slip_rate=0.3, recovery_rate=0.3, abandon_rate=0.1)
    problem = _problems(1)[0]
    assert policy.solve(problem, random.Random("a")) == policy.solve(problem, random.Random("a"))


@pytest.mark.parametrize("slip_rate,recovery_rate", [(0.1, 0.2), (0.3, 0.5)])
def test_observed_slip_and_recovery_rates_match_settings(slip_rate: float, recovery_rate: float) -> None:
    policy = SyntheticPolicy(slip_rate=slip_rate, recovery_rate=recovery_rate)
    totals = [0, 0, 0, 0]
    for i, problem in enumerate(_problems(1500, seed=1)):
        text = policy.solve(problem, random.Random(f"rates:{i}"))
        assert _well_formed(problem, text)
        totals = [a + b for a, b in zip(totals, _state_counts(problem, text), strict=True)]
    ok_n, ok_wrong, bad_n, bad_recovered = totals
    assert ok_n > 3000 and bad_n > 500
    assert _within(ok_wrong, ok_n, slip_rate), (ok_wrong / ok_n, slip_rate)
    assert _within(bad_recovered, bad_n, recovery_rate), (bad_recovered / bad_n, recovery_rate)


def test_observed_abandon_rate_matches_setting() -> None:
    rate = 0.15
    policy = SyntheticPolicy(slip_rate=0.1, abandon_rate=rate)
    opportunities = abandons = 0
    for i, problem in enumerate(_problems(1500, seed=2)):
        text = policy.solve(problem, random.Random(i))
        written = len(split_solution(text))
        finished = "\\boxed" in text
        assert _well_formed(problem, text, finished=finished)
        opportunities += written + (not finished)
        abandons += not finished
        if not finished and gold_first_error(problem, split_solution(text)) == -1:
            assert text == "" or not text.endswith("\n")  # stopped cleanly, no dangling separator
    assert _within(abandons, opportunities, rate)


def test_slip_never_lands_on_truth_and_propagates() -> None:
    policy = SyntheticPolicy(slip_rate=1.0, recovery_rate=0.0)
    text = policy.solve(PROBLEM, random.Random(3))
    steps = split_solution(text)
    assert step_correct(PROBLEM, steps) == [False, False, False]
    first = parse_step(steps[0])
    assert parse_step(steps[1]).left == first.result  # the wrong value is carried on


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_continue_correct_prefix_keeps_it_and_is_well_formed(k: int) -> None:
    policy = SyntheticPolicy(slip_rate=0.3, recovery_rate=0.3)
    for i, problem in enumerate(_problems(100, seed=3)):
        full = SyntheticPolicy(slip_rate=0.0).solve(problem, random.Random(i))
        prefix = "".join(split_solution(full)[:k])
        completion = policy.continue_text(problem, prefix, random.Random(i))
        text = prefix + completion
        assert text.startswith(prefix) and _well_formed(problem, text)
        assert split_solution(text)[:k] == split_solution(full)[:k]
        assert gold_first_error(problem, split_solution(text)) in (-1, *range(k, len(problem.ops)))


def test_continue_prefix_without_trailing_separator() -> None:
    completion = SyntheticPolicy(slip_rate=0.0).continue_text(PROBLEM, "Step 1: 7 * 3 = 21", random.Random(0))
    assert completion == "\n\nStep 2: 21 + 5 = 26\n\nStep 3: 26 - 4 = 22 The answer is \\boxed{22}."


def test_continue_prefix_with_slip_keeps_first_error_and_carries_wrong_value() -> None:
    prefix = "Step 1: 7 * 3 = 21\n\nStep 2: 21 + 5 = 27\n\n"
    policy = SyntheticPolicy(slip_rate=0.0, recovery_rate=0.0)
    completion = policy.continue_text(PROBLEM, prefix, random.Random(0))
    assert completion == "Step 3: 27 - 4 = 23 The answer is \\boxed{23}."
    noisy = SyntheticPolicy(slip_rate=0.3, recovery_rate=0.5)
    recovered = 0
    for seed in range(300):
        text = prefix + noisy.continue_text(PROBLEM, prefix, random.Random(seed))
        assert _well_formed(PROBLEM, text)
        assert gold_first_error(PROBLEM, split_solution(text)) == 1
        recovered += text.endswith("\\boxed{22}.")
    assert 100 < recovered < 200  # recovery puts the answer back on track about half the time


def test_continue_finished_or_foreign_prefix() -> None:
    policy = SyntheticPolicy(slip_rate=0.0)
    done = policy.solve(PROBLEM, random.Random(0))
    assert policy.continue_text(PROBLEM, done, random.Random(0)) == ""
    all_ops = "Step 1: 7 * 3 = 21\n\nStep 2: 21 + 5 = 26\n\nStep 3: 26 - 4 = 22\n\n"
    assert policy.continue_text(PROBLEM, all_ops, random.Random(0)) == "The answer is \\boxed{22}."
    foreign = policy.continue_text(PROBLEM, "Let me think about this.\n\n", random.Random(0))
    assert foreign == done  # unparseable prefix: solved again from the start value


def test_gold_first_error_on_hand_written_texts() -> None:
    s1 = "Step 1: 7 * 3 = 21\n\n"
    right = [s1, "Step 2: 21 + 5 = 26\n\n", "Step 3: 26 - 4 = 22 The answer is \\boxed{22}."]
    assert gold_first_error(PROBLEM, right) == -1
    assert step_correct(PROBLEM, right) == [True, True, True]
    slip = [s1, "Step 2: 21 + 5 = 25\n\n", "Step 3: 25 - 4 = 21 The answer is \\boxed{21}."]
    assert gold_first_error(PROBLEM, slip) == 1
    recovered = [s1, "Step 2: 21 + 5 = 25\n\n", "Step 3: 25 - 4 = 22 The answer is \\boxed{22}."]
    assert step_correct(PROBLEM, recovered) == [True, False, True]
    assert gold_first_error(PROBLEM, recovered) == 1
    garbled = [s1, "Step 2: hmm, add five\n\n", "Step 3: 26 - 4 = 22 The answer is \\boxed{22}."]
    assert gold_first_error(PROBLEM, garbled) == 1
    wrong_op = ["Step 1: 7 + 3 = 21"]  # right result, wrong operation
    assert gold_first_error(PROBLEM, wrong_op) == 0
    no_answer = right[:2] + ["Step 3: 26 - 4 = 22"]
    assert gold_first_error(PROBLEM, no_answer) == -1  # all steps right; correctness is the answer's job
    early = ["Step 1: 7 * 3 = 21 The answer is \\boxed{21}."]
    assert gold_first_error(PROBLEM, early) == 0
    extra = no_answer + ["\n\nThe answer is \\boxed{22}."]
    assert step_correct(PROBLEM, extra) == [True, True, True, True]
    assert step_correct(PROBLEM, no_answer + ["The answer is \\boxed{23}."])[-1] is False
    assert gold_first_error(PROBLEM, right + ["Step 4: 22 + 1 = 23"]) == 3  # beyond the last operation
    assert gold_first_error(PROBLEM, []) == -1


def test_gold_first_error_accepts_rows() -> None:
    row = make_problems(1, (3, 3), seed=0)[0]
    text = SyntheticPolicy(slip_rate=0.0).solve(row, random.Random(0))
    assert gold_first_error(row, split_solution(text)) == -1


def test_bad_rates() -> None:
    with pytest.raises(ValueError):
        SyntheticPolicy(slip_rate=-0.1)
    with pytest.raises(ValueError):
        SyntheticPolicy(recovery_rate=2)
