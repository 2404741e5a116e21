"""The formal step syntax the policy writes for logic problems (FoVer's), and what a problem's facts are.

Why a fixed syntax: z3 can only check a step whose premises and conclusion are formulas. FoVer (arXiv
2505.15960) has the policy cite its premises explicitly, one deduction per line, and checks each line on
its own ("local validity": the cited facts are taken as written, even if an earlier step was wrong).

Step syntax, one deduction per line::

    fact1 & fact3 -> int1: ∀x (Student(x) → ¬Chaperone(x))
    int1 & fact6 -> int2: ¬Chaperone(bonnie)
    int2 & fact2 -> hypothesis
    The final answer is True

- cited ids, joined by ``&`` (also ``∧``, ``,``, ``and``): ``factN`` is the N-th premise (1-based, in the
  order the problem lists them); ``intN`` is the conclusion of an earlier step.
- ``->`` (also ``→``, ``=>``), then the new id: ``intN`` followed by ``: <formula>``; or ``hypothesis`` /
  ``¬hypothesis`` (the problem's conclusion / its negation; a formula after it is ignored).
- formulas in the FOL of :mod:`prmlabel.verifiers.fol_parser` (unicode or ASCII), with the premises' names.
- the last step: ``The final answer is True|False|Unknown`` (also ``PROVED``/``DISPROVED``/``UNKNOWN``,
  FoVer's labels, and ``\\boxed{True}``).
- tolerated around a line: a list marker (``-``, ``*``, ``1.``, ``Step 2:``), backticks, bold, a final
  ``;`` or ``.``. A step may hold several formal lines (all are checked; other lines are ignored); a step
  with no formal line is ``unverifiable: not in the formal step form``.

Facts: a problem's ``meta`` holding FLDx2's ``facts_formula`` / ``hypothesis_formula`` (FoVer's problems,
in FLD notation), else ``premises-FOL`` (a list, FOLIO's field; any dataset may use it) and
optionally ``conclusion-FOL``; else a ProntoQA ``context`` (+ ``question``), converted by
:mod:`prmlabel.verifiers.prontoqa_fol`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from prmlabel.verifiers.prontoqa_fol import context_to_fol, sentence_to_fol, statement_of

FORMAL_STEP_INSTRUCTIONS = """\
Decide whether the hypothesis is True, False or Unknown given the facts. Write your proof one step per line, \
in this form:

<cited ids> -> <new id>: <formula>

Cite facts as fact1, fact2, ... (fact1 is the first fact listed) and earlier conclusions as int1, int2, ..., \
joined by &. Name each new conclusion int1, int2, ... in order and write it as a first-order logic formula \
using the predicate and constant names of the facts and the symbols ∀x ∃x ¬ ∧ ∨ ⊕ → ↔ and parentheses. \
Each step must follow from the ids it cites alone. When a step proves the hypothesis, write "-> hypothesis"; \
when it proves the hypothesis false, write "-> ¬hypothesis" (no formula needed). Do not use proof by \
contradiction. End with a line "The final answer is True", "The final answer is False" or \
"The final answer is Unknown".

