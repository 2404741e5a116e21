"""The sympy step verifier: which claims it finds, how it judges them, and that hostile text stays data."""

from __future__ import annotations

import builtins
import json
import re
import time
from pathlib import Path

import pytest

from prmlabel.runtime.limits import Limited, LimitedPool
from prmlabel.verifiers import math_claims
from prmlabel.verifiers.math_claims import (
    CORRECT,
    LIMIT,
    NOTHING,
    UNVERIFIABLE,
    WRONG,
    check_step,
    check_steps,
    verify_step,
    verify_steps,
)
from tests.conftest import REPO, TEST_DATA

C, W, U = CORRECT, WRONG, UNVERIFIABLE

CASES = [
    # plain arithmetic
    ("48/2 = 24", C),
    ("3*7 = 24", W),
    ("She has 12 + 30 = 42 apples.", C),
    ("2 * 12 = 24 eggs", C),
    ("2 * 12 = 25 eggs per day", W),
    ("Step 2: 21 + 5 = 26 The answer is \\boxed{26}.", C),
    ("Step 2: -5 * 3 = -15", C),
    ("5 x 3 = 15", C),
    ("2**10 = 1024", C),
    ("5! = 120", C),
    # GSM8K calculator annotations
    ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.", C),
    ("Natalia sold 48/2 = <<48/2=25>>25 clips in May.", W),
    ("She sold <<48+24=72>>72 clips altogether.", C),
    ("He earns 48/2 = <<48/2=24>>25 dollars.", W),  # the annotation holds, the text does not
    # chains: each adjacent pair is a claim; running totals
    ("2 + 3 = 5 = 10 / 2", C),
    ("2 + 3 = 5 = 10 / 3", W),
    ("Total = 5 + 3 = 8 + 2 = 10", C),
    ("Total = 5 + 3 = 9 + 2 = 11", W),
    ("\\[ \\text{Total} = 52 + 24 + 44 + 48 \\] \\[ \\text{Total} = 178 \\]", W),
    ("Total time = 20 + 23. Total time = 43 minutes.", C),
    # LaTeX
    ("$\\frac{3}{4} \\times 8 = 6$", C),
    ("\\[ \\frac{3}{4} \\times 8 = 7 \\]", W),
    ("\\(\\dfrac{1}{3} + \\dfrac{1}{6} = \\dfrac{1}{2}\\)", C),
    ("\\( 2^{10} = 1024 \\)", C),
    ("\\(\\sqrt{8} = 2\\sqrt{2}\\)", C),
    ("\\(\\sqrt{8} = 3\\sqrt{2}\\)", W),
    ("\\(\\binom{5}{2} = 10\\)", C),
    ("\\(2\\pi \\times 3 = 6\\pi\\)", C),
    ("\\(1/3 \\times 18 = 6\\) flamingos are taken back", C),
    # percentages and money
    ("25% of 80 = 20", C),
    ("25% of 80 = 25", W),
    ("0.25 * 80 = 20", C),
    ("The rate is 15/60 * 100% = 25%.", C),
    ("0.2 × 100 = 20%", C),
    ("He pays $1,000 + $2,500 = $3,500.", C),
    ("He pays $1,000 + $2,500 = $3,600.", W),
    ("\\$3.5 \\times 4000 = \\$14,000", C),
    ("Cost = 495 students * $15/student = $7455.", W),
    ("Cost = 495 students * $15/student = $7425.", C),
    # rounding: only a visibly rounded side gets a tolerance
    ("10/3 = 3.33", C),
    ("10/3 = 3.3", C),
    ("2/3 = 0.67", C),
    ("2/3 = 0.66", C),  # truncated
    ("10/3 = 3.34", W),
    ("10/3 = 3", W),
    ("0.33 × 30 = 10", C),  # 0.33 is a rounded 1/3
    ("3.5 * 4000 = 14,100", W),  # 3.5 is exact
    ("\\(\\sqrt{2} = 1.414\\)", C),
    # algebra: identities only
    ("(x+1)^2 = x^2 + 2x + 1", C),
    ("(x+1)^2 = x^2 + 1", W),
    ("\\((a+b)(a-b) = a^2 - b^2\\)", C),
    ("Expanding, 3(x + 2) = 3x + 5.", W),
    ("2x + 3 = x + 5", U),  # an equation to solve
    ("We solve (x+1)^2 = x^2 + 5.", U),
    # nothing checkable
    ("Step 3: she has 5 apples", U),
    ("So x = 5.", U),
    ("1/3 of 18 = 6", U),  # the math run left of '=' is only '18'
    ("half of 10 + 6 = 11", U),
    ("194 ÷ 11 = 17 with a remainder of 7", U),
    ("\\(2863 \\div 1344 = 2 \\quad \\text{(quotient)}\\)", U),
    ("He waited 1 hour 30 + 15 = 45 minutes", U),
    ("\\(\\frac{2}{3} = 0.\\overline{6}\\)", U),
    ("\\[49 - 6 = 3ab\\]", U),
    ("1 inch = 2 × 20 miles", U),
    ("12 = 4", U),
    ("f(2) = 5", U),
    ("6/2(1+2) = 9", U),  # ambiguous precedence
    ("2 1/2 = 2.5", U),  # mixed number or product?
    ("-3^2 = 9", U),
    ("\\(\\sin 30 + 1 = 1.5\\)", U),
    ("the sum 1 + 2 + \\cdots + 10 = 55", U),
]


