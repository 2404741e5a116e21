import pytest

from prmlabel.filters.prof import PROFFilter, PROFParams, consistency, removal_counts
from tests.filters.rows import by_id, candidates, row


def test_consistency_score():
    # correct: mean((2v-1)) ; incorrect: mean(-(2v-1))
    assert consistency([1.0, 0.5, 0.0], True) == pytest.approx((1 + 0 - 1) / 3)
    assert consistency([0.9, 0.1], True) == pytest.approx((0.8 - 0.8) / 2)
    assert consistency([0.2, 0.0], False) == pytest.approx((0.6 + 1.0) / 2)
    assert consistency([None, 1.0], True) == 1.0
    assert consistency([None], False) is None


@pytest.mark.parametrize(
    ("pos", "neg", "k", "expected"),
    [
        (6, 2, 2, (2, 0)),  # round((6-2+2)/2) = 3 -> min(k=2) -> 2 correct, 0 incorrect
        (4, 4, 2, (1, 1)),  # round(2/2) = 1
        (2, 6, 2, (0, 2)),  # round(-2/2) = -1 -> 0
        (5, 3, 2, (2, 0)),  # round(4/2) = 2
        (4, 3, 2, (2, 0)),  # round(3/2) = round(1.5) = 2 (half to even)
        (3, 4, 2, (0, 2)),  # round(1/2) = round(0.5) = 0 (half to even)
        (1, 5, 4, (0, 4)),  # round(0) = 0
        (1, 0, 3, (1, 0)),  # clipped to the group
    ],
)
def test_removal_counts(pos, neg, k, expected):
    assert removal_counts(pos, neg, k) == expected


def test_removes_least_consistent_per_class_within_each_problem():
    rows = [
        row("c_hi", "p", steps=2, correct=True, first_error=-1, values=[1.0, 1.0]),  # score 1
        row("c_mid", "p", steps=2, correct=True, first_error=-1, values=[1.0, 0.5]),  # 0.5
        row("c_lo", "p", steps=2, correct=True, first_error=-1, values=[0.25, 0.25]),  # -0.5
        row("w_hi", "p", steps=2, correct=False, first_error=1, values=[0.0, 0.0]),  # 1
        row("w_lo", "p", steps=2, correct=False, first_error=1, values=[1.0, 0.0]),  # 0
        row("other", "q", steps=2, correct=True, first_error=-1, values=[0.0, 0.0]),  # group of 1: kept
    ]
    cands = candidates(*rows)
    PROFFilter(PROFParams(k=2)).apply(cands)  # p: 3 pos 2 neg -> round(3/2)=2 correct removed, 0 incorrect
    c = by_id(cands)
    assert {k for k, v in c.items() if not v.keep} == {"c_lo", "c_mid"}
    assert c["c_lo"].reason == "prof:low_consistency"
    assert c["c_hi"].extra["prof"]["score"] == 1.0 and c["c_hi"].reason == "prof:kept"
    assert c["other"].keep


def test_bad_params_are_refused():
    with pytest.raises(ValueError, match="source"):
        PROFFilter(PROFParams(source="judge"))
