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
        (1, 1, 4, (1, 1)),  # a group of k or fewer goes whole: n = min(k, 2) = 2, round(2/2) = 1
        (0, 3, 4, (0, 3)),
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
        row("other", "q", steps=2, correct=True, first_error=-1, values=[0.0, 0.0]),  # group of 1
    ]
    cands = candidates(*rows)
    PROFFilter(PROFParams(k=2, center="half")).apply(cands)  # p: 3 pos 2 neg -> round(3/2)=2 correct removed
    c = by_id(cands)
    # q: n = min(k, 1) = 1 -> its one response goes, as filter_trajectories does (n_remove = min(k, n_total))
    assert {k for k, v in c.items() if not v.keep} == {"c_lo", "c_mid", "other"}
    assert c["c_lo"].reason == "prof:low_consistency"
    assert c["c_hi"].extra["prof"]["score"] == 1.0 and c["c_hi"].reason == "prof:kept"


def test_released_defaults_center_on_the_batch_mean():
    # prof_grpo_both/prof_ray_trainer.py: score_processed = (scores - mean of all valid step scores) * 2.
    # Step values 0.9, 0.7 | 0.5, 0.3 | 0.1, 0.1 -> batch mean 2.6 / 6 = 13/30.
    rows = [
        row("a", "p", steps=2, correct=True, first_error=-1, values=[0.9, 0.7]),
        row("b", "p", steps=2, correct=True, first_error=-1, values=[0.5, 0.3]),
        row("c", "p", steps=2, correct=False, first_error=1, values=[0.1, 0.1]),
    ]
    assert PROFParams().k == 4 and PROFParams().center == "batch_mean" and PROFParams().length_penalty == 10.0
    cands = candidates(*rows)
    PROFFilter(PROFParams(k=1)).apply(cands)
    c = by_id(cands)
    mean = 13 / 30
    assert c["a"].extra["prof"]["center"] == pytest.approx(mean)
    assert c["b"].extra["prof"]["score"] == pytest.approx(2 * (0.4 - mean))  # mean_t 2 (v_t - c), r = 1
    assert c["c"].extra["prof"]["score"] == pytest.approx(-2 * (0.1 - mean))  # r = 0 flips the sign
    # 2 pos, 1 neg, n = 1: round((1 + 1) / 2) = 1 correct response goes, the less consistent one
    assert [x.response_id for x in cands if not x.keep] == ["b"]


def test_length_penalty_and_responses_without_a_score():
    # critic = score - 10 * (steps < 2 or steps > 30): the one-step response goes before a lower score
    rows = [
        row("one", "p", steps=1, correct=True, first_error=-1, values=[1.0]),  # score 1, critic -9
        row("low", "p", steps=3, correct=True, first_error=-1, values=[0.5, 0.5, 0.5]),  # score 0
        row("none", "p", steps=3, correct=True, first_error=-1, values=[None, None, None]),  # no score
        row("ok", "p", steps=3, correct=True, first_error=-1, values=[1.0, 1.0, 1.0]),
        row("w", "p", steps=3, correct=False, first_error=0, values=[0.0, None, None]),
    ]
    cands = candidates(*rows)
    PROFFilter(PROFParams(k=2, center="half")).apply(cands)  # 4 pos 1 neg: round((3+2)/2)=2 correct go
    c = by_id(cands)
    assert c["none"].extra["prof"]["score"] is None and c["ok"].extra["prof"]["unscored"] == 1
    assert c["none"].reason == "prof:no_score" and c["one"].reason == "prof:low_consistency"
    assert c["low"].keep and c["ok"].keep and c["w"].keep
    cands = candidates(*rows)
    PROFFilter(PROFParams(k=2, center="half", length_penalty=0.0)).apply(cands)
    assert {x.response_id for x in cands if not x.keep} == {"none", "low"}


def test_undecided_outcome_is_neither_class():
    undecided = row("u", "p", steps=2, first_error=None, values=[0.9, 0.9])
    undecided["is_correct"] = None
    rows = [undecided, row("a", "p", steps=2, correct=True, first_error=-1, values=[1.0, 1.0])]
    rows.append(row("b", "p", steps=2, correct=True, first_error=-1, values=[0.6, 0.6]))
    cands = candidates(*rows)
    PROFFilter(PROFParams(k=1, center="half")).apply(cands)
    c = by_id(cands)
    assert c["u"].reason == "prof:outcome_undecided" and c["u"].extra["prof"]["score"] is None
    # the group is a and b only: 2 pos 0 neg, n = 1 -> b goes (score 0.2 < 1.0)
    assert c["a"].keep and c["b"].reason == "prof:low_consistency"


def test_values_that_are_not_probabilities_are_refused():
    advantage = row("a", "p", steps=2, values=[0.02, -0.01])
    advantage["value_kind"] = "advantage"
    with pytest.raises(ValueError, match="advantage"):
        PROFFilter(PROFParams()).apply(candidates(advantage))


def test_bad_params_are_refused():
    with pytest.raises(ValueError, match="source"):
        PROFFilter(PROFParams(source="judge"))
    with pytest.raises(ValueError, match="center"):
        PROFFilter(PROFParams(center="median"))
