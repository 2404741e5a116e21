"""Tests for prmlabel.answers: extraction, normalisation and equivalence (never substring matching)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from prmlabel.answers import (
    AnswerCheck,
    check_answer,
    extract_answer,
    is_equivalent,
    last_boxed,
    normalize_answer,
)

GSM8K_TEST = Path("/work/shared/data/gsm8k/test.jsonl")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so \boxed{\frac{1}{2}}.", r"\frac{1}{2}"),
        (r"\boxed{\frac{\sqrt{2}}{2}}", r"\frac{\sqrt{2}}{2}"),
        (r"first \boxed{1} then \boxed{2}", "2"),
        (r"\fbox{3} and later \fbox{4}", "4"),
        (r"\boxed{3} then \fbox{4}", "4"),
        (r"the result is \boxed 5 done", "5"),
        (r"$\boxed{x^{2}}$", "x^{2}"),
        (r"\boxed{unclosed", None),
        ("no box here", None),
        ("", None),
    ],
)
def test_last_boxed(text: str, expected: str | None) -> None:
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"Thus $\boxed{\frac{1}{2}}$.", r"\frac{1}{2}"),
        (r"\boxed{\frac{\sqrt{2}}{2}}", r"\frac{\sqrt{2}}{2}"),
        ("She makes 9 * 2 = $18.\n#### 72", "72"),
        ("The answer is 18.", "18"),
        ("the final answer is $\\frac{3}{4}$.", r"\frac{3}{4}"),
        ("Final answer: 42", "42"),
        ("The answer is 3. Wait, no. The answer is 4.", "4"),
        ("So 3 + 4 = 7 and then 7 * 2 = 14 apples.", "14"),
        ("He owes -1,000 dollars", "-1,000"),
        ("A share of 3/4 of the cake", "3/4"),
        ("It costs 2.50 in total.", "2.50"),
        ("no numbers at all", None),
        ("", None),
        ("   \n", None),
    ],
)
def test_extract_answer_math(text: str, expected: str | None) -> None:
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Premise 1 is true. The answer is False.", "False"),
        ("Hence the answer is uncertain.", "Unknown"),
        (r"It is true that... \boxed{Unknown}", "Unknown"),
        ("True, then False, finally True", "True"),
        ("nothing to see", None),
    ],
)
def test_extract_answer_logic(text: str, expected: str | None) -> None:
    assert extract_answer(text, domain="logic") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$18$", "18"),
        ("1,000", "1000"),
        ("(1,2)", "(1,2)"),
        (r"\dfrac{1}{2}", r"\frac{1}{2}"),
        (r"5\text{ cm}", "5"),
        (r"\text{Evelyn}", "Evelyn"),
        (r"90^\circ", "90"),
        ("x = 5", "5"),
        (r"\left( 3, \pi \right)", "( 3, \\pi )"),
        ("18.", "18"),
        (r"\boxed{7}", "7"),
        ("18 dollars", "18"),
        ("2 million", "2 million"),
    ],
)
def test_normalize_answer(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected


@pytest.mark.parametrize(
    ("pred", "ref", "expected"),
    [
        ("1", "11", False),
        ("11", "1", False),
        ("0.5", r"\frac{1}{2}", True),
        ("1,000", "1000", True),
        ("18", "18.0", True),
        ("3/4", r"\dfrac{3}{4}", True),
        (r"-\frac{1}{2}", "-0.5", True),
        ("0.333", r"\frac{1}{3}", False),
        (r"50\%", "50", True),
        (r"50\%", "0.5", True),
        (r"50\%", "5", False),
        ("x = 5", "5", True),
        ("$18$.", "18", True),
        (r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}", True),
        (r"(3, \frac{\pi}{2})", r"\left( 3, \frac{\pi}{2} \right)", True),
        (r"(3, \frac{\pi}{2})", r"(3, \frac{\pi}{3})", False),
        ("x^2+2x+1", "(x+1)^2", True),
        ("(1,2)", "12", False),
        (r"\text{Evelyn}", "Evelyn", True),
        ("1/0", "0", False),
        (None, "1", False),
        ("1", None, False),
        ("", "", False),
        ("  ", "1", False),
    ],
)
def test_is_equivalent_math(pred: str | None, ref: str | None, expected: bool) -> None:
    assert is_equivalent(pred, ref) is expected


@pytest.mark.parametrize(
    ("pred", "ref", "expected"),
    [
        ("True", "true", True),
        ("Uncertain", "Unknown", True),
        ("unknown", "Uncertain.", True),
        ("False", "True", False),
        ("True", "", False),
    ],
)
def test_is_equivalent_logic(pred: str, ref: str, expected: bool) -> None:
    assert is_equivalent(pred, ref, domain="logic") is expected


def test_hostile_text_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = f"__import__('os').system('touch {marker}')"
    assert is_equivalent(hostile, "0") is False
    assert is_equivalent("0", hostile) is False
    assert check_answer(rf"\boxed{{{hostile}}}", "0").is_correct is False
    assert not marker.exists()


@pytest.mark.parametrize("huge", ["9^9^9^9", "9^{9^{9^{9}}}", "2^{10000000000}"])
def test_huge_exponent_bounded(huge: str) -> None:
    start = time.monotonic()
    assert is_equivalent(huge, "1") is False
    assert time.monotonic() - start < 20


def test_unknown_domain_rejected() -> None:
    with pytest.raises(ValueError, match="valid domains"):
        is_equivalent("1", "1", domain="chemistry")


@pytest.mark.parametrize(
    ("response", "reference", "expected"),
    [
        (r"We get $\boxed{\frac{1}{2}}$.", "0.5", AnswerCheck(r"\frac{1}{2}", True)),
        ("The answer is 11.", "1", AnswerCheck("11", False)),
        ("", "1", AnswerCheck(None, False)),
        ("no idea", "1", AnswerCheck(None, False)),
        ("Text\n#### 1,000", "1000", AnswerCheck("1,000", True)),
    ],
)
def test_check_answer(response: str, reference: str, expected: AnswerCheck) -> None:
    assert check_answer(response, reference) == expected


def test_check_answer_logic() -> None:
    assert check_answer("So the answer is Uncertain.", "Unknown", domain="logic") == AnswerCheck("Unknown", True)


@pytest.mark.skipif(not GSM8K_TEST.exists(), reason="GSM8K test split not available")
def test_gsm8k_references_extract_and_self_match() -> None:
    lines = GSM8K_TEST.read_text(encoding="utf-8").splitlines()
    assert lines
    for line in lines:
        answer = json.loads(line)["answer"]
        final = extract_answer(answer)
        assert final is not None, answer
        assert is_equivalent(final, final), final


@pytest.mark.parametrize(
    "text",
    [
        "5 " + "a" * 50_000 + "1",
        "5 " + "ab " * 30_000 + "!",
        "x" + " " * 50_000 + r"\text{a" + "a" * 50_000,
        r"\text{" * 5_000 + "a" + "}" * 5_000,
        r"\boxedx" * 10_000,
        "1" * 100_000,
        "Step 1: " * 20_000,
    ],
)
def test_long_adversarial_text_is_fast(text: str) -> None:
    start = time.monotonic()
    extract_answer(text)
    extract_answer(text, domain="logic")
    normalize_answer(text)
    assert time.monotonic() - start < 5


@pytest.mark.parametrize(
    ("response", "reference", "expected"),
    [
        ("Thus the sorted list is: apple banana cherry", "apple banana cherry", False),
        ("So the answer is apple banana cherry.", "apple  banana cherry", True),
        ("So the answer is cherry banana apple.", "apple banana cherry", False),
        ("The final answer is (B).", "(B)", True),
        ("", "x", False),
    ],
)
def test_text_domain_is_exact_up_to_space_and_case(response, reference, expected):
    assert check_answer(response, reference, domain="text").is_correct is expected
