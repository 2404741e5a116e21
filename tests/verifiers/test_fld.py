"""FLD / FLDx2 notation (FoVer's problems): rewritten into our FOL syntax, and read as a problem's facts."""

from __future__ import annotations

import pytest

from prmlabel.verifiers.fld_syntax import fld_to_fol
from prmlabel.verifiers.fol_ast import to_text
from prmlabel.verifiers.fol_parser import FolParseError, parse_fol
from prmlabel.verifiers.logic_steps import formal_problem, parse_step


@pytest.mark.parametrize(
    ("fld", "fol"),
    [
        ("{A}", "A"),
        ("¬({B}{a} & ¬{A}{a})", "¬(B(a) ∧ ¬A(a))"),
        ("({D} v ¬{C})", "(D ∨ ¬C)"),
        ("(x): ¬{D}x -> ({A}x & {C}x)", "∀x (¬D(x) → (A(x) ∧ C(x)))"),  # the scope runs to the end
        ("(Ex): {A}x", "∃x A(x)"),
        ("¬((x): {A}x) -> {B}{aa}", "(¬∀x A(x) → B(aa))"),  # ... of the enclosing group
        ("{AB}{c} <-> {B}{x}", "(AB(c) ↔ B(x_))"),  # a constant named like a variable stays a constant
    ],
)
def test_fld_formulas_parse(fld, fol):
    assert to_text(parse_fol(fld).formula) == fol


@pytest.mark.parametrize("bad", ["{a}", "{A", "{A}}", "¬{B", "{A}{a} & {", "{" * 10_000])
def test_malformed_fld_is_a_parse_error(bad):
    with pytest.raises(FolParseError):
        parse_fol(bad)


def test_fld_to_fol_is_a_token_rewrite():
    assert fld_to_fol("(x): {A}x v {B}x") == "∀x ( A(x) ∨ B(x) )"


def test_facts_formula_is_a_formal_problem():
    meta = {"facts_formula": "fact1: {A}{a} fact2: (x): {A}x -> {B}x\nfact3: {C}", "hypothesis_formula": "{B}{a}"}
    problem = formal_problem({"question": "q", "reference_answer": "PROVED", "meta": meta})
    assert problem is not None and problem.source == "facts_formula"
    assert problem.premises == ("{A}{a}", "(x): {A}x -> {B}x", "{C}") and problem.hypothesis == "{B}{a}"


def test_fover_proof_lines_parse():
    lines = parse_step("fact1 & fact12 -> int1: (¬{AA}{b} v ¬{AB}{b});\nint2 -> ¬hypothesis;\n$proof_label$: DISPROVED")
    assert [getattr(x, "target", None) for x in lines] == ["int1", "¬hypothesis", None]
    assert lines[0].formula == "(¬{AA}{b} v ¬{AB}{b})" and lines[2].answer == "False"
