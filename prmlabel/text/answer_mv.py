"""math-verify, used safely: its target regexes and LaTeX grammar, never its plain-expression parser.

``locate_answer`` and ``mv_compare`` run inside a limited worker (``limits.default_pool()``), never in the
caller's process (``to_latex`` only rewrites strings):
the ANTLR grammar and sympy's simplification can be slow or memory-hungry on hostile text, and the
worker is killed after its timeout. math-verify's ``ExprExtractionConfig`` parses what its regex found
with sympy's ``parse_expr`` (``eval`` underneath); here a number it finds is read with ``Fraction`` and an
arithmetic expression (digits, ``+ - * / ^ ( )``) with the LaTeX grammar, which evaluates nothing.
"""

from __future__ import annotations

import logging
import re
from fractions import Fraction
from itertools import groupby
from typing import Any

from prmlabel.text.answer_rules import join_thousands

PARSE_TIMEOUT_S = 3  # math-verify's own signal timeouts, inside the worker's kill timeout
VERIFY_TIMEOUT_S = 3


class _Undecided(Exception):
    """math-verify could not read or compare the answers."""


# --------------------------------------------------------------------------------------------------------
# Plain text -> LaTeX (math-verify's grammar reads LaTeX; plain ``sqrt(3)`` or ``x**2`` is rewritten first)
# --------------------------------------------------------------------------------------------------------

_PLAIN_REWRITES = (
    (re.compile(r"\*\*"), "^"),
    (re.compile(r"(?<![\\A-Za-z])pi(?![A-Za-z])"), r"\\pi "),
    (re.compile(r"(?<![\\A-Za-z])(?:infinity|inf)(?![A-Za-z])|∞"), r"\\infty "),
    (re.compile(r"×"), r"\\times "),
    (re.compile(r"÷"), r"\\div "),
    (re.compile(r"≤|<="), r"\\le "),
    (re.compile(r"≥|>="), r"\\ge "),
    (re.compile(r"≠|!="), r"\\ne "),
    (re.compile(r"\s*(?:,\s*)?\b(?:and|or)\b\s*"), ", "),
)
_PLAIN_SQRT_RE = re.compile(r"(?<!\\)(?:sqrt|√)\s*")


def _plain_sqrt(s: str) -> str:
    """``sqrt(3)`` / ``√(3)`` -> ``\\sqrt{3}``, ``√3`` -> ``\\sqrt{3}`` (balanced parentheses only)."""
    out, i = [], 0
    for m in _PLAIN_SQRT_RE.finditer(s):
        if m.start() < i:
            continue
        out.append(s[i : m.start()])
        j = m.end()
        if j < len(s) and s[j] == "(":
            depth, k = 0, j
            while k < len(s):
                depth += {"(": 1, ")": -1}.get(s[k], 0)
                if depth == 0:
                    break
                k += 1
            if k == len(s):
                return s
            out.append("\\sqrt{" + s[j + 1 : k] + "}")
            i = k + 1
        else:
            digits = re.match(r"\d+|[A-Za-z]", s[j:])
            if not digits:
                return s
            out.append("\\sqrt{" + digits.group(0) + "}")
            i = j + digits.end()
    out.append(s[i:])
    return "".join(out)


def to_latex(s: str) -> str:
    """Rewrite plain-text mathematics into the LaTeX that math-verify's grammar reads."""
    s = _plain_sqrt(s)
    for pattern, repl in _PLAIN_REWRITES:
        s = pattern.sub(repl, s)
    return join_thousands(s.strip())


def _latex_config() -> Any:
    """math-verify's LaTeX target with boxed answers first and *without* its unit stripping, which
    deletes single letters such as ``m`` and would make ``10 m`` equal ``10 n`` (units are prmlabel's rule)."""
    from latex2sympy2_extended.latex2sympy2 import NormalizationConfig
    from math_verify import LatexExtractionConfig

    norm = NormalizationConfig(
        basic_latex=True, units=False, malformed_operators=True, nits=True, boxed="all", equations=False
    )
    return LatexExtractionConfig(boxed_match_priority=0, normalization_config=norm)


