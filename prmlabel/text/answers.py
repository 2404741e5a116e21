"""Final answers: extraction and a comparison with three outcomes (same, different, undecidable).

The rules are written down, with examples, in docs/answers.md. Model and dataset text is data, never
code: nothing here evaluates it (no ``eval``, ``sympify`` or sympy's ``parse_expr``, which math-verify's
plain-expression target uses). Plain numbers are compared exactly in-process (``Fraction``); everything
else is parsed by math-verify's LaTeX grammar (ANTLR) and compared by its ``verify``, inside a limited
worker (``limits.default_pool()``) where a timeout, a crash or a parse failure is UNDECIDABLE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from prmlabel.text.answer_mv import to_latex
from prmlabel.text.answer_rules import (
    as_number,
    box_end,
    choice_letter,
    clean,
    decimal_comma,
    final_boxes,
    is_text_answer,
    last_boxed,
    numbers_match,
    numeric_form,
    ratio_parts,
    text_key,
    unreadable,
)

__all__ = [
    "DOMAINS",
    "RULES_VERSION",
    "AnswerCheck",
    "Verdict",
    "check_answer",
    "compare_answers",
    "extract_answer",
    "is_equivalent",
    "last_boxed",
    "normalize_answer",
    "try_extract_answer",
]

# math: mathematical equivalence; logic: True/False/Unknown; text: exact match after collapsing
# whitespace and case (word sorting, multiple choice: math-verify would equate reorderings of a list).
DOMAINS = ("math", "logic", "text")

MATH_VERIFY_TIMEOUT = 10.0  # seconds per worker call (the worker is killed after it)
LOCATE_TAIL_CHARS = 4000  # the untagged fallback reads the end of a response, where answers are


class Verdict(str, Enum):
    """How a predicted answer relates to the reference."""

    SAME = "same"
    DIFFERENT = "different"
    UNDECIDABLE = "undecidable"  # no reference, a parse failure, a timeout: neither right nor wrong

    @property
    def correct(self) -> bool | None:
        """True for SAME, False for DIFFERENT, None when it could not be decided (never read as wrong)."""
        return None if self is Verdict.UNDECIDABLE else self is Verdict.SAME


# Bump on any change to extraction or comparison: the engine's rollout cache keys every stored
# verdict by it, so a rule change never reuses verdicts decided by the old rules.
RULES_VERSION = "answers-v2"


def _check_domain(domain: str) -> None:
    if domain not in DOMAINS:
        raise ValueError(f"unknown answer domain {domain!r}; valid domains: {', '.join(DOMAINS)}")


# --------------------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------------------

_GSM8K_RE = re.compile(r"####\s*([^\n]+)")
_ANSWER_PHRASE_RE = re.compile(r"\bfinal\s+answer\s*(?:is\s*:?|:)|\bthe\s+answer\s+is\s*:?", re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"\.(?=\s|$)")  # a period before whitespace or the end (not a decimal point)
_INLINE_MATH_RE = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_LOGIC_WORD_RE = re.compile(r"\b(true|false|unknown|uncertain)\b", re.IGNORECASE)
_LOGIC_CANON = {"true": "True", "false": "False", "unknown": "Unknown", "uncertain": "Unknown"}
_TEXT_ANSWER_RE = re.compile(r"(?:final\s+answer(?:\s+is)?|answer\s+is)\s*[:\-]?\s*(.+)", re.IGNORECASE)


def _clean_phrase_answer(ans: str) -> str:
    """Tidy a free-text answer: surrounding spaces, ``$``, markdown bold and trailing sentence punctuation."""
    prev = None
    while ans != prev:
        prev = ans
        ans = ans.strip().strip("$").strip().rstrip(".").rstrip().strip("*").strip()
    return ans


def _tagged_math_answer(text: str) -> str | None:
    """An answer the response marks: its last box (with the boxes joined to it), GSM8K ``#### X``. A box
    followed by a "the (final) answer is" statement is an intermediate result (math-verify: rightmost wins)."""
    box_at = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if box_at != -1 and _ANSWER_PHRASE_RE.search(text, box_at):
        return None
    boxed = final_boxes(text)
    if boxed:
        return boxed
    gsm = _GSM8K_RE.findall(text)
    if gsm and (ans := _clean_phrase_answer(gsm[-1])):
        return ans
    return None


def _phrase_math_answer(text: str) -> str | None:
    """What follows the last "the (final) answer is": its math span, else the rest of the sentence."""
    phrase_ends = [m.end() for m in _ANSWER_PHRASE_RE.finditer(text)]
    if phrase_ends:
        rest = text[phrase_ends[-1] :].lstrip()
        env = _INLINE_MATH_RE.match(rest)
        if env:  # "The answer is $\frac{3}{4}$." -> the whole math span, periods included
            return next(g for g in env.groups() if g is not None).strip() or None
        rest = rest.split("\n", 1)[0]
        return _clean_phrase_answer(_SENTENCE_END_RE.split(rest, maxsplit=1)[0]) or None
    return None


def _mathy(answer: str | None) -> bool:
    return answer is not None and any(c.isdigit() or c == "\\" for c in answer)


def _extract_math(text: str, strict: bool) -> tuple[str | None, bool]:
    """``(answer, decided)``: ``decided`` is False only when the locating worker failed (timeout)."""
    tagged = _tagged_math_answer(text)
    if tagged is not None:
        return tagged, True
    boxed, after_box = None, text
    box_at = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if box_at != -1:  # a box, then "the answer is ...": what follows the box wins if it states math
        boxed = final_boxes(text)
        after_box = text[box_end(text, box_at) :]
    if strict:
        phrase = _phrase_math_answer(after_box)
        return (phrase if boxed is None or _mathy(phrase) else boxed), True
    from prmlabel.runtime.limits import default_pool
    from prmlabel.text.answer_mv import locate_answer

    # "\$324" is currency, never a math delimiter: math-verify would not see the number after it.
    tail = after_box[-LOCATE_TAIL_CHARS:].replace("\\$", " ")
    result = default_pool().call(locate_answer, tail, timeout=MATH_VERIFY_TIMEOUT)
    if not result.ok:
        return None, False
    if result.value:
        return result.value, True
    return boxed or _phrase_math_answer(after_box), True


def _extract_logic(text: str) -> str | None:
    boxed = last_boxed(text)
    if boxed:
        words = _LOGIC_WORD_RE.findall(boxed)
        if words:
            return _LOGIC_CANON[words[-1].lower()]
    phrase_ends = [m.end() for m in re.finditer(r"answer\s+is\s*:?", text, re.IGNORECASE)]
    if phrase_ends:
        m = _LOGIC_WORD_RE.search(text, phrase_ends[-1])
        if m and text[phrase_ends[-1] : m.start()].count("\n") == 0:
            return _LOGIC_CANON[m.group(1).lower()]
    words = _LOGIC_WORD_RE.findall(text)
    return _LOGIC_CANON[words[-1].lower()] if words else None


def _extract_text(text: str) -> str | None:
    """A free-text answer: the last box, else what follows the last "answer is", else the last line."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed.strip() or None
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        m = _TEXT_ANSWER_RE.search(line)
        if m:
            return m.group(1).strip().rstrip(".").strip() or None
    return lines[-1] if lines else None


