import random

from prmlabel.filters.balance import BalanceFilter, BalanceParams, response_class
from prmlabel.filters.base import is_positive
from tests.filters.rows import candidates, row


def _rows(pos: int, neg: int):
    return [row(f"p{i}", f"q{i % 3}", first_error=-1) for i in range(pos)] + [
        row(f"n{i}", f"q{i % 3}", first_error=1) for i in range(neg)
    ]


def test_one_to_one_keeps_every_minority_row():
    cands = candidates(*_rows(10, 4))
    BalanceFilter(BalanceParams()).apply(cands)
    kept = [c for c in cands if c.keep]
    assert sum(is_positive(c) for c in kept) == 4 and sum(not is_positive(c) for c in kept) == 4
    assert all(c.keep for c in cands if not is_positive(c))
    assert {c.reason for c in cands if not c.keep} == {"balance:balance_surplus_positive"}


def test_ratio_two_positives_per_negative():
    cands = candidates(*_rows(3, 10))
    BalanceFilter(BalanceParams(ratio=2.0)).apply(cands)
    kept = [c for c in cands if c.keep]
    assert sum(is_positive(c) for c in kept) == 3
    assert sum(not is_positive(c) for c in kept) == 2  # round(3 / 2) = 2


def test_choice_depends_on_rows_not_order():
    rows = _rows(20, 5)
    a = candidates(*rows)
    shuffled = list(rows)
    random.Random(1).shuffle(shuffled)
    b = candidates(*shuffled)
    BalanceFilter(BalanceParams(seed=3)).apply(a)
    BalanceFilter(BalanceParams(seed=3)).apply(b)
    assert {c.response_id for c in a if c.keep} == {c.response_id for c in b if c.keep}
    c = candidates(*rows)
    BalanceFilter(BalanceParams(seed=4)).apply(c)
    assert {x.response_id for x in c if x.keep} != {x.response_id for x in a if x.keep}


def test_soft_label_is_not_a_negative():
    cands = candidates(row("a", first_error=-1))
    cands[0].labels_final = [1.0, 0.25, 0.5]
    assert is_positive(cands[0])
    cands[0].labels_final = [1.0, 0.25, 0.0]
    assert not is_positive(cands[0])


def test_undecided_labels_are_neither_class():
    # [1, None, 1]: no step decided wrong, one not decided -> neither positive nor negative
    rows = _rows(3, 2) + [row("u", "q0", first_error=None), row("v", "q1", first_error=-1)]
    cands = candidates(*rows)
    cands[-1].labels_final = [1.0, None, 1.0, 1.0]
    BalanceFilter(BalanceParams()).apply(cands)
    c = {x.response_id: x for x in cands}
    assert response_class(c["u"]) is None and response_class(c["v"]) is None
    assert not c["u"].keep and c["u"].reason == "balance:undecided"
    assert not c["v"].keep and c["v"].reason == "balance:undecided"
    kept = [x for x in cands if x.keep]
    # 3 positives, 2 negatives, 2 undecided: 2 + 2 kept, the undecided counted in every note
    assert sorted(response_class(x) for x in kept) == ["negative"] * 2 + ["positive"] * 2
    assert all(x.extra["balance"]["undecided"] == 2 for x in kept)
    # a decided wrong step makes a negative even with undecided steps after it
    neg = candidates(row("n", first_error=1))
    assert neg[0].labels_final == [1.0, 0.0, None, None] and response_class(neg[0]) == "negative"
