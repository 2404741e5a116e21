"""FOL parser: unicode and ASCII syntax, precedence, FOLIO's quirks, hostile input, FOLIO parse rate."""

from __future__ import annotations

import json

import pytest

from prmlabel.verifiers.fol_ast import Atom, Eq, Not, Op, Quant, Term, to_text
from prmlabel.verifiers.fol_parser import MAX_DEPTH, FolParseError, parse_fol


def f(text: str):
    return parse_fol(text).formula


def A(pred: str, *args: str) -> Atom:
    return Atom(pred, tuple(Term(a) for a in args))


def test_unicode_universal_implication():
    assert f("∀x (Cat(x) → Animal(x))") == Quant("forall", "x", Op("implies", (A("Cat", "x"), A("Animal", "x"))))


@pytest.mark.parametrize(
    ("ascii_text", "unicode_text"),
    [
        ("forall x (Cat(x) -> Animal(x))", "∀x (Cat(x) → Animal(x))"),
        ("exists x (Cat(x) & ~Black(x))", "∃x (Cat(x) ∧ ¬Black(x))"),
        ("exists x (Cat(x) and not Black(x))", "∃x (Cat(x) ∧ ¬Black(x))"),
        ("P(a) | Q(a)", "P(a) ∨ Q(a)"),
        ("P(a) or Q(a)", "P(a) ∨ Q(a)"),
        ("P(a) ^ Q(a)", "P(a) ⊕ Q(a)"),
        ("P(a) xor Q(a)", "P(a) ⊕ Q(a)"),
        ("P(a) <-> Q(a)", "P(a) ↔ Q(a)"),
        ("P(a) <=> Q(a)", "P(a) ⟷ Q(a)"),
        ("P(a) => Q(a)", "P(a) → Q(a)"),
        ("!P(a) && Q(a) || R(a)", "¬P(a) ∧ Q(a) ∨ R(a)"),
        ("forall x. P(x)", "∀x (P(x))"),
        ("∀x: P(x)", "∀x P(x)"),
        ("∀x,y (R(x, y))", "∀x ∀y (R(x, y))"),
    ],
)
def test_ascii_and_unicode_spellings_agree(ascii_text, unicode_text):
    assert f(ascii_text) == f(unicode_text)


def test_precedence_and_associativity():
    # FOLIO: ⊕ binds tighter than →
    assert f("A(a) ⊕ B(a) → C(a) ⊕ D(a)") == Op(
        "implies", (Op("xor", (A("A", "a"), A("B", "a"))), Op("xor", (A("C", "a"), A("D", "a"))))
    )
    assert f("A(a) ∧ B(a) ∨ C(a)") == Op("or", (Op("and", (A("A", "a"), A("B", "a"))), A("C", "a")))
    assert f("¬A(a) ∧ B(a)") == Op("and", (Not(A("A", "a")), A("B", "a")))
    assert f("p -> q -> r") == Op("implies", (A("p"), Op("implies", (A("q"), A("r")))))
    assert f("A(a) ∧ B(a) ∧ C(a)") == Op("and", (A("A", "a"), A("B", "a"), A("C", "a")))  # flattened


def test_quantifier_scope_is_narrow_when_nothing_leaks():
    # ∀x ∀y (∃z (...) → C(x, y)): the ∃z covers only its group (FOLIO's intent)
    got = f("∀x ∀y (∃z (Know(x, z) ∧ Know(y, z)) → Communicate(x, y))")
    body = got.body.body
    assert isinstance(body, Op) and body.op == "implies" and isinstance(body.args[0], Quant)


def test_names_variables_and_constants():
    # bound names are variables; free x-like names are universally closed; other names are constants
    assert f("P(x)") == Quant("forall", "x", A("P", "x"))
    assert f("P(a)") == A("P", "a")
    assert f("Rent2000(x_1) ∧ IsWriter(dani_Shapiro)") == Op(
        "and", (A("Rent2000", "x_1"), A("IsWriter", "dani_Shapiro"))
    )
    assert f("a = b") == Eq(Term("a"), Term("b"))
    assert f("a ≠ b") == Not(Eq(Term("a"), Term("b")))
    assert f("Loves(x, mother(x))") == Quant("forall", "x", Atom("Loves", (Term("x"), Term("mother", (Term("x"),)))))
    assert f("Rain") == Atom("Rain")