@pytest.mark.parametrize(("text", "verdict"), CASES)
def test_verdicts(text: str, verdict: str) -> None:
    result = check_step(text)
    assert result.verdict == verdict, (result.reason, result.rationale)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 30
    assert {v for _, v in CASES} == {C, W, U}


def test_wrong_reason_names_the_claim_and_both_values() -> None:
    v = check_step("So 3*7 = 24.")
    assert v.verdict == WRONG
    assert v.reason == "claims 3*7 = 24, but 3*7 = 21"
    (claim,) = v.claims
    assert (claim.lhs, claim.rhs, claim.lhs_value, claim.rhs_value, claim.ok) == ("3*7", "24", "21", "24", False)
    assert "3*7 = 24" in v.rationale and "21" in v.rationale


def test_wrong_reason_with_a_bare_left_side_names_the_right_side() -> None:
    v = check_step("Check: 194 = 11 × 17 + 9.")
    assert v.reason == "claims 194 = 11 × 17 + 9, but 11 × 17 + 9 = 196"


def test_correct_reason_and_claims() -> None:
    v = check_step("48/2 = 24")
    assert (v.verdict, v.reason) == (CORRECT, "48/2 = 24 holds")
    v = check_step("48/2 = 24 and 24 * 3 = 72")
    assert (v.verdict, v.reason, len(v.claims)) == (CORRECT, "all 2 claims hold", 2)


def test_nothing_checkable_reason() -> None:
    v = check_step("Step 3: she has 5 apples")
    assert (v.verdict, v.reason, v.claims) == (UNVERIFIABLE, NOTHING, [])
    assert v.rationale


def test_one_failing_claim_makes_the_step_wrong() -> None:
    v = check_step("First 2 + 2 = 4, then 4 * 3 = 13, then 13 + 1 = 14.")
    assert v.verdict == WRONG
    assert [c.ok for c in v.claims] == [True, False, True]
    assert v.reason == "claims 4 * 3 = 13, but 4 * 3 = 12"


def test_rounding_notes_and_boundaries() -> None:
    # 1/8 = 0.125: both roundings of the tie hold; 0.14 is more than half a unit away.
    assert check_step("1/8 = 0.13").verdict == CORRECT
    assert check_step("1/8 = 0.12").verdict == CORRECT
    assert check_step("1/8 = 0.14").verdict == WRONG
    assert check_step("1/8 = 0.125").verdict == CORRECT
    v = check_step("10/3 = 3.33")
    assert v.claims[0].note == "within rounding"
    # an exact decimal on the right is compared exactly
    assert check_step("0.1 + 0.2 = 0.3").verdict == CORRECT
    assert check_step("0.1 + 0.2 = 0.4").verdict == WRONG


def test_annotation_duplicates_are_checked_once() -> None:
    v = check_step("48/2 = <<48/2=24>>24")
    assert len(v.claims) == 1


def test_polynomial_values_are_shown_expanded() -> None:
    v = check_step("(x+1)^2 = x^2 + 1")
    assert v.reason == "claims (x+1)^2 = x^2 + 1, but (x+1)^2 = x^2 + 2*x + 1"


# ---------------------------------------------------------------------------------------------------------
# hostile input: unverifiable, within the limit, and nothing runs
# ---------------------------------------------------------------------------------------------------------


def _hostile(marker: Path) -> list[str]:
    return [
        f"__import__('os').system('touch {marker}') = 0",
        f"__import__('os').system('touch {marker}')",
        f"$\\text{{{marker}}} = \\frac{{__import__('os')}}{{1}}$",
        "9**9**9**9 = 1",
        "9^9^9^9 = 1",
        "\\(9^{9^{9^9}} = 2\\)",
        "100000! = 5",
        "\\(\\binom{100000}{50000} = 3\\)",
        "2^{100000000} + 1 = 3",
        "1" * 5000 + " * 7 = 3",
        "(" * 10_000 + "1" + ")" * 10_000 + " = 1",
        "{" * 10_000 + "1" + "}" * 10_000 + " = 2",
        "\\frac{" * 3000 + "1" + "}{2}" * 3000 + " = 1",
        "2^" * 5000 + "2 = 4",
        "- " * 5000 + "1 = 1",
        "(x+1)^100000 = 1 + x",
        "(x+y+z+w+1)^40 = (x+1)^40",
        "\\frac{1}{2 = \\sqrt{",
        "\\left( \\frac{3}{4 = \\right] }} \\text{",
        "\x1b[31m3\x00*\x007 = 24\x07\x08",
        "".join(chr(c) for c in range(32)) + "= 5",
        "x" * 100_000 + " = 1 + 1 = 3",  # a 100 kB step
    ]


