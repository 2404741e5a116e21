import pytest

from prmlabel.filters.scan import ScanDenoiseFilter, ScanDenoiseParams, soft_labels
from tests.filters.rows import by_id, candidates, row


def test_soft_labels_follow_the_tolerance_formula():
    # c = [1.0, 0.75, 0.5, 0.25, 0.0], t_e = 4, SC = 0.8, d = 2:
    # t < t_e - d -> 1; t in {2, 3} -> min(1, c_t / SC) = 0.625, 0.3125; t_e -> 0.
    assert soft_labels([1.0, 0.75, 0.5, 0.25, 0.0], 4, 0.8, 2) == [1.0, 1.0, 0.625, 0.3125, 0.0]
    # min(1, .): c_t / SC above 1 is capped.
    assert soft_labels([0.9, 0.0], 1, 0.8, 2) == [1.0, 0.0]
    # d = 0: hard labels up to the error.
    assert soft_labels([0.5, 0.25, 0.0], 2, 0.8, 0) == [1.0, 1.0, 0.0]
    # one-step incorrect response: label 0.
    assert soft_labels([0.0], 0, 0.8, 2) == [0.0]


def _scan_row(rid, pid, first_error, values=None, sc=0.8, **extra):
    return row(rid, pid, steps=5, first_error=first_error, values=values, extra={"self_confidence": sc, **extra})


def test_confident_questions_only_and_no_zero_rows_per_option():
    rows = [
        _scan_row("ok1", "p1", -1),
        _scan_row("bad1", "p1", 3, values=[1.0, 0.5, 0.25, 0.0, None]),
        _scan_row("nz", "p1", 4, values=[1.0, 1.0, 0.5, 0.5, 0.0], no_zero_step=True),
        _scan_row("low", "p2", -1, sc=0.5),
    ]
    cands = candidates(*rows)
    ScanDenoiseFilter(ScanDenoiseParams(balance=False)).apply(cands)
    c = by_id(cands)
    assert c["ok1"].keep and c["ok1"].labels_final == [1.0] * 5 and c["ok1"].label_kind == "soft"
    # t_e = 3, SC = 0.8: steps 1, 2 softened: 0.5/0.8 = 0.625, 0.25/0.8 = 0.3125; step 4 truncated.
    assert c["bad1"].labels_final == [1.0, 0.625, 0.3125, 0.0]
    # SCAN's process.py:56-57 skips an incorrect response with no zero estimate
    assert c["nz"].reason == "scan:no_zero_step"
    assert not c["low"].keep and c["low"].reason == "scan:low_confidence"

    lenient = candidates(*rows)
    ScanDenoiseFilter(ScanDenoiseParams(balance=False, drop_no_zero_step=False)).apply(lenient)
    assert by_id(lenient)["nz"].keep


def test_scan_balances_one_to_one():
    rows = [_scan_row(f"ok{i}", "p1", -1) for i in range(6)]
    rows += [_scan_row(f"bad{i}", "p1", 1, values=[0.5, 0.0, None, None, None]) for i in range(2)]
    cands = candidates(*rows)
    ScanDenoiseFilter(ScanDenoiseParams()).apply(cands)
    kept = [c for c in cands if c.keep]
    assert sum(c.row["is_correct"] for c in kept) == 2 and len(kept) == 4
    assert sum(c.reason == "scan:balance_surplus_positive" for c in cands) == 4


def test_self_confidence_falls_back_to_the_pass_rate_of_the_rows():
    rows = [
        row("a", "p", first_error=-1),
        row("b", "p", first_error=-1),
        row("c", "p", first_error=1),
        row("d", "p", first_error=1),
    ]
    cands = candidates(*rows)
    ScanDenoiseFilter(ScanDenoiseParams(min_confidence=0.5, balance=False)).apply(cands)
    assert all(c.extra["scan"]["self_confidence"] == 0.5 for c in cands)
    assert all(c.keep for c in cands)


def test_negative_tolerance_is_refused():
    with pytest.raises(ValueError, match="tolerance"):
        ScanDenoiseFilter(ScanDenoiseParams(tolerance=-1))


def test_at_zero_confidence_the_filter_agrees_with_the_labeler():
    # min(1, c_t / SC) with c_t > 0 and SC -> 0 is 1, as the scan labeler gives (labelers/scan.py _soft);
    # SCAN's process.py never reaches SC = 0 (it keeps SC >= 0.75).
    from prmlabel.engine.types import ResponseView
    from prmlabel.labelers.scan import SCAN, SCANParams
    from tests.labelers.driver import drive

    assert soft_labels([0.5, 0.25, 0.0], 2, 0.0, 2) == [1.0, 1.0, 0.0]
    view = ResponseView("p", "r", ("a\n\n", "b\n\n", "c"), False, problem_pass_rate=0.0)
    table = {"a\n\n": [True, False], "a\n\nb\n\n": [False, False]}
    labeler = SCAN(SCANParams(k=2, min_confidence=0.0))
    labels, _, _ = drive(labeler.label(view), lambda prefix, k, offset: table[prefix])
    assert labels.first_error == 1 and labels.values[:2] == [0.5, 0.0]
    assert soft_labels(labels.values, 1, 0.0, 2) == labels.extra["soft"][:2] == [1.0, 0.0]
    cands = candidates(_scan_row("zero", "p0", 1, values=[0.5, 0.0, None, None, None], sc=0.0))
    ScanDenoiseFilter(ScanDenoiseParams(min_confidence=0.0, balance=False)).apply(cands)
    assert cands[0].keep and cands[0].labels_final == [1.0, 0.0]


def test_undecided_values_and_outcomes_stay_undecided():
    # an undecided c_t is no label: None in the tolerance band and before it, never 0 or 1
    assert soft_labels([0.5, None, 0.25, 0.0], 3, 0.5, 1) == [1.0, None, 0.5, 0.0]
    assert soft_labels([0.5, None, 0.0], 2, 0.5, 2) == [1.0, None, 0.0]
    undecided = row("u", "p", first_error=None)
    undecided["is_correct"] = None
    rows = [row("a", "p", first_error=-1), row("b", "p", first_error=1), undecided]
    cands = candidates(*rows)
    ScanDenoiseFilter(ScanDenoiseParams(min_confidence=0.5, balance=False)).apply(cands)
    c = by_id(cands)
    # SC = 1 correct of 2 decided outcomes (the undecided response is neither)
    assert c["a"].extra["scan"]["self_confidence"] == 0.5
    assert not c["u"].keep and c["u"].reason == "scan:outcome_undecided"
    only_undecided = candidates(undecided)
    ScanDenoiseFilter(ScanDenoiseParams(balance=False)).apply(only_undecided)
    assert only_undecided[0].reason == "scan:confidence_unknown"