def try_extract_answer(text: str, domain: str = "math", strict: bool = False) -> tuple[str | None, bool]:
    """:func:`extract_answer` with its status: ``(answer, True)``, or ``(None, False)`` when the worker that
    locates an unmarked answer failed (a timeout): the answer is then unknown, not absent (UNDECIDABLE)."""
    _check_domain(domain)
    if not text or not text.strip():
        return None, True
    if domain != "math":
        return extract_answer(text, domain, strict), True
    return _extract_math(text, strict)


def extract_answer(text: str, domain: str = "math", strict: bool = False) -> str | None:
    """The final answer a response commits to, or None when it states none.

    Math: the last ``\\boxed{}``; GSM8K ``#### X``; the last "The (final) answer is X". Unless ``strict``
    (only an explicit answer counts), then math-verify's own untagged targets in its priority order
    ("answer: ..." then the rightmost LaTeX span or number), located in a limited worker; None also when
    that worker fails (``check_answer`` reports that case as UNDECIDABLE). Logic: True / False / Unknown
    (Uncertain is Unknown) in a box, after "answer is", else the last such word.
    """
    _check_domain(domain)
    if not text or not text.strip():
        return None
    if domain == "logic":
        return _extract_logic(text)
    if domain == "text":
        return _extract_text(text)
    return _extract_math(text, strict)[0]


# --------------------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------------------


def normalize_answer(s: str | None) -> str:
    """Canonical text of an answer: :func:`prmlabel.text.answer_rules.clean`, then for a lone number the
    number rules (``x =`` dropped, unit words dropped, thousands separators joined)."""
    cleaned = clean(s)
    numeric = numeric_form(cleaned)
    return numeric if as_number(numeric) is not None else cleaned


def _reference_text(ref: str) -> str:
    """A reference written with math delimiters (``$\\frac12$``, ``$1$ and $2$``) is read like an answer."""
    if "\\boxed" in ref or "\\fbox" in ref:
        return final_boxes(ref) or ref
    if "$" not in ref.replace("\\$", "") and "\\(" not in ref and "\\[" not in ref:
        return ref
    explicit = _tagged_math_answer(ref) or _phrase_math_answer(ref)
    if explicit is not None:
        return explicit
    spans = [next(g for g in m.groups() if g is not None) for m in _INLINE_MATH_RE.finditer(ref)]
    return ", ".join(s.strip() for s in spans if s.strip()) or ref


