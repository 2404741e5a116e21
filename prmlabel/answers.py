"""Final-answer extraction and mathematical equivalence.

Model and dataset text is data, never code: nothing here evaluates it. Parsing that could be slow or
memory-hungry (math-verify's LaTeX grammar and its sympy comparison) runs in a limited worker process.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from fractions import Fraction

_BOX_COMMANDS = ("\\boxed", "\\fbox")


def _braced(text: str, start: int) -> str | None:
    """Return the content of the balanced ``{...}`` group opening at ``text[start]``, or None if unclosed."""
    depth = 0
    for i in range(start, len(text)):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` / ``\\fbox{...}`` (nested braces balanced), or ``\\boxed 5`` form.

    The last box wins because models often box intermediate results before the final one.
    """
    if not text:
        return None
    best_pos = -1
    for cmd in _BOX_COMMANDS:
        pos = text.rfind(cmd)
        while pos != -1:
            after = pos + len(cmd)
            # Skip e.g. "\boxedfoo" (a different macro name).
            if after < len(text) and text[after].isalpha():
                pos = text.rfind(cmd, 0, pos)
                continue
            break
        if pos > best_pos:
            best_pos = pos
            best_cmd = cmd
    if best_pos == -1:
        return None
    i = best_pos + len(best_cmd)
    while i < len(text) and text[i] in " \t":
        i += 1
    if i < len(text) and text[i] == "{":
        content = _braced(text, i)
        if content is None:
            return None
        return content.strip()
    if best_cmd == "\\boxed" and i > best_pos + len(best_cmd):
        # "\boxed 5": the argument runs to the next whitespace or "$".
        j = i
        while j < len(text) and not text[j].isspace() and text[j] != "$":
            j += 1
        arg = text[i:j].strip()
        return arg or None
    return None


# --------------------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------------------

# math: mathematical equivalence; logic: True/False/Unknown; text: exact match after collapsing
# whitespace and case (word sorting, multiple choice: math-verify would equate reorderings of a list).
DOMAINS = ("math", "logic", "text")

_GSM8K_RE = re.compile(r"####\s*([^\n]+)")
_ANSWER_PHRASE_RE = re.compile(r"\bfinal\s+answer\s*(?:is\s*:?|:)|\bthe\s+answer\s+is\s*:?", re.IGNORECASE)
# A sentence ends at a period followed by whitespace or the end (not a decimal point).
_SENTENCE_END_RE = re.compile(r"\.(?=\s|$)")
_NUMBER_RE = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?(?![\d])")
_LOGIC_WORD_RE = re.compile(r"\b(true|false|unknown|uncertain)\b", re.IGNORECASE)
_LOGIC_CANON = {"true": "True", "false": "False", "unknown": "Unknown", "uncertain": "Unknown"}


def _check_domain(domain: str) -> None:
    if domain not in DOMAINS:
        raise ValueError(f"unknown answer domain {domain!r}; valid domains: {', '.join(DOMAINS)}")


def _clean_phrase_answer(ans: str) -> str:
    """Tidy a free-text answer: surrounding spaces, ``$`` and trailing sentence punctuation."""
    ans = ans.strip()
    prev = None
    while ans != prev:
        prev = ans
        ans = ans.strip().strip("$").strip()
        ans = ans.rstrip(".").rstrip()
        ans = ans.strip("*").strip()  # markdown bold around the answer
    return ans


def _extract_math(text: str, strict: bool = False) -> str | None:
    boxed = last_boxed(text)
    if boxed:
        return boxed
    gsm = _GSM8K_RE.findall(text)
    if gsm:
        ans = _clean_phrase_answer(gsm[-1])
        if ans:
            return ans
    phrase_ends = [m.end() for m in _ANSWER_PHRASE_RE.finditer(text)]
    if phrase_ends:
        rest = text[phrase_ends[-1] :].split("\n", 1)[0]
        ans = _clean_phrase_answer(_SENTENCE_END_RE.split(rest, maxsplit=1)[0])
        inner = last_boxed(ans)
        if inner:
            return inner
        if ans:
            return ans
    if strict:
        return None
    numbers = _NUMBER_RE.findall(text)
    if numbers:
        return numbers[-1]
    return None


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
    if words:
        return _LOGIC_CANON[words[-1].lower()]
    return None


def extract_answer(text: str, domain: str = "math", strict: bool = False) -> str | None:
    """The final answer a response commits to, or None when it states none.

    Math order: last ``\\boxed``; GSM8K ``#### X``; last "The (final) answer is X" / "Final answer: X";
    last number (skipped when ``strict``: only an explicit answer counts). Logic: True / False /
    Unknown (Uncertain is read as Unknown) in a box, after "answer is", else the last such word.
    """
    _check_domain(domain)
    if not text or not text.strip():
        return None
    if domain == "logic":
        return _extract_logic(text)
    if domain == "text":
        return _extract_text(text)
    return _extract_math(text, strict)


