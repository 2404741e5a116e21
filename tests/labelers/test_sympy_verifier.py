"""The `sympy` labeler: verdicts -> labels, no rollouts, unknown stays null, and every synthetic slip found."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prmlabel.engine.types import ResponseView
from prmlabel.labelers import available_labelers, load_labeler
from prmlabel.labelers.sympy_verifier import SympyParams, SympyVerifier, labels_from_verdicts
from prmlabel.synthetic.policy import SyntheticPolicy, gold_first_error, parse_step
from prmlabel.synthetic.problems import make_problems
from prmlabel.text.steps import split_steps
from prmlabel.verifiers.math_claims import _limit_verdict, check_step
from tests.labelers.driver import drive

STEPS = ("We start: 48/2 = 24.\n\n", "She has 5 apples.\n\n", "Then 3*7 = 24.\n\n", "So 24 + 1 = 25.")


def _view(steps: tuple[str, ...], correct: bool = False) -> ResponseView:
    return ResponseView("p1", "r1", steps, correct)


def _no_rollouts(prefix: str, k: int, offset: int):
    raise AssertionError("the sympy labeler must not ask for rollouts")


def test_registered_without_rollouts():
    assert "sympy" in available_labelers()
    labeler = load_labeler("sympy")
    assert isinstance(labeler, SympyVerifier)
    assert labeler.uses_rollouts is False
    assert labeler.params() == {"timeout": 5.0}
    assert "2510.14942" in labeler.paper


def test_values_hard_first_error_and_extra():
    labels, rounds, requests = drive(SympyVerifier().label(_view(STEPS)), _no_rollouts)
    assert (rounds, requests) == (0, [])
    assert labels.values == [1.0, None, 0.0, 1.0]
    assert labels.hard == [True, None, False, True]
    assert labels.first_error == 2
    assert labels.extra["verdicts"] == ["correct", "unverifiable", "wrong", "correct"]
    assert labels.extra["reasons"][1] == "nothing checkable"
    assert labels.extra["reasons"][2] == "claims 3*7 = 24, but 3*7 = 21"
    assert all(labels.extra["rationales"])
    assert {k: labels.extra[k] for k in ("checked", "unchecked", "timeouts", "errors")} == {
        "checked": 3,
        "unchecked": 1,
        "timeouts": 0,
        "errors": 0,
    }


@pytest.mark.parametrize(
    ("steps", "hard", "first_error"),
    [
        (("She has 5 apples.\n\n", "She buys some more.\n\n", "The answer is 8."), [None, None, None], None),
        (("2 + 2 = 4.\n\n", "So she has more apples now."), [True, None], None),
        (("2 + 2 = 4.\n\n", "Then 4 * 3 = 12."), [True, True], -1),
        (("She has 5 apples.\n\n", "Then 4 * 3 = 13."), [None, False], 1),
    ],
)
def test_first_error_is_null_unless_every_step_was_decided(steps, hard, first_error):
    """-1 ("no error") only when every step was checked and held; nothing checked is null, not -1."""
    labels, _, _ = drive(SympyVerifier().label(_view(steps)), _no_rollouts)
    assert labels.hard == hard
    assert labels.first_error == first_error


def test_timeouts_and_errors_are_null_and_counted():
    verdicts = [
        check_step("2 + 2 = 4"),
        _limit_verdict("timeout"),
        _limit_verdict("memory"),
        check_step("9^{9^{9^9}} = 2"),  # a size guard: undecided, neither a timeout nor an error
    ]
    labels = labels_from_verdicts(verdicts)
    assert labels.hard == [True, None, None, None] and labels.values == [1.0, None, None, None]
    assert labels.first_error is None
    extra = labels.extra
    assert (extra["checked"], extra["unchecked"], extra["timeouts"], extra["errors"]) == (1, 3, 1, 1)


def test_unverifiable_as_is_gone():
    """Writing an unchecked step as right was a parameter; it is refused now (unknown stays null)."""
    with pytest.raises(ValueError, match="no parameter"):
        load_labeler("sympy", {"unverifiable_as": "correct"})


def test_the_outcome_is_not_used():
    """A correct response and an incorrect one with the same steps get the same labels."""
    steps = ("2 + 2 = 4.\n\n", "The answer is 4.")
    a, _, _ = drive(SympyVerifier().label(_view(steps, True)), _no_rollouts)
    b, _, _ = drive(SympyVerifier().label(_view(steps, False)), _no_rollouts)
    assert (a.values, a.hard, a.first_error) == (b.values, b.hard, b.first_error) == ([1.0, None], [True, None], None)


@pytest.mark.parametrize("options", [{"unverifiable_as": "wrong"}, {"timeout": 0}, {"k": 8}])
def test_bad_parameters_are_refused(options):
    with pytest.raises(ValueError):
        load_labeler("sympy", options)


def test_every_synthetic_slip_is_found():
    """A slip's own arithmetic is wrong as written, and so is a recovery's (it writes the true running value
    after a wrong carried one); a step that carries a wrong value consistently is right as written. So the
    first wrong-arithmetic step is the gold first error whenever that error is an arithmetic slip."""
    policy = SyntheticPolicy(slip_rate=0.2, recovery_rate=0.3)
    rng = random.Random(11)
    labeler = SympyVerifier(SympyParams())
    slips = 0
    for row in make_problems(150, (4, 12), seed=5):
        for _ in range(2):
            steps = split_steps(policy.continue_text(row, "", rng))
            gold = gold_first_error(row, steps)
            labels, _, _ = drive(labeler.label(_view(tuple(steps))), _no_rollouts)
            parsed = parse_step(steps[gold]) if gold >= 0 else None
            if parsed is not None and parsed.has_equation:
                a, op, b = parsed.left, parsed.op, parsed.operand
                assert a is not None and b is not None
                computed = a + b if op == "+" else a - b if op == "-" else a * b
                if computed != parsed.result:  # the first error is an arithmetic slip
                    slips += 1
                    assert labels.first_error == gold, (steps, labels.extra["reasons"])
            if gold == -1:
                assert labels.first_error == -1, (steps, labels.extra["reasons"])
            assert all(v in ("correct", "wrong") for v in labels.extra["verdicts"]), labels.extra["reasons"]
    assert slips > 100


def _read(folder: Path) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))]).to_pylist()


def test_label_stage_writes_null_for_prose_steps(prmlabel, tmp_path):
    """`prmlabel label --method sympy` end to end: a response of prose steps gets first_error null, not -1."""
    rows = [
        {"question": "prose", "answer": "8", "steps": ["She has some apples.\n\n", "She buys more.\n\n", "So 8."]},
        {"question": "sound", "answer": "12", "steps": ["2 + 2 = 4.\n\n", "Then 4 * 3 = 12."]},
        {"question": "slip", "answer": "12", "steps": ["She has apples.\n\n", "Then 4 * 3 = 13."]},
    ]
    src = tmp_path / "responses.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    prmlabel(["import", "-i", str(src), "-o", str(tmp_path / "rollouts"), "runtime.progress=false"])
    out_dir = tmp_path / "out"
    prmlabel(["label", "-i", str(tmp_path / "rollouts"), "-o", str(out_dir), "--method", "sympy", "--no-progress"])
    out = {r["question"]: r for r in _read(out_dir)}
    assert out["prose"]["first_error"] is None
    assert out["prose"]["hard"] == [None, None, None] and out["prose"]["values"] == [None, None, None]
    assert json.loads(out["prose"]["label_extra"])["unchecked"] == 3
    assert out["sound"]["first_error"] == -1 and out["sound"]["hard"] == [True, True]
    assert out["slip"]["first_error"] == 1 and out["slip"]["hard"] == [None, False]