def _compare_logic(pred: str, ref: str) -> Verdict:
    def canon(s: str) -> str:
        s = normalize_answer(s).strip().strip("()[]*").strip().lower()
        return "unknown" if s == "uncertain" else s

    return Verdict.SAME if canon(pred) == canon(ref) else Verdict.DIFFERENT


def _compare_math(pred: str, ref: str) -> Verdict:
    p, r = clean(pred), clean(_reference_text(ref))
    if not r:
        return Verdict.UNDECIDABLE
    if not p:
        return Verdict.DIFFERENT
    if unreadable(p) or unreadable(r):
        return Verdict.UNDECIDABLE
    ref_letter = choice_letter(r)
    if ref_letter is not None:  # multiple choice: the letter decides
        return Verdict.SAME if choice_letter(p) == ref_letter else Verdict.DIFFERENT
    p_num, r_num = numeric_form(p), numeric_form(r)
    pn, rn = as_number(p_num), as_number(r_num)
    if pn is not None and rn is not None:
        return Verdict.SAME if numbers_match(p_num, r_num, pn, rn) else Verdict.DIFFERENT
    for a, b in ((decimal_comma(p), r_num), (p_num, decimal_comma(r))):  # "1,22": a list, or 1.22
        an, bn = as_number(a or ""), as_number(b or "")
        if a and b and an is not None and bn is not None and numbers_match(a, b, an, bn):
            return Verdict.SAME
    r_ratio = ratio_parts(r)
    if r_ratio is not None:
        return Verdict.SAME if ratio_parts(p) == r_ratio else Verdict.DIFFERENT
    p_text, r_text = is_text_answer(p), is_text_answer(r)
    if p_text and r_text:
        return Verdict.SAME if text_key(p) == text_key(r) else Verdict.DIFFERENT
    if (p_text and rn is not None) or (r_text and pn is not None):
        return Verdict.DIFFERENT  # a word answer against a number
    if p == r:
        return Verdict.SAME
    from prmlabel.runtime.limits import default_pool
    from prmlabel.text.answer_mv import mv_compare

    result = default_pool().call(mv_compare, to_latex(p), to_latex(r), timeout=MATH_VERIFY_TIMEOUT)
    if not result.ok:
        return Verdict.UNDECIDABLE
    return Verdict(result.value)


def compare_answers(pred: str | None, ref: str | None, domain: str = "math") -> Verdict:
    """Whether ``pred`` (an extracted final answer) means the same as ``ref`` (a reference final answer).

    No reference -> UNDECIDABLE; no prediction (the response states no answer) -> DIFFERENT. Never
    substring matching. See docs/answers.md for every rule.
    """
    _check_domain(domain)
    if ref is None or not ref.strip():
        return Verdict.UNDECIDABLE
    if pred is None or not pred.strip():
        return Verdict.DIFFERENT
    if domain == "logic":
        return _compare_logic(pred, ref)
    if domain == "text":
        key = text_key(pred).rstrip(".")
        return Verdict.SAME if key and key == text_key(ref).rstrip(".") else Verdict.DIFFERENT
    return _compare_math(pred, ref)


def is_equivalent(pred: str | None, ref: str | None, domain: str = "math") -> bool:
    """True iff :func:`compare_answers` says SAME (kept for callers that need a bool)."""
    return compare_answers(pred, ref, domain) == Verdict.SAME


@dataclass(frozen=True)
class AnswerCheck:
    """The answer a response ends on and how it relates to the reference."""

    final_answer: str | None
    verdict: Verdict

    @property
    def is_correct(self) -> bool | None:
        """True / False, or None when the checker could not decide."""
        return self.verdict.correct


def check_answer(response: str, reference: str | None, domain: str = "math") -> AnswerCheck:
    """Extract the final answer of ``response`` and compare it with ``reference`` (a final answer, not a
    full solution: run ``extract_answer`` on solutions first)."""
    _check_domain(domain)
    if reference is None or not reference.strip():
        return AnswerCheck(extract_answer(response, domain) if response else None, Verdict.UNDECIDABLE)
    if not response or not response.strip():
        return AnswerCheck(None, Verdict.DIFFERENT)
    if domain != "math":
        final = extract_answer(response, domain)
        return AnswerCheck(final, compare_answers(final, reference, domain))
    final, decided = try_extract_answer(response, domain)
    if not decided:
        return AnswerCheck(None, Verdict.UNDECIDABLE)
    return AnswerCheck(final, compare_answers(final, reference, domain))
