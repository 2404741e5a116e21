"""FLD / FLDx2 formulas (FoVer's problems) rewritten into the FOL syntax of :mod:`fol_parser`.

Why: FoVer (arXiv 2505.15960; psunlpgroup/FoVer @742fcf9) builds its data from FLDx2, whose facts,
hypotheses and model proofs are written in FLD's own notation (the prompt in
``src/dataset_creation/base_dataset_specific/fol/prompts/initial_answers_prompt.py`` defines it):

    {A} {AB}         a predicate (capital letters); alone, a propositional atom
    {A}{a} {B}{aa}   a predicate applied to a constant (small letters)
    {A}x             a predicate applied to the variable x
    (x): F  (Ex): F  "for all x" / "for some x"; the scope runs to the end of the enclosing group
    ¬ & v -> <->     negation, conjunction, disjunction (a lone ``v``), implication, equivalence

The rewrite is a plain token translation (``{A}{a}`` -> ``A(a)``, ``(x): F`` -> ``∀x (F)``, ``v`` -> ``∨``);
the result is parsed by our own FOL parser like any other formula, so model text still never reaches
``eval`` or an SMT-LIB reader. A constant whose name would read as a variable there (``u`` .. ``z``) gets
a trailing ``_``. Anything else in braces, or an unmatched brace, is a :class:`FolParseError`.
"""

from __future__ import annotations

import re

from prmlabel.verifiers.fol_ast import FolParseError

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<quant>\(\s*(?P<exists>E)?(?P<var>[a-z]\w{0,8})\s*\)\s*:)
  | \{(?P<pred>[A-Z][A-Za-z0-9]{0,15})\}(?:\{(?P<const>[a-z][a-z0-9]{0,15})\}|(?P<argvar>[a-z]\d*)(?![\w{]))?
  | (?P<or>(?<![\w}])v(?![\w{]))
  | (?P<open>\()
  | (?P<close>\))
  | (?P<other>[^\s{}()]+?(?=[\s{}()]|$))
    """,
    re.VERBOSE,
)


def is_fld(text: str) -> bool:
    """FLD notation is the only formula syntax here with braces."""
    return "{" in text


_VARIABLE_LIKE = re.compile(r"[u-z]\d*")  # what fol_ast reads as a variable when no quantifier binds it


def _constant(name: str) -> str:
    return name + "_" if _VARIABLE_LIKE.fullmatch(name) else name


def fld_to_fol(text: str) -> str:
    """Rewrite one FLD formula into :mod:`fol_parser` syntax; ``FolParseError`` if it is not FLD."""

    out: list[str] = []
    depth = 0
    open_quants: list[int] = []  # the group depth each open quantifier closes at
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise FolParseError(f"FLD: unexpected {text[pos]!r} at {pos}")
        pos = m.end()
        if m.group("space"):
            continue
        if m.group("quant"):
            out.append(f"{'∃' if m.group('exists') else '∀'}{m.group('var')} (")
            open_quants.append(depth)
        elif m.group("pred"):
            pred, const, var = m.group("pred"), m.group("const"), m.group("argvar")
            out.append(f"{pred}({_constant(const)})" if const else f"{pred}({var})" if var else pred)
        elif m.group("or"):
            out.append("∨")
        elif m.group("open"):
            depth += 1
            out.append("(")
        elif m.group("close"):
            while open_quants and open_quants[-1] == depth:
                open_quants.pop()
                out.append(")")
            depth -= 1
            if depth < 0:
                raise FolParseError(f"FLD: unmatched ')' at {pos - 1}")
            out.append(")")
        else:
            out.append(m.group("other"))
    out.extend(")" for _ in open_quants)
    return " ".join(out)