Example:
fact1 & fact2 -> int1: Mammal(tom)
int1 & fact3 -> int2: ¬Cold(tom)
int2 -> hypothesis
The final answer is True"""

# A generate-stage prompt template (``prompt.template``); use it with ``steps.split=newline``.
FORMAL_PROMPT_TEMPLATE = "{question}\n\n" + FORMAL_STEP_INSTRUCTIONS

MAX_LINE_CHARS = 200_000  # longer lines are never matched (the formula parser has its own, smaller cap)

_CITE = r"(?:fact|int)\d{1,6}"
_DEDUCTION_RE = re.compile(
    rf"(?P<cites>{_CITE}(?:\s*(?:&|∧|,|\band\b)\s*{_CITE})*)\s*(?:->|→|=>|⇒)\s*"
    r"(?P<target>int\d{1,6}|(?:¬|~|!|not\s+)?\s*hypothesis)\b\s*(?::\s*(?P<formula>.*?))?\s*[;.]?\s*",
    re.IGNORECASE,
)
_LIST_MARKER_RE = re.compile(r"(?:[-*•>]+\s*|(?:step\s*)?\d{1,4}\s*[.):]\s*|step\s*\d{1,4}\s*)", re.IGNORECASE)
_FINAL_RES = (
    re.compile(
        r"final\s+answer\s*(?:is)?\s*[:=]?\s*\**\s*(?:\\boxed\{\s*)?\(?(true|false|unknown|uncertain|proved|disproved)\b",
        re.IGNORECASE,
    ),
    re.compile(r"proof_label\$?\s*:\s*(proved|disproved|unknown)\b", re.IGNORECASE),
    re.compile(r"\\boxed\{\s*(true|false|unknown|uncertain)\s*\}", re.IGNORECASE),
)
_ANSWER_CANON = {"true": "True", "proved": "True", "false": "False", "disproved": "False", "unknown": "Unknown",
                 "uncertain": "Unknown"}  # fmt: skip


@dataclass(frozen=True)
class Deduction:
    """``cites -> target: formula``; ``target`` is ``intN``, ``hypothesis`` or ``¬hypothesis``."""

    cites: tuple[str, ...]
    target: str
    formula: str | None
    line: str


@dataclass(frozen=True)
class FinalAnswer:
    answer: str  # True | False | Unknown
    line: str


FormalLine = Deduction | FinalAnswer


def _clean(line: str) -> str:
    s = line.strip().replace("`", "")
    s = s.strip("*").strip()
    for _ in range(3):  # "- Step 2: fact1 -> ..." has two markers
        m = _LIST_MARKER_RE.match(s)
        if not m or not m.end():
            break
        s = s[m.end() :].strip("*").strip()
    return s


def parse_line(line: str) -> FormalLine | None:
    """One line -> a deduction, a final answer, or None (not formal)."""
    if len(line) > MAX_LINE_CHARS:
        return None
    s = _clean(line)
    m = _DEDUCTION_RE.fullmatch(s)
    if m:
        cites = tuple(c.lower() for c in re.findall(_CITE, m.group("cites"), re.IGNORECASE))
        target = m.group("target").lower().replace(" ", "")
        if target != "hypothesis" and target.endswith("hypothesis"):
            target = "¬hypothesis"
        formula = m.group("formula")
        formula = formula.strip().rstrip(";").strip() if formula is not None else None
        return Deduction(cites, target, formula or None, s)
    for rx in _FINAL_RES:
        hits = list(rx.finditer(s))
        if hits:
            return FinalAnswer(_ANSWER_CANON[hits[-1].group(1).lower()], s)
    return None


def parse_step(text: str) -> list[FormalLine]:
    """The formal lines of one step (empty: the step is not in the formal step form)."""
    out: list[FormalLine] = []
    for line in text.splitlines():
        parsed = parse_line(line) if line.strip() else None
        if parsed is not None:
            out.append(parsed)
    return out


def normalize_answer(answer: str | None) -> str | None:
    """True/False/Unknown (Uncertain == Unknown, PROVED == True, ...), or None."""
    if answer is None:
        return None
    key = answer.strip().strip("().*").strip().lower()
    key = key.split(")", 1)[-1].strip() if ")" in key else key  # "A) True"
    return _ANSWER_CANON.get(key)


# ------------------------------------------------------------------------------------------------------
# A problem's facts
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormalProblem:
    """Premises as FOL text (None: a fact that could not be formalised), the hypothesis, and their source."""

    premises: tuple[str | None, ...]
    hypothesis: str | None
    source: str


def formal_problem(problem: dict[str, Any] | None) -> FormalProblem | None:
    """The problem's formal facts, or None when it has none (then every step is unverifiable)."""
    if not problem:
        return None
    meta = problem.get("meta") or {}
    if not isinstance(meta, dict):
        return None
    fld = fld_problem(meta)
    if fld is not None:
        return fld
    premises = meta.get("premises-FOL")
    if isinstance(premises, str):
        premises = [p for p in premises.splitlines() if p.strip()]
    if isinstance(premises, list) and premises:
        conclusion = meta.get("conclusion-FOL")
        return FormalProblem(
            tuple(p if isinstance(p, str) and p.strip() else None for p in premises),
            conclusion if isinstance(conclusion, str) and conclusion.strip() else None,
            "premises-FOL",
        )
    context = meta.get("context")
    if isinstance(context, str) and context.strip():
        facts = context_to_fol(context)
        if any(f is not None for f in facts):
            question = meta.get("question")
            hyp = sentence_to_fol(statement_of(question)) if isinstance(question, str) else None
            return FormalProblem(tuple(facts), hyp, "prontoqa")
    return None


_FLD_FACT_RE = re.compile(r"(?:^|\s)fact(\d{1,4}):\s*")


def fld_problem(meta: dict[str, Any]) -> FormalProblem | None:
    """FLDx2 / FoVer rows: ``facts_formula`` (``fact1: ... fact2: ...``, by newline or space) and
    ``hypothesis_formula``, in FLD notation (:mod:`prmlabel.verifiers.fld_syntax`). ``factN`` is the fact
    numbered N, as FoVer substitutes it (``fld_postprocess.py``)."""
    facts = meta.get("facts_formula")
    if not isinstance(facts, str) or not facts.strip():
        return None
    parts = _FLD_FACT_RE.split(facts)
    numbered = {int(n): text.strip() for n, text in zip(parts[1::2], parts[2::2], strict=True)}
    if not numbered:
        return None
    premises = tuple(numbered.get(i) or None for i in range(1, max(numbered) + 1))
    hyp = meta.get("hypothesis_formula")
    return FormalProblem(premises, hyp if isinstance(hyp, str) and hyp.strip() else None, "facts_formula")


def formal_problem_text(
    premises_fol: list[str], hypothesis_fol: str | None, premises_en: list[str] | None = None
) -> str:
    """A question that shows the policy the numbered formal facts it must cite (and their names).

    Why: the verifier checks the policy's formulas against these premises, so the policy has to use the
    same predicate and constant names; the English premises alone do not fix them.
    """
    lines = ["Facts:"]
    for i, f in enumerate(premises_fol, start=1):
        # English glosses only when they pair up (10 FOLIO validation rows have more English than FOL premises)
        english = f"   ({premises_en[i - 1].strip()})" if premises_en and len(premises_en) == len(premises_fol) else ""
        lines.append(f"fact{i}: {f.strip()}{english}")
    if hypothesis_fol:
        lines.append(f"\nHypothesis: {hypothesis_fol.strip()}")
    lines.append("\nBased only on the facts, is the hypothesis True, False or Unknown?")
    return "\n".join(lines)