_TEXT_ANSWER_RE = re.compile(r"(?:final\s+answer(?:\s+is)?|answer\s+is)\s*[:\-]?\s*(.+)", re.IGNORECASE)


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


def _normalize_text(s: str) -> str:
    return " ".join(s.split()).casefold().rstrip(".")


# --------------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------------

_SPACING_RE = re.compile(r"\\[!,;:]|\\ |\\q?quad(?![A-Za-z])|\\displaystyle|\\(?:left|right)(?![A-Za-z])")
_DEGREE_RE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree\b|\\circ\b")
_TEXT_RE = re.compile(r"\\(?:text|textbf|textrm|mbox|mathrm)\s*\{([^{}]*)\}")
_ASSIGN_RE = re.compile(r"^\\?[A-Za-z]+(?:_\{?[A-Za-z0-9]+\}?)?\s*=\s*")
_THOUSANDS_RE = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?$")
_PLAIN_NUMBER_RE = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
# Each word must end in whitespace or the end of text, so the repetition splits one way only (no
# catastrophic backtracking on long model text).
_NUMBER_WITH_WORDS_RE = re.compile(rf"^({_PLAIN_NUMBER_RE}%?)\s*((?:[A-Za-z]+\.?(?:\s+|$))+)$")
_UNIT_TEXT_RE = re.compile(r"\\(?:text|mbox|mathrm)\s*\{\s*[A-Za-z][A-Za-z .\-^0-9]*\}\s*$")
_TEXT_UNWRAP_ROUNDS = 8
# Words after a number that change its value rather than name a unit.
_VALUE_WORDS = {"million", "billion", "trillion", "thousand", "hundred", "pi", "i", "e", "sqrt", "or", "and"}


def _strip_text_wrappers(s: str) -> str:
    """Drop a trailing ``\\text{...}`` unit after a value (``5\\text{ cm}``); unwrap ``\\text{Evelyn}``."""
    m = _UNIT_TEXT_RE.search(s)
    if m:
        head = s[: m.start()].rstrip()
        if head and head[-1] in "0123456789}":
            s = head
    for _ in range(_TEXT_UNWRAP_ROUNDS):  # bounded: nesting deeper than this is not an answer
        unwrapped = _TEXT_RE.sub(r"\1", s)
        if unwrapped == s:
            break
        s = unwrapped
    return s