def _quiet() -> None:
    # Timeouts and parse failures on hostile input are expected outcomes here, not warnings.
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    logging.getLogger("latex2sympy2_extended").setLevel(logging.CRITICAL)


def _expr_target(match: re.Match[str]) -> str | None:
    """math-verify's ``extract_expr`` without ``parse_expr``: the number (thousands separators and leading
    zeros dropped, decimal comma read as a point, a percent kept) or the arithmetic expression as text."""
    groups = match.groupdict()
    integer = next((v for k, v in groups.items() if k.startswith("integer") and v), "")
    decimal = next((v for k, v in groups.items() if k.startswith("decimal") and v), "")
    if integer or decimal:
        sign = "-" if integer.startswith("-") else ""
        digits = integer.lstrip("-").translate(str.maketrans("", "", ", ")).lstrip("0") or "0"
        number = f"{sign}{digits}{decimal.replace(',', '.')}"
        try:
            Fraction(number)
        except ValueError:
            return None
        return number + ("%" if groups.get("percent") else "")
    expr = (groups.get("expr") or "").replace("\n", " ").strip().rstrip(".").rstrip()
    if not expr:
        return None
    from math_verify.parser import parse_latex_cached

    try:
        parse_latex_cached(expr.replace("×", "\\times ").replace("÷", "\\div "))
    except Exception:
        return None
    return expr


def _latex_target(match: re.Match[str], config: Any) -> str | None:
    from math_verify.parser import extract_latex

    parsed, text = extract_latex(match, config)
    if parsed is None or not text:
        return None
    percent = any(k.endswith("_percent") and v for k, v in match.groupdict().items())
    return text.replace(" and ", ", ") + ("%" if percent else "")


def locate_answer(text: str) -> str | None:
    """math-verify's ``extract_target_from_pred`` on its LaTeX and expression targets: the patterns in
    priority order (boxed, "final answer is", "answer:", then untagged), within a priority the rightmost
    match first, the first one that parses wins. Returns the answer's text (LaTeX or a number)."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig
    from math_verify.parser import get_extraction_regexes

    _quiet()
    latex = _latex_config()
    patterns = [
        (pattern, target, priority)
        for target_patterns, target in get_extraction_regexes([latex, ExprExtractionConfig()])
        for pattern, priority in target_patterns
    ]
    patterns.sort(key=lambda x: x[2])
    for _, group in groupby(patterns, key=lambda x: x[2]):
        matches = [(m, target) for pattern, target, _ in group for m in pattern.finditer(text)]
        matches.sort(key=lambda x: (x[0].end(), -x[0].start()), reverse=True)
        for m, target in matches:
            if isinstance(target, LatexExtractionConfig):
                found = _latex_target(m, target)
            else:
                found = _expr_target(m)
            if found:
                return found
    return None


def _parse(answer: str, config: Any) -> list[Any]:
    from math_verify import parse

    percent = answer.endswith("%")
    body = answer[:-1].rstrip() if percent else answer
    parsed = parse(
        f"${body}$" + ("%" if percent else ""),
        extraction_config=[config],
        fallback_mode="no_fallback",
        parsing_timeout=PARSE_TIMEOUT_S,
    )
    if not parsed:
        raise _Undecided(f"math-verify cannot read {answer[:80]!r}")
    return parsed


def mv_compare(pred: str, ref: str) -> str:
    """``"same"`` / ``"different"`` / ``"undecidable"`` for two cleaned answers (LaTeX), by math-verify's
    ``verify`` (strict: variables matter, sets and tuples differ) on what its LaTeX grammar reads."""
    from math_verify import verify
    from math_verify.errors import TimeoutException

    _quiet()
    config = _latex_config()
    try:
        gold, target = _parse(ref, config), _parse(pred, config)
        same = verify(gold, target, timeout_seconds=VERIFY_TIMEOUT_S, raise_on_error=True)
    except (_Undecided, TimeoutException):
        return "undecidable"
    except Exception:  # sympy failed to compare what it read: not a verdict either way
        return "undecidable"
    return "same" if same else "different"