def test_hostile_input_is_unverifiable_quickly_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    pool = LimitedPool(workers=1, timeout=5.0, memory_mb=512)
    try:
        for text in _hostile(marker):
            start = time.perf_counter()
            v = verify_step(text, timeout=5.0, pool=pool)
            elapsed = time.perf_counter() - start
            assert v.verdict == UNVERIFIABLE, (text[:80], v.reason, v.rationale[:300])
            assert elapsed < 6.0, (text[:80], elapsed)
    finally:
        pool.close()
    assert not marker.exists()


def test_size_guards_report_limit_without_a_worker() -> None:
    for text in ["9**9**9**9 = 1", "100000! = 5", "(" * 10_000 + "1" + ")" * 10_000 + " = 1", "x" * 100_000]:
        start = time.perf_counter()
        v = check_step(text)
        assert (v.verdict, v.reason) == (UNVERIFIABLE, LIMIT), text[:40]
        assert time.perf_counter() - start < 1.0


def test_no_evaluator_is_ever_called(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sympy
    import sympy.parsing.sympy_parser as sympy_parser

    def refuse(*args, **kwargs):
        raise AssertionError("model text reached an evaluator")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(sympy, "sympify", refuse)
    monkeypatch.setattr(sympy_parser, "parse_expr", refuse)
    for text, _ in CASES:
        check_step(text)
    for text in _hostile(tmp_path / "m"):
        check_step(text)


def test_the_verifier_source_has_no_evaluator_calls() -> None:
    sources = ["math_tokens.py", "expr_parser.py", "expr_eval.py", "claim_finder.py", "math_claims.py"]
    banned = re.compile(r"\b(eval|exec|sympify|parse_expr|parse_latex|S)\(|sympy\.parsing|__import__")
    for name in sources:
        text = (REPO / "prmlabel" / "verifiers" / name).read_text()
        assert not banned.search(text), (name, banned.search(text))


# ---------------------------------------------------------------------------------------------------------
# the limited worker: one round trip for all steps, and a fallback when it is killed
# ---------------------------------------------------------------------------------------------------------


class _CountingPool:
    def __init__(self, fail_first: bool = False) -> None:
        self.calls: list[int] = []
        self.fail_first = fail_first

    def call(self, fn, *args, timeout=None):
        self.calls.append(len(args[0]))
        if self.fail_first and len(self.calls) == 1:
            return Limited(False, None, "timeout")
        return Limited(True, fn(*args), None)


def test_all_steps_go_in_one_worker_call() -> None:
    pool = _CountingPool()
    verdicts = verify_steps(["48/2 = 24", "3*7 = 24", "no claims here"], pool=pool)
    assert pool.calls == [3]
    assert [v.verdict for v in verdicts] == [CORRECT, WRONG, UNVERIFIABLE]
    assert verify_steps([], pool=pool) == [] and pool.calls == [3]


def test_a_killed_batch_is_retried_step_by_step() -> None:
    pool = _CountingPool(fail_first=True)
    verdicts = verify_steps(["48/2 = 24", "3*7 = 24"], pool=pool)
    assert pool.calls == [2, 1, 1]
    assert [v.verdict for v in verdicts] == [CORRECT, WRONG]


def test_a_killed_single_step_is_a_limit() -> None:
    pool = _CountingPool(fail_first=True)
    v = verify_step("48/2 = 24", pool=pool)
    assert (v.verdict, v.reason) == (UNVERIFIABLE, LIMIT)
    assert "timeout" in v.rationale


def test_the_real_worker_agrees_with_the_pure_check() -> None:
    steps = [text for text, _ in CASES]
    assert [v.verdict for v in verify_steps(steps)] == [v.verdict for v in check_steps(steps)]


def test_the_time_budget_stops_between_claims() -> None:
    verdicts = check_steps(["48/2 = 24", "3*7 = 21"], budget=-1.0)
    assert all((v.verdict, v.reason) == (UNVERIFIABLE, LIMIT) for v in verdicts)


def test_values_are_shown_readably() -> None:
    from fractions import Fraction

    assert math_claims.show(Fraction(21)) == "21"
    assert math_claims.show(Fraction(5, 2)) == "2.5"
    assert math_claims.show(Fraction(-1, 8)) == "-0.125"
    assert math_claims.show(Fraction(10, 3)) == "10/3 ≈ 3.33333"
    assert "digits" in math_claims.show(Fraction(10**60))


# ---------------------------------------------------------------------------------------------------------
# real data: precision on ProcessBench (human-labeled first errors)
# ---------------------------------------------------------------------------------------------------------


def test_processbench_gsm8k_flags_no_step_before_the_human_first_error() -> None:
    rows = json.loads((TEST_DATA / "processbench" / "gsm8k-claims.json").read_text())
    early = flagged = 0
    for row in rows:
        verdicts = check_steps(row["steps"])
        first = next((i for i, v in enumerate(verdicts) if v.verdict == WRONG), -1)
        if first >= 0:
            flagged += 1
            early += row["label"] == -1 or first < row["label"]
    assert flagged >= 15
    assert early <= 1
