from prmlabel.filters.dedup import DedupFilter, DedupParams
from tests.filters.rows import by_id, candidates, row


def test_drops_later_copies_per_problem_keeping_the_first_id():
    rows = [row("r2", "p", text="same"), row("r1", "p", text="same"), row("r3", "p", text="other")]
    rows.append(row("r4", "q", text="same"))  # another problem: not a duplicate by default
    cands = candidates(*rows)
    DedupFilter(DedupParams()).apply(cands)
    c = by_id(cands)
    assert c["r1"].keep and c["r1"].reason == "dedup:unique"
    assert not c["r2"].keep and c["r2"].extra["dedup"] == {"duplicate_of": "r1"}
    assert c["r3"].keep and c["r4"].keep

    across = candidates(*rows)
    DedupFilter(DedupParams(across_problems=True)).apply(across)
    assert not by_id(across)["r4"].keep


def test_whitespace_normalisation_is_an_option():
    a = row("a", "p", text="x")
    b = dict(row("b", "p", text="x"))
    b["steps"] = [s.replace("\n\n", " \n \n") for s in a["steps"]]
    cands = candidates(a, b)
    DedupFilter(DedupParams()).apply(cands)
    assert not by_id(cands)["b"].keep
    exact = candidates(a, b)
    DedupFilter(DedupParams(normalize=False)).apply(exact)
    assert by_id(exact)["b"].keep
