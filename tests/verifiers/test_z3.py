"""z3 step checks: entailment verdicts, citations, final answers, FOLIO and ProntoQA gold data, hostile
input and timeouts (all through a LimitedPool worker, as the labeler runs them)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from prmlabel.runtime.limits import Limited, LimitedPool
from prmlabel.verifiers.logic_steps import (
    FORMAL_PROMPT_TEMPLATE,
    Deduction,
    FinalAnswer,
    formal_problem,
    formal_problem_text,
    normalize_answer,
    parse_step,
)
from prmlabel.verifiers.prontoqa_fol import context_to_fol, gold_steps, sentence_to_fol, statement_of
from prmlabel.verifiers.z3_check import CORRECT, UNVERIFIABLE, WRONG, check_response, gold_label

BONNIE = [
    "∀x (TalentShows(x) → Engaged(x))",
    "∀x (TalentShows(x) ∨ Inactive(x))",
    "∀x (Chaperone(x) → ¬Students(x))",
    "∀x (Inactive(x) → Chaperone(x))",
    "∀x (AcademicCareer(x) → Students(x))",
    "(Engaged(bonnie) ∧ Students(bonnie)) ⊕ (¬Engaged(bonnie) ∧ ¬Students(bonnie))",
]


@pytest.fixture(scope="module")
def pool():
    with LimitedPool(workers=4, timeout=60, memory_mb=1024) as p:
        yield p


def run(pool, steps, premises=BONNIE, hypothesis="Engaged(bonnie)", reference="Unknown", **kw):
    return [(v.verdict, v.rationale) for v in check_response(premises, hypothesis, steps, reference, pool=pool, **kw)]


# ------------------------------------------------------------------------------------------------------
# step syntax
# ------------------------------------------------------------------------------------------------------


def test_step_syntax():
    assert parse_step("fact1 & int2 -> int3: ∀x (P(x) → Q(x))\n") == [
        Deduction(("fact1", "int2"), "int3", "∀x (P(x) → Q(x))", "fact1 & int2 -> int3: ∀x (P(x) → Q(x))")
    ]
    (d,) = parse_step("- Step 2: `fact4 ∧ fact3 → int1: ¬Students(bonnie)`;")
    assert (d.cites, d.target, d.formula) == (("fact4", "fact3"), "int1", "¬Students(bonnie)")
    assert parse_step("int2 & fact8 -> hypothesis;")[0].target == "hypothesis"
    assert parse_step("int2 -> ¬hypothesis")[0].target == "¬hypothesis"
    assert parse_step("int1, fact2 => not hypothesis")[0].target == "¬hypothesis"
    assert parse_step("The final answer is Uncertain.") == [FinalAnswer("Unknown", "The final answer is Uncertain.")]
    assert parse_step("$proof_label$: DISPROVED")[0].answer == "False"
    assert parse_step("So the answer is \\boxed{True}")[0].answer == "True"
    assert parse_step("First, note that Bonnie is engaged.") == []
    two = parse_step("fact1 -> int1: P(a)\nsome prose\nint1 -> int2: P(a)\n")
    assert [d.target for d in two] == ["int1", "int2"]
    assert normalize_answer("A) True") == "True" and normalize_answer("Uncertain") == "Unknown"


def test_prompt_and_problem_text():
    assert "{question}" in FORMAL_PROMPT_TEMPLATE and "fact1" in FORMAL_PROMPT_TEMPLATE
    text = formal_problem_text(["P(a)", "∀x (P(x) → Q(x))"], "Q(a)", ["a is P.", "Every P is Q."])
    assert "fact1: P(a)   (a is P.)" in text and "fact2: ∀x (P(x) → Q(x))" in text and "Hypothesis: Q(a)" in text


def test_formal_problem_sources():
    folio = formal_problem({"meta": {"premises-FOL": ["P(a)", ""], "conclusion-FOL": "P(a)"}})
    assert folio.premises == ("P(a)", None) and folio.hypothesis == "P(a)" and folio.source == "premises-FOL"
    ctx = "Every cat is a mammal. Tom is a cat. The moon is made of cheese."
    pq = formal_problem(
        {"meta": {"context": ctx, "question": "Is the following statement true or false? Tom is a mammal."}}
    )
    assert pq.premises == ("∀x (Cat(x) → Mammal(x))", "Cat(tom)", None) and pq.hypothesis == "Mammal(tom)"
    assert formal_problem({"meta": {}}) is None and formal_problem(None) is None


# ------------------------------------------------------------------------------------------------------
# verdicts
# ------------------------------------------------------------------------------------------------------


def test_correct_wrong_and_unverifiable_steps(pool):
    got = run(
        pool,
        [
            "fact3 & fact4 -> int1: ∀x (Inactive(x) → ¬Students(x))\n",
            "fact1 -> int2: ¬Engaged(bonnie)\n",
            "Let me think about Bonnie.\n",
            "fact2 & int1 -> int3: Students(bonnie) ∧ (\n",
            "int1 -> int4: ∀x (inactive(x) → ¬STUDENTS(x))\n",  # case-folded names
            "The final answer is Uncertain",
        ],
    )
    assert got == [
        (CORRECT, "fact3 & fact4 entail int1"),
        (WRONG, "fact1 does not entail int2: a countermodel exists"),
        (UNVERIFIABLE, "not in the formal step form"),
        (UNVERIFIABLE, "cannot parse the formula: unexpected ')' at 20"),
        (CORRECT, "int1 entails int4"),
        (CORRECT, "final answer Unknown matches the reference"),
    ]


def test_injected_errors_are_caught(pool):
    got = run(
        pool,
        [
            "fact1 -> int1: ¬∀x (TalentShows(x) → Engaged(x))",  # cite fact1, conclude its negation
            "fact1 -> int2: Wealthy(bonnie)",  # an unrelated predicate
            "fact9 -> int3: Engaged(bonnie)",  # no such fact
            "int7 -> int4: Engaged(bonnie)",  # no such intermediate
            "fact1 & fact2 -> hypothesis",  # does not follow
            "The final answer is True",  # reference is Unknown
        ],
    )
    assert [v for v, _ in got] == [WRONG] * 6
    assert "wealthy/1, which no cited fact mentions" in got[1][1]
    assert got[2][1] == "cites fact9, but the problem has 6 facts"
    assert got[3][1] == "cites int7, which no earlier step concluded"
    assert got[5][1] == "final answer True, reference Unknown"


def test_local_validity_and_hypothesis_targets(pool):
    premises = ["∀x (Cat(x) → Mammal(x))", "Cat(tom)", "∀x (Mammal(x) → ¬Cold(x))"]
    got = run(
        pool,
        [
            "fact2 -> int1: Mammal(tom)",  # wrong: fact1 not cited
            "int1 & fact3 -> int2: ¬Cold(tom)",  # right, given int1 as written
            "int2 -> ¬hypothesis",
            "int2 -> hypothesis",
            "The final answer is False",
        ],
        premises=premises,
        hypothesis="Cold(tom)",
        reference="False",
    )
    assert [v for v, _ in got] == [WRONG, CORRECT, CORRECT, WRONG, CORRECT]


def test_unusable_citations_and_missing_pieces(pool):
    got = run(
        pool,
        ["fact1 -> int1: P(a)", "fact2 -> int2: Q(a)", "int1 -> int3: P(a)", "fact2 -> hypothesis", "int2 -> int4"],
        premises=["P(a) ∧ (", "Q(a)"],
        hypothesis=None,
        reference=None,
    )
    assert got[0] == (UNVERIFIABLE, "fact1 is unusable: cannot parse the formula: unexpected ')' at 8")
    assert got[1] == (CORRECT, "fact2 entails int2")
    assert got[2] == (CORRECT, "int1 entails int3")  # int1 as written is usable although its step was not
    assert got[3] == (UNVERIFIABLE, "the problem has no formal hypothesis")
    assert got[4] == (UNVERIFIABLE, "int4 has no formula")
    assert run(pool, ["The final answer is True"], reference=None) == [(UNVERIFIABLE, "no reference answer")]


def test_several_formal_lines_in_one_step(pool):
    both = "fact3 & fact4 -> int1: ∀x (Inactive(x) → ¬Students(x))\nfact1 -> int2: Engaged(bonnie)\n"
    assert run(pool, [both])[0][0] == WRONG
    assert run(pool, ["fact1 -> int1: ∀x (TalentShows(x) → Engaged(x))\nThe final answer is Unknown"])[0][0] == CORRECT


def test_gold_label_decides_from_premises(pool):
    res = pool.call(
        gold_label, BONNIE, "AcademicCareer(bonnie) ⊕ Chaperone(bonnie) → AcademicCareer(bonnie) ⊕ Inactive(bonnie)"
    )
    assert res.value == {"label": "True", "error": None}
    assert pool.call(gold_label, BONNIE, "Engaged(bonnie)").value["label"] == "Unknown"
    assert pool.call(gold_label, ["P(a)"], "¬P(a)").value["label"] == "False"
    assert pool.call(gold_label, ["P(a) ∧"], "P(a)").value["label"] is None


# ------------------------------------------------------------------------------------------------------
# hostile input and limits
# ------------------------------------------------------------------------------------------------------


def test_hostile_inputs_are_unverifiable_and_never_executed(pool, tmp_path):
    sentinel = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path('{sentinel}').touch()"
    steps = [
        f"fact1 -> int1: {payload}",
        "fact1 -> int2: " + "P(a) ∧ " * 17_000 + "P(a)",  # ~100 kB formula
        "fact1 -> int3: " + "(" * 10_000 + "P(a)" + ")" * 10_000,
        "fact1 -> int4: P(a)\x00\x07\x1b[2J",
        "fact1 -> int5: " + "¬" * 5000 + "P(a)",
        "fact2 -> int6: P(a)",  # the dataset's own premise is hostile too
    ]
    assert len(steps[1]) > 100_000
    started = time.monotonic()
    got = run(pool, steps, premises=["P(a)", payload], hypothesis=None, reference=None, response_timeout=20)
    assert time.monotonic() - started < 20
    assert [v for v, _ in got] == [UNVERIFIABLE] * len(steps)
    assert all("cannot parse" in r for _, r in got), got
    assert not sentinel.exists()


def php(n: int) -> str:
    """The pigeonhole principle (n + 1 pigeons, n holes) as one formula: unsat, and hard for z3."""
    parts = ["(" + " ∨ ".join(f"P{i}_{j}" for j in range(n)) + ")" for i in range(n + 1)]
    parts += [f"¬(P{i}_{j} ∧ P{k}_{j})" for j in range(n) for i in range(n + 1) for k in range(i + 1, n + 1)]
    return " ∧ ".join(parts)


def test_z3_timeout_is_unverifiable(pool):
    started = time.monotonic()
    got = run(pool, ["fact1 -> int1: ⊥", "fact2 -> int2: Q(a)"], premises=[php(10), "Q(a)"], timeout_ms=200)
    assert got == [(UNVERIFIABLE, "timeout"), (CORRECT, "fact2 entails int2")]
    assert time.monotonic() - started < 10


def test_response_budget_caps_the_whole_response(pool):
    steps = ["fact1 -> int1: ⊥", "fact1 -> int2: ⊥", "fact2 -> int3: Q(a)"]
    got = run(pool, steps, premises=[php(10), "Q(a)"], timeout_ms=60_000, response_timeout=1.0)
    assert got == [(UNVERIFIABLE, "timeout")] * 3


def test_a_killed_worker_means_every_step_unverifiable():
    class TimedOut:
        def call(self, fn, *args, timeout=None):
            return Limited(False, None, "timeout")

    got = check_response(["P(a)"], None, ["fact1 -> int1: P(a)", "x"], None, pool=TimedOut())
    assert [(v.verdict, v.rationale) for v in got] == [(UNVERIFIABLE, "timeout")] * 2


# ------------------------------------------------------------------------------------------------------
# gold data
# ------------------------------------------------------------------------------------------------------

# FOLIO validation rows (0-based) whose gold label z3 does not reproduce from the annotated FOL; all are
# annotation slips left alone: row 5 writes Meeting(x) in one premise and Meetings(x) in another, row 87's
# conclusion-FOL does not translate its English, row 112 means M ∧ (A ∨ B) but writes M ∧ A ∨ B, row 138
# is labeled True although the premises leave it open; rows 27, 29, 47, 114, 139 are False/Unknown slips.
FOLIO_KNOWN_MISMATCHES = {5, 27, 29, 47, 87, 112, 114, 138, 139}


def test_folio_gold_premises_entail_true_conclusions(data_dir, pool):
    rows = [json.loads(line) for line in (data_dir / "folio" / "folio-validation.jsonl").read_text().splitlines()]
    canon = {"True": "True", "False": "False", "Uncertain": "Unknown"}
    with ThreadPoolExecutor(4) as ex:
        got = list(
            ex.map(lambda r: pool.call(gold_label, r["premises-FOL"], r["conclusion-FOL"], 5000, timeout=60), rows)
        )
    labels = [g.value["label"] if g.ok else None for g in got]
    true_rows = [i for i, r in enumerate(rows) if r["label"] == "True"]
    entailed = [i for i in true_rows if labels[i] == "True"]
    agree = [i for i, r in enumerate(rows) if labels[i] == canon[r["label"]]]
    mismatches = sorted(set(range(len(rows))) - set(agree))
    print(f"FOLIO validation: True rows entailed {len(entailed)}/{len(true_rows)}")
    print(f"FOLIO validation: gold label agrees {len(agree)}/{len(rows)}")
    print(f"mismatches: {mismatches}")
    assert len(entailed) / len(true_rows) >= 0.9
    assert len(agree) / len(rows) >= 0.9
    assert set(mismatches) <= FOLIO_KNOWN_MISMATCHES, mismatches


def test_folio_injected_negation_is_caught_for_every_row(data_dir, pool):
    rows = [json.loads(line) for line in (data_dir / "folio" / "folio-validation.jsonl").read_text().splitlines()]
    stories = {tuple(r["premises-FOL"]): r for r in rows}  # one check per story
    for premises, row in stories.items():
        steps = [f"fact1 -> int1: ¬({premises[0]})", f"fact1 -> int2: {premises[0]}"]
        got = run(pool, steps, premises=list(premises), hypothesis=row["conclusion-FOL"])
        assert [v for v, _ in got] == [WRONG, CORRECT], (premises[0], got)


def test_prontoqa_conversion_covers_every_sentence(data_dir):
    rows = json.loads((data_dir / "logic" / "ProntoQA_dev.json").read_text())
    facts = [f for r in rows for f in context_to_fol(r["context"])]
    assert len(facts) == 700 and all(f is not None for f in facts)  # the 40 rows of tests/data
    assert sentence_to_fol("Jompuses are not shy.") == "∀x (Jompus(x) → ¬Shy(x))"
    assert sentence_to_fol("Each yumpus is a dumpus.") == "∀x (Yumpus(x) → Dumpus(x))"
    assert sentence_to_fol("Max is not an impus.") == "¬Impus(max)"
    assert sentence_to_fol(statement_of("Is the following statement true or false? Max is sour.")) == "Sour(max)"
    assert sentence_to_fol("If something is big then it is red.") is None


def test_prontoqa_gold_chains_verify(data_dir, pool):
    rows = json.loads((data_dir / "logic" / "ProntoQA_dev.json").read_text())

    def check(row):
        answer = {"A": "True", "B": "False"}[row["answer"]]
        steps = gold_steps(row["context"], row["question"], row["explanation"], answer)
        hyp = sentence_to_fol(statement_of(row["question"]))
        return run(pool, steps, premises=context_to_fol(row["context"]), hypothesis=hyp, reference=answer)

    with ThreadPoolExecutor(4) as ex:
        results = list(ex.map(check, rows[::5]))  # every 5th row keeps the suite quick; all 500 pass too
    all_correct = sum(all(v == CORRECT for v, _ in got) for got in results)
    print(f"ProntoQA dev: gold chains all-correct {all_correct}/{len(results)}")
    assert all_correct / len(results) >= 0.95
    # a chain with one step broken (conclusion negated) is caught at that step
    row = rows[0]
    steps = gold_steps(row["context"], row["question"], row["explanation"], "False")
    head, formula = steps[1].split(": ", 1)
    steps[1] = f"{head}: ¬{formula}"
    got = run(pool, steps, premises=context_to_fol(row["context"]), hypothesis="Sour(max)", reference="False")
    assert [v for v, _ in got][:2] == [CORRECT, WRONG]