@pytest.mark.parametrize(
    ("text", "expected", "repair"),
    [
        # FOLIO validation quirks
        ("Chaperone(bonnie) ⊕ TalentShows(bonnie) → AcademicCareer(bonnie) ∧ Inactive(bonnie))", None, "dropped"),
        ("(Foodie(peter) ∧ HighIncome(peter)) ∨ ¬Foodie(peter) ∧ ¬HighIncome(peter))", None, "dropped"),
        ("∀x (Road(x) → (MadeOfConcrete(x) ∨ MadeOfAsphalt(x))", None, "appended"),
        ("∀x ((Orlando(x) ∨ Miami(x)) ∧ Florida(x)) → WantToGo(x))", None, "widened"),
        ("∀x Weddings(x) → GettingMarried(x)", "∀x (Weddings(x) → GettingMarried(x))", "widened"),
    ],
)
def test_repairs(text, expected, repair):
    parsed = parse_fol(text)
    assert any(repair in r for r in parsed.repairs), parsed.repairs
    if expected:
        assert parsed.formula == f(expected)


def test_repaired_formulas_mean_what_folio_meant():
    assert f("(Foodie(peter) ∧ HighIncome(peter)) ∨ ¬Foodie(peter) ∧ ¬HighIncome(peter))") == f(
        "(Foodie(peter) ∧ HighIncome(peter)) ∨ (¬Foodie(peter) ∧ ¬HighIncome(peter))"
    )
    assert f("∀x ((Orlando(x) ∨ Miami(x)) ∧ Florida(x)) → WantToGo(x))") == f(
        "∀x (((Orlando(x) ∨ Miami(x)) ∧ Florida(x)) → WantToGo(x))"
    )


@pytest.mark.parametrize(
    "text",
    [
        "∀x (MatureCompanies’Stocks(x) → SuitableForRetirementRund(x))",  # ’ in a name
        "ValuedAt(yalesendowment, y42.3billion)",  # . inside a constant
        "∀x (Eco-friendlyBrand(x) → HelpSlowDownGlobalWarming(x))",  # hyphen in a name
        "∀x (Project(x) → (WrittenIn(x, python) ⊕ WrittenIn(x, c++)))",  # trailing +
        "CaliforniaCityVisited(mr.smith, two)",
        "∀x (BreastCancer (x) ∨ Non-BreastCancer(x)) ",  # space before (
        "(LanguageModel(bert) ∧ Giant(bert)) → (LanguageModel(gpt-3) ∧ Giant(gpt-3)).",  # trailing .
        "∀x ∀y (GoodGuy(x) ∧ Fights(x, y) ⟷ BadGuy(y) ∧ Fights(y, x))",
        "¬(∃x (FinancialAid(x)))",
        "∀x ∀y (SuperheroMovie(x), NamedAfter(x, y) → GoodGuy(y))",  # comma for ∧
        " ¬ComeFrom(captain america, dc universe) ",  # spaces inside a constant
        "∀x ∃y (BornIn(x, y) ∧ IsCity(y) ∧ IsAmerican(y) → IsAmerican(x))",
    ],
)
def test_folio_quirks_parse(text):
    parse_fol(text)


def test_to_text_round_trips():
    for text in ["∀x (A(x) ⊕ B(x) → ¬C(x, a))", "∃y (R(y) ↔ (S(y) ∨ T(y)))", "a = b ∧ ⊤"]:
        formula = f(text)
        assert f(to_text(formula)) == formula


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("P(", "expected"),
        ("P(a) ∧", "ends too early"),
        ("P(a) Q(a)", "unexpected"),
        ("__import__('os').system('id')", "unexpected character"),
        ("P(a)\x00", r"U\+0000"),
        ("P(a) \x1b[31m", r"U\+001B"),
        ("P(a) ∧ " * 5000 + "P(a)", "longer than"),
        ("(" * 10_000 + "P(a)" + ")" * 10_000, "longer than"),
        ("(" * 300 + "P(a)" + ")" * 300, "deeper"),
        ("¬" * 300 + "P(a)", "deeper"),
        (" → ".join(["P(a)"] * 300), "deeper"),
    ],
)
def test_bad_and_hostile_input_is_a_parse_error(text, message):
    with pytest.raises(FolParseError, match=message):
        parse_fol(text)


def test_depth_limit_is_the_documented_one():
    parse_fol("(" * (MAX_DEPTH - 5) + "P(a)" + ")" * (MAX_DEPTH - 5))


def test_folio_validation_parse_rate(data_dir):
    formulas: list[str] = []
    for line in (data_dir / "folio" / "folio-validation.jsonl").read_text().splitlines():
        row = json.loads(line)
        formulas += row["premises-FOL"] + [row["conclusion-FOL"]]
    failures = []
    for text in formulas:
        try:
            parse_fol(text)
        except FolParseError as exc:
            failures.append((text, str(exc)))
    rate = 1 - len(failures) / len(formulas)
    print(f"FOLIO validation: parsed {len(formulas) - len(failures)}/{len(formulas)} formulas ({rate:.2%})")
    assert len(formulas) == 273
    assert rate >= 0.99, failures
