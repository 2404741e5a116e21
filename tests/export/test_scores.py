from __future__ import annotations

import pytest

from prmlabel.export.scores import first_error_scores


def test_processbench_scores_by_hand():
    # gold: two erroneous samples (2, 0) and two correct ones (-1, -1)
    s = first_error_scores(predicted=[2, 1, -1, 3], gold=[2, 0, -1, -1])
    assert (s.n_error, s.n_correct) == (2, 2)
    assert s.acc_error == 0.5 and s.acc_correct == 0.5 and s.f1 == 0.5
    s = first_error_scores(predicted=[2, 0, -1, -1], gold=[2, 0, -1, -1])
    assert s.f1 == 1.0
    s = first_error_scores(predicted=[-1, -1], gold=[1, -1])
    assert s.acc_error == 0.0 and s.acc_correct == 1.0 and s.f1 == 0.0


def test_step_accuracy_counts_unknown_as_wrong_and_ignores_steps_after_the_error():
    hard = [[True, False, None], [True, None, True]]
    # sample 0: gold error at 1 -> steps 0,1 scored: right, right; step 2 ignored
    # sample 1: correct -> steps 0,1,2 scored: right, unknown (wrong), right
    s = first_error_scores([1, -1], [1, -1], hard)
    assert s.step_accuracy == pytest.approx(4 / 5)


def test_lengths_must_match():
    with pytest.raises(ValueError):
        first_error_scores([1], [1, 2])