def normalize_answer(s: str | None) -> str:
    """Canonical text of an answer for comparison: formatting that does not change the value is removed.

    Removes ``$``, ``\\boxed`` around the whole answer, ``\\text{}`` unit wrappers, ``\\left``/``\\right``
    and spacing macros, degree signs, trailing periods, a leading ``x =`` (single assignment only),
    thousands separators (only when the whole answer is such a number, so ``(1,2)`` stays a tuple) and
    plain unit words after a number (``18 dollars``). ``\\dfrac``/``\\tfrac`` become ``\\frac``.
    """
    if s is None:
        return ""
    s = s.strip()
    boxed = last_boxed(s)
    if boxed is not None and re.fullmatch(r"\$*\s*\\(?:boxed|fbox)\s*\{.*\}\s*\$*", s, re.DOTALL):
        s = boxed
    s = s.replace("\\$", "").replace("$", "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = s.replace("{,}", ",").replace("\\%", "%")
    s = _SPACING_RE.sub(" ", s)
    s = _DEGREE_RE.sub("", s)
    s = _strip_text_wrappers(s)
    s = re.sub(r"\s+", " ", s).strip()
    s = s.rstrip(".").strip()
    if s.count("=") == 1:
        s = _ASSIGN_RE.sub("", s, count=1).strip()
    m = _NUMBER_WITH_WORDS_RE.match(s)
    if m and not (set(m.group(2).lower().replace(".", " ").split()) & _VALUE_WORDS):
        s = m.group(1)
    if _THOUSANDS_RE.match(s):
        s = s.replace(",", "")
    return s.rstrip(".").strip()


# --------------------------------------------------------------------------------------------------------
# Equivalence
# --------------------------------------------------------------------------------------------------------

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_FAST_NUMBER_RE = re.compile(
    rf"^(?:(?P<plain>{_NUM})|(?P<num>{_NUM})\s*/\s*(?P<den>{_NUM})"
    rf"|(?P<sign>[-+]?)\s*\\frac\s*\{{\s*(?P<fnum>{_NUM})\s*\}}\s*\{{\s*(?P<fden>{_NUM})\s*\}})"
    r"\s*(?P<pct>%)?$"
)
# Reals beyond this many characters go to the limited worker instead (int() caps digits anyway).
_FAST_MAX_CHARS = 200
MATH_VERIFY_TIMEOUT = 5.0


def _as_number(s: str) -> tuple[Fraction, bool] | None:
    """Exact value of a plain number (int, decimal, ``a/b``, ``\\frac{a}{b}``, optional ``%``) and a
    flag for whether it carried a percent sign; None when ``s`` is not such a number."""
    if len(s) > _FAST_MAX_CHARS:
        return None
    m = _FAST_NUMBER_RE.match(s)
    if not m:
        return None
    try:
        if m.group("plain") is not None:
            value = Fraction(m.group("plain"))
        elif m.group("num") is not None:
            value = Fraction(m.group("num")) / Fraction(m.group("den"))
        else:
            value = Fraction(m.group("fnum")) / Fraction(m.group("fden"))
            if m.group("sign") == "-":
                value = -value
    except (ValueError, ZeroDivisionError):
        return None
    return value, m.group("pct") is not None


def _numbers_equal(a: tuple[Fraction, bool], b: tuple[Fraction, bool]) -> bool:
    """Exact comparison; a percent on one side only matches either reading of it.

    Decision: ``50%`` equals both ``50`` and ``0.5``. References and models disagree on whether the
    percent sign belongs to the answer ("what percent ... ?" -> 50 vs 50%), and a "0.5" for "50%" is the
    same quantity; the two readings differ by a factor of 100, so accepting both rarely accepts a wrong value.
    """
    (va, pa), (vb, pb) = a, b
    if pa == pb:
        return va == vb
    pct_value, other = (va, vb) if pa else (vb, va)
    return other in (pct_value, pct_value / 100)


def _math_verify_worker(gold: str, pred: str) -> bool:
    """Runs in a limited worker: LaTeX-only parsing (ANTLR grammar, no ``parse_expr``) then ``verify``.

    math-verify's own signal-based timeouts stay on: the worker runs this in its main thread, and a
    graceful timeout keeps the worker (and its imported sympy) alive; the pool's kill is the backstop.
    """
    from math_verify import LatexExtractionConfig, parse, verify

    # Timeouts on hostile input are expected outcomes here (they read as "not equivalent"), not warnings.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    config = [LatexExtractionConfig()]
    gold_parsed = parse(f"${gold}$", extraction_config=config, fallback_mode="no_fallback", parsing_timeout=2)
    if not gold_parsed:
        return False
    pred_parsed = parse(f"${pred}$", extraction_config=config, fallback_mode="no_fallback", parsing_timeout=2)
    if not pred_parsed:
        return False
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=2))


def _normalize_logic(s: str) -> str:
    s = normalize_answer(s).strip().strip("()[]*").strip().lower()
    return "unknown" if s == "uncertain" else s


def is_equivalent(pred: str | None, ref: str | None, domain: str = "math") -> bool:
    """Whether the predicted final answer means the same as the reference. Never substring matching.

    Plain numbers are compared exactly in-process (``Fraction``); anything else that is not textually
    identical after normalisation goes to math-verify inside ``limits.default_pool()``, where a timeout,
    memory blow-up or error counts as not equivalent.
    """
    _check_domain(domain)
    if pred is None or ref is None or not pred.strip() or not ref.strip():
        return False
    if domain == "logic":
        p, r = _normalize_logic(pred), _normalize_logic(ref)
        return bool(p) and p == r
    if domain == "text":
        p, r = _normalize_text(pred), _normalize_text(ref)
        return bool(p) and p == r
    p, r = normalize_answer(pred), normalize_answer(ref)
    if not p or not r:
        return False
    np_, nr = _as_number(p), _as_number(r)
    if np_ is not None and nr is not None:
        return _numbers_equal(np_, nr)
    if p == r:
        return True
    from prmlabel.limits import default_pool

    result = default_pool().call(_math_verify_worker, r, p, timeout=MATH_VERIFY_TIMEOUT)
    return bool(result.ok and result.value is True)


@dataclass(frozen=True)
class AnswerCheck:
    """The answer a response ends on and whether it matches the reference."""

    final_answer: str | None
    is_correct: bool


def check_answer(response: str, reference: str | None, domain: str = "math") -> AnswerCheck:
    """Extract the final answer of ``response`` and compare it with ``reference`` (a final answer, not a
    full solution: run ``extract_answer`` on solutions first)."""
    _check_domain(domain)
    if not response or not response.strip():
        return AnswerCheck(None, False)
    final = extract_answer(response, domain)
    return AnswerCheck(final, is_equivalent(final, reference, domain))
