"""ProntoQA's controlled English -> FOL formulas, so the z3 verifier can check ProntoQA proofs.

Why: ProntoQA ships no formulas, but its sentences come from a tiny grammar, so a handful of patterns
translate all of them exactly (every sentence of the 500-row Logic-LLM dev set; no guessing). Patterns
(``not`` optional everywhere; ``a``/``an`` optional):

    Every X is (not) a Y.   Each X is (not) a Y.   ->  ∀x (X(x) → (¬)Y(x))
    Xs are (not) Ys.        Xs are (not) Y.       ->  ∀x (X(x) → (¬)Y(x))
    Name is (not) a Y.      Name is (not) Y.      ->  (¬)Y(name)

Predicates are the singular noun or adjective, capitalised (``yumpuses`` -> ``Yumpus``, ``sour`` ->
``Sour``); constants are the lowercased name (``max``). A sentence outside the grammar becomes None: a
step citing it is unverifiable, the rest of the problem is still checked.

:func:`gold_steps` turns a ProntoQA gold ``explanation`` (fact, rule, derived, rule, derived, ...) into
steps of the formal step syntax of :mod:`prmlabel.verifiers.logic_steps`, which is how the tests check
that gold chains verify as correct.
"""

from __future__ import annotations

import re

_EVERY = re.compile(r"(?:every|each)\s+([a-z]+)\s+is\s+(not\s+)?(?:an?\s+)?([a-z]+)", re.IGNORECASE)
_PLURAL = re.compile(r"([a-z]+)\s+are\s+(not\s+)?([a-z]+)", re.IGNORECASE)
_NAMED = re.compile(r"([A-Z][a-z]+)\s+is\s+(not\s+)?(?:an?\s+)?([a-z]+)")
_SENTENCE_END = re.compile(r"(?<=\.)\s+")
_QUANTIFIER_WORDS = {"every", "each"}


def singular(word: str) -> str:
    """ProntoQA plurals: ``-uses`` (yumpuses), ``-ies``, ``-ches``/``-shes``/``-xes``/``-sses``, ``-s``."""
    w = word.lower()
    if w.endswith("uses"):
        return w[:-2]
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "xes", "sses")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("us", "ss")):
        return w[:-1]
    return w


def _pred(word: str) -> str:
    return singular(word).capitalize()


def sentences(text: str) -> list[str]:
    """Split a ProntoQA context into its sentences (each ends with a period)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def sentence_to_fol(sentence: str) -> str | None:
    """One ProntoQA sentence -> a FOL formula string, or None when it is outside the grammar."""
    s = sentence.strip().rstrip(".").strip()
    if len(s) > 200:
        return None
    m = _EVERY.fullmatch(s)
    if m:
        neg = "¬" if m.group(2) else ""
        return f"∀x ({_pred(m.group(1))}(x) → {neg}{_pred(m.group(3))}(x))"
    m = _PLURAL.fullmatch(s)
    if m and m.group(1).lower() not in _QUANTIFIER_WORDS:
        neg = "¬" if m.group(2) else ""
        return f"∀x ({_pred(m.group(1))}(x) → {neg}{_pred(m.group(3))}(x))"
    m = _NAMED.fullmatch(s)
    if m and m.group(1).lower() not in _QUANTIFIER_WORDS:
        neg = "¬" if m.group(2) else ""
        return f"{neg}{_pred(m.group(3))}({m.group(1).lower()})"
    return None


def context_to_fol(context: str) -> list[str | None]:
    """The context's sentences in order (fact1 is the first), each as FOL or None."""
    return [sentence_to_fol(s) for s in sentences(context)]


def statement_of(question: str) -> str:
    """``Is the following statement true or false? Max is sour.`` -> ``Max is sour.``"""
    return question.rsplit("?", 1)[-1].strip() or question.strip()


def _norm(sentence: str) -> str:
    return " ".join(sentence.lower().rstrip(".").split())


def gold_steps(context: str, question: str, explanation: list[str], answer: str) -> list[str]:
    """A gold explanation as formal steps: each derived sentence cites the sentences used since the last one.

    ``answer`` is the gold answer text (True/False). The chain's last derived sentence is cited for
    ``hypothesis`` (it states the question's statement) or ``¬hypothesis`` (it states its negation).
    """
    index = {_norm(s): i for i, s in enumerate(sentences(context), start=1)}
    hypothesis = sentence_to_fol(statement_of(question))
    steps: list[str] = []
    pending: list[str] = []
    last_int: str | None = None
    last_formula: str | None = None
    n = 0
    for sentence in explanation:
        key = _norm(sentence)
        if key in index:
            pending.append(f"fact{index[key]}")
            continue
        formula = sentence_to_fol(sentence)
        if formula is None:
            raise ValueError(f"explanation sentence outside ProntoQA's grammar: {sentence!r}")
        cites = pending if len(pending) >= 2 or last_int is None else [last_int, *pending]
        n += 1
        steps.append(f"{' & '.join(cites)} -> int{n}: {formula}")
        last_int, last_formula, pending = f"int{n}", formula, [f"int{n}"]
    if last_int is not None and hypothesis is not None and last_formula is not None:
        if last_formula == hypothesis:
            steps.append(f"{last_int} -> hypothesis")
        elif last_formula.lstrip("¬") == hypothesis.lstrip("¬"):
            steps.append(f"{last_int} -> ¬hypothesis")
    steps.append(f"The final answer is {answer}")
    return steps
