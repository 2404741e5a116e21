from prmlabel.filters.consensus import ConsensusFilter, ConsensusParams
from tests.filters.rows import by_id, candidates, row


def judge(rid: str, first_error: int | None) -> dict:
    return {"response_id": rid, "first_error": first_error, "method": "judge"}


def test_keeps_only_agreeing_first_errors_and_truncates_after_the_error():
    cands = candidates(
        row("a", first_error=2),  # judge says 2: agree
        row("b", first_error=-1),  # judge says -1: "no error" agrees with "no error"
        row("c", first_error=1),  # judge says 3: disagree
        row("d", first_error=-1),  # judge says 0: disagree
        row("e", first_error=0),  # judge verdict unparseable
        row("f", first_error=2),  # no judge row
        row("g", first_error=None),  # MC first error unknown
    )
    other = {r["response_id"]: r for r in [judge("a", 2), judge("b", -1), judge("c", 3), judge("d", 0)]}
    other["e"] = judge("e", None)
    other["g"] = judge("g", 1)
    ConsensusFilter(ConsensusParams(), other).apply(cands)
    c = by_id(cands)
    assert [k for k, v in c.items() if v.keep] == ["a", "b"]
    assert c["a"].labels_final == [1.0, 1.0, 0.0]  # step 3 (after the error) is removed
    assert c["a"].label_kind == "hard" and c["a"].reason == "consensus:agree"
    assert c["b"].labels_final == [1.0, 1.0, 1.0, 1.0]
    assert c["c"].reason == "consensus:disagree"
    assert c["c"].extra["consensus"] == {"first_error": 1, "other_first_error": 3, "other_method": "judge"}
    assert c["d"].reason == "consensus:disagree"
    assert c["e"].reason == "consensus:verdict_unparseable"  # never read as "no error"
    assert c["f"].reason == "consensus:no_verdict"
    assert c["g"].reason == "consensus:first_error_unknown"


def test_window_tolerates_nearby_errors_but_never_error_against_no_error():
    cands = candidates(row("a", first_error=2), row("b", first_error=-1), row("c", first_error=0))
    other = {"a": judge("a", 3), "b": judge("b", 0), "c": judge("c", 2)}
    ConsensusFilter(ConsensusParams(window=1), other).apply(cands)
    c = by_id(cands)
    assert c["a"].keep and c["a"].reason == "consensus:within_1"
    assert c["a"].labels_final == [1.0, 1.0, 0.0]  # the MC first error decides
    assert not c["b"].keep and not c["c"].keep


def test_already_dropped_rows_are_left_alone():
    cands = candidates(row("a", first_error=1))
    cands[0].drop("dedup:duplicate")
    ConsensusFilter(ConsensusParams(), {"a": judge("a", 1)}).apply(cands)
    assert cands[0].reason == "dedup:duplicate" and not cands[0].keep


def test_a_null_on_either_side_keeps_nothing_and_says_why():
    # A verifier that could check no step (first error null) against a judge's "no error": no agreement.
    cands = candidates(row("v", first_error=None), row("w", first_error=2))
    mc_row_w = by_id(cands)["w"].row
    mc_row_w["hard"] = [None, True, False, None]  # step 0 undecided: agreeing on 2 would call it right
    other = {"v": judge("v", -1), "w": judge("w", 2)}
    ConsensusFilter(ConsensusParams(), other).apply(cands)
    c = by_id(cands)
    assert not c["v"].keep and c["v"].reason == "consensus:first_error_unknown"
    assert not c["w"].keep and c["w"].reason == "consensus:undecided_step"
