"""The answer checker's own written rules (docs/answers.md): cleaning, numbers, units, letters and words.

Everything here works on strings with regular expressions and ``Fraction``; nothing evaluates text. What
needs a real parser (LaTeX expressions, sets, intervals, equations) goes to :mod:`prmlabel.text.answer_mv`,
which runs math-verify's LaTeX grammar in a limited worker.
"""

from __future__ import annotations

import re
from fractions import Fraction

# --------------------------------------------------------------------------------------------------------
# Boxes
# --------------------------------------------------------------------------------------------------------

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
    best_pos, best_cmd = -1, ""
    for cmd in _BOX_COMMANDS:
        pos = text.rfind(cmd)
        while pos != -1:
            after = pos + len(cmd)
            if after < len(text) and text[after].isalpha():  # "\boxedfoo" is another macro
                pos = text.rfind(cmd, 0, pos)
                continue
            break
        if pos > best_pos:
            best_pos, best_cmd = pos, cmd
    if best_pos == -1:
        return None
    i = best_pos + len(best_cmd)
    while i < len(text) and text[i] in " \t":
        i += 1
    return _box_argument(text, best_pos, best_cmd)[0]


def box_end(text: str, pos: int) -> int:
    """The index just after the box command at ``pos`` and its argument."""
    cmd = "\\boxed" if text.startswith("\\boxed", pos) else "\\fbox"
    return _box_argument(text, pos, cmd)[1]


def _box_argument(text: str, pos: int, cmd: str) -> tuple[str | None, int]:
    """The argument of the box command at ``pos`` and the index just after it."""
    i = pos + len(cmd)
    while i < len(text) and text[i] in " \t":
        i += 1
    if i < len(text) and text[i] == "{":
        content = _braced(text, i)
        return (None, i) if content is None else (content.strip(), i + len(content) + 2)
    if cmd == "\\boxed" and i > pos + len(cmd):
        j = i  # "\boxed 5": the argument runs to the next whitespace or "$"
        while j < len(text) and not text[j].isspace() and text[j] != "$":
            j += 1
        return text[i:j].strip() or None, j
    return None, i


# Between two boxes of one answer ("\boxed{1} and \boxed{2}", "\boxed{(2,2)} \quad \text{and} \quad
# \boxed{(6,2)}"): separators, math delimiters, spacing and short digit-free \text{} only.
_BOX_JOINER_RE = re.compile(
    r"^(?:\s|[,;&]|\$|\\[()\[\]]|\\q?quad|\\[,;:! ]|\b(?:and|or)\b|\\text\s*\{[^{}0-9]{0,30}\}"
    r"|\\?[A-Za-z]{1,6}(?:_\{?[A-Za-z0-9]{1,3}\}?)?\s*="  # an "and y_2 =" label before the next box
    r"|\b[A-Za-z]{2,15}\b(?=\s*(?:,|\band\b|\bor\b)))*$"  # a unit word: "\boxed{1} papers and \boxed{2}"
)
MAX_JOINED_BOXES = 12


def final_boxes(text: str) -> str | None:
    """The last box, with the boxes right before it when only separators stand between them (math-verify
    reads ``\boxed{1}, \boxed{2}`` as the set {1, 2}); a box followed by prose is an intermediate result."""
    found: list[str] = []
    end = len(text)
    for _ in range(MAX_JOINED_BOXES):
        pos = max(text.rfind("\\boxed", 0, end), text.rfind("\\fbox", 0, end))
        if pos == -1:
            break
        cmd = "\\boxed" if text.startswith("\\boxed", pos) else "\\fbox"
        arg, after = _box_argument(text, pos, cmd)
        if arg is None or (found and not _BOX_JOINER_RE.match(text[after:end])):
            break
        found.append(arg)
        end = pos
    if not found:
        return last_boxed(text)
    return ", ".join(reversed(found))


# --------------------------------------------------------------------------------------------------------
# Cleaning: formatting that never changes the value
# --------------------------------------------------------------------------------------------------------

_DELIMS_RE = re.compile(r"(?<!\\)(?:\\\(|\\\)|\\\[|\\\])|\$")
_SPACING_RE = re.compile(r"(?<!\\)\\[,;:> ]|\\q?quad(?![A-Za-z])|~")
_DROP_RE = re.compile(r"(?<!\\)\\!\s*|\\displaystyle|\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])|\*\*")
_DEGREE_RE = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°|\\degree(?![A-Za-z])|\\circ(?![A-Za-z])")
_CURRENCY_RE = re.compile(r"\\\$|[€£¥₹]|\\(?:euro|pounds)(?![A-Za-z])")
_TEXT_CMD = r"\\(?:text|textbf|textrm|textit|textnormal|textsf|texttt|mbox|mathrm|mathbf|operatorname)\s*"
_TEXT_RE = re.compile(_TEXT_CMD + r"\{([^{}]*)\}")
_UNIT_TEXT_RE = re.compile(
    r"(?<=[0-9}.])\s*" + _TEXT_CMD + r"\{\s*[A-Za-z][A-Za-z .\-^0-9/]*\}(?:\s*\^\s*\{?[23]\}?)?\s*$"
)  # "5\text{ cm}", "864 \mbox{ inches}^2"
_STRAY_BACKSLASH_RE = re.compile(r"(?<!\\)\\(?=\d)")  # "\boxed{\15}": "\$15" with the dollar lost
_UNWRAP_ROUNDS = 8


def clean(s: str | None) -> str:
    """An answer without formatting: box, math delimiters, currency signs, spacing, ``\\left``, degrees,
    a trailing ``\\text{ unit}`` after a value, ``\\text{}`` wrappers, a trailing period. ``\\dfrac`` ->
    ``\\frac``, ``\\%`` -> ``%``, ``{,}`` -> ``,``, newlines -> spaces."""
    if not s:
        return ""
    s = s.strip()
    if "\\boxed" in s or "\\fbox" in s:
        s = final_boxes(s) or s
    s = _STRAY_BACKSLASH_RE.sub("", _CURRENCY_RE.sub("", s))
    s = _DELIMS_RE.sub(" ", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("{,}", ",").replace("\\%", "%")
    s = _SPACING_RE.sub(" ", s)
    s = _DROP_RE.sub("", s)
    s = _DEGREE_RE.sub("", s)
    s = _UNIT_TEXT_RE.sub("", s)
    for _ in range(_UNWRAP_ROUNDS):  # bounded: deeper nesting is not an answer
        unwrapped = _TEXT_RE.sub(r"\1", s)
        if unwrapped == s:
            break
        s = unwrapped
    return " ".join(s.split()).rstrip(".,;: ").strip()


# --------------------------------------------------------------------------------------------------------
# Numbers: exact values in-process
# --------------------------------------------------------------------------------------------------------

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_FAST_NUMBER_RE = re.compile(
    rf"^(?:(?P<plain>{_NUM})|(?P<num>{_NUM})\s*/\s*(?P<den>{_NUM})"
    rf"|(?P<sign>[-+]?)\s*\\frac\s*\{{\s*(?P<fnum>{_NUM})\s*\}}\s*\{{\s*(?P<fden>{_NUM})\s*\}}"
    rf"|(?P<sign2>[-+]?)\s*\\frac(?P<d1>\d)(?P<d2>\d))"
    r"\s*(?P<pct>%|\s[Pp]ercent(?:age)?|\s?[Pp]ct)?$"
)
_THOUSANDS_RE = re.compile(r"^([-+]?)([1-9]\d{0,2}(?:(?:,| )\d{3})+)(\.\d+)?(%?)$")
# A plain word after a number names a unit ("12 apples", "5 dollars", "3 cm") unless it changes the value
# or can be read as mathematics. A single letter is always a variable: "5x", "10 m", "2 a".
_NUMBER_WORDS_RE = re.compile(
    rf"^((?:[-+]?\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|{_NUM})%?)(\s*)((?:[A-Za-z][A-Za-z'’]+\.?(?:\s+|$))+)$"
)
# Written against the number ("3cm", "5kg") a word is a unit only if it is one of these or is 4+ letters
# long: "5xy" and "2ab" are products of variables.
_SHORT_UNITS = {
    "cm", "mm", "km", "kg", "mg", "ml", "ft", "in", "yd", "mi", "lb", "lbs", "oz", "hr", "hrs", "min", "mins",
    "sec", "secs", "mph", "kmh", "cal", "usd", "eur", "pts", "cm2", "m2",
}  # fmt: skip
_MULTIPLIERS = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_MATH_WORDS = {
    "pi", "sqrt", "sin", "cos", "tan", "sec", "csc", "cot", "log", "ln", "exp", "mod", "or", "and", "to",
    "inf", "infty", "infinity", "percent", "percentage", "pct", "times", "plus", "minus", "over",
}  # fmt: skip
_ASSIGN_RE = re.compile(r"^\\?[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?'*\s*=\s*(?=[^=]+$)")
MAX_NUMBER_CHARS = 200  # longer reals go to the limited worker; int() caps digits anyway


def drop_assignment(s: str) -> str:
    """``x = 3`` -> ``3``: one ``=`` with a single (possibly subscripted) symbol on its left."""
    return _ASSIGN_RE.sub("", s, count=1) if s.count("=") == 1 else s


def drop_unit_words(s: str) -> str:
    """``12 apples`` -> ``12``, ``2 million`` -> ``2000000``; ``5 x`` and ``3 pi`` are left alone."""
    m = _NUMBER_WORDS_RE.match(s)
    if not m:
        return s
    words = [w.rstrip(".").lower() for w in m.group(3).split()]
    if any(w in _MATH_WORDS for w in words):
        return s
    if not m.group(2) and len(words[0]) < 4 and words[0] not in _SHORT_UNITS:
        return s
    number = m.group(1)
    if words[0] in _MULTIPLIERS and not number.endswith("%"):
        try:
            value = Fraction(number.replace(",", "")) * _MULTIPLIERS[words[0]]
        except (ValueError, ZeroDivisionError):
            return s
        return str(value) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return number


def join_thousands(s: str) -> str:
    """``1,000`` / ``1 000`` -> ``1000`` when the whole answer is such a number (``(1,2)`` stays a tuple)."""
    m = _THOUSANDS_RE.match(s)
    if not m:
        return s
    return m.group(1) + m.group(2).replace(",", "").replace(" ", "") + (m.group(3) or "") + m.group(4)


_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}


_MIXED_RE = re.compile(r"^([-+]?)(\d+)\s+(\d+)\s*/\s*(\d+)$")


def mixed_number(s: str) -> str:
    """``2 1/2`` -> ``5/2``: a whole number and a proper fraction side by side is a mixed number (math-verify
    reads ``1\\frac{4}{5}`` as 9/5 the same way); an improper ``2 3/2`` is left unread."""
    m = _MIXED_RE.match(s)
    if not m or not 0 < int(m.group(3)) < int(m.group(4)):
        return s
    value = int(m.group(2)) + Fraction(int(m.group(3)), int(m.group(4)))
    return f"{m.group(1)}{value.numerator}/{value.denominator}"


def numeric_form(s: str) -> str:
    """The cleaned answer with the number-only rules applied (assignment, unit words, thousands, a number
    written as one word: ``five`` -> ``5``, ``five apples`` -> ``5``)."""
    s = drop_assignment(s)
    head, _, rest = s.partition(" ")
    if head.lower() in _NUMBER_WORDS:
        s = f"{_NUMBER_WORDS[head.lower()]} {rest}".strip()
    return mixed_number(join_thousands(drop_unit_words(s)))


def as_number(s: str) -> tuple[Fraction, bool] | None:
    """Exact value of a plain number (int, decimal, ``a/b``, ``\\frac{a}{b}``, ``\\frac12``, optional
    percent) and whether it carried a percent sign; None when ``s`` is not such a number."""
    if len(s) > MAX_NUMBER_CHARS:
        return None
    m = _FAST_NUMBER_RE.match(s)
    if not m:
        return None
    try:
        if m.group("plain") is not None:
            value = Fraction(m.group("plain"))
        elif m.group("num") is not None:
            value = Fraction(m.group("num")) / Fraction(m.group("den"))
        elif m.group("fnum") is not None:
            value = Fraction(m.group("fnum")) / Fraction(m.group("fden"))
            value = -value if m.group("sign") == "-" else value
        else:
            value = Fraction(int(m.group("d1")), int(m.group("d2")))
            value = -value if m.group("sign2") == "-" else value
    except (ValueError, ZeroDivisionError):
        return None
    return value, m.group("pct") is not None


def numbers_equal(a: tuple[Fraction, bool], b: tuple[Fraction, bool]) -> bool:
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


FLOAT_ROUNDING = 6  # math-verify's float_rounding: long decimals are approximations
_LONG_DECIMAL_RE = re.compile(rf"^[-+]?\d*\.\d{{{FLOAT_ROUNDING},}}$")


def _rounded(value: Fraction) -> Fraction:
    return Fraction(round(value * 10**FLOAT_ROUNDING), 10**FLOAT_ROUNDING)


def numbers_match(p: str, r: str, pn: tuple[Fraction, bool], rn: tuple[Fraction, bool]) -> bool:
    """:func:`numbers_equal`, or, when one side is a decimal of 6+ places (``0.0833333333``, an
    approximation), equal after rounding both to 6 places. ``0.333`` is not ``1/3``."""
    if numbers_equal(pn, rn):
        return True
    if pn[1] or rn[1] or not (_LONG_DECIMAL_RE.match(p) or _LONG_DECIMAL_RE.match(r)):
        return False
    return _rounded(pn[0]) == _rounded(rn[0])


_DECIMAL_COMMA_RE = re.compile(r"^([-+]?\d+),(\d+)$")


def decimal_comma(s: str) -> str | None:
    """``1,22`` / ``0,111`` -> ``1.22`` / ``0.111``: the decimal-comma reading of an answer that is also a
    list of two numbers (never a thousands group: ``1,220`` is 1220). Callers accept either reading."""
    m = _DECIMAL_COMMA_RE.match(s)
    if not m or (len(m.group(2)) == 3 and m.group(1).lstrip("+-") != "0"):
        return None
    return f"{m.group(1)}.{m.group(2)}"


_RATIO_RE = re.compile(r"^\d+(?:\s*:\s*\d+)+$")


def ratio_parts(s: str) -> tuple[int, ...] | None:
    """``12:00`` / ``7 : 32`` -> (12, 0) / (7, 32): a time or a ratio, compared part by part (never
    reduced: ``2:4`` is not ``1:2``, since a clock time would not be)."""
    if not _RATIO_RE.match(s):
        return None
    return tuple(int(x) for x in s.split(":"))


_COMPOUND_RE = re.compile(r"^(?:\d+(?:\.\d+)?\s*[A-Za-z]{2,}\.?\s*){2,}$")  # "7 hours 40 minutes"
_LOOSE_ROOT_RE = re.compile(r"\\sqrt\s*\d{2,}")  # "\sqrt13": LaTeX reads \sqrt{1}3, the writer meant \sqrt{13}


def unreadable(s: str) -> str | None:
    """Why an answer has no single reading (then the comparison is UNDECIDABLE), or None."""
    if _COMPOUND_RE.match(s) and not re.search(r"\b(?:and|or)\b", s):
        return "a quantity in two units"
    if _LOOSE_ROOT_RE.search(s):
        return "an unbraced multi-digit root"
    if _MIXED_RE.match(s) and mixed_number(s) == s:
        return "a whole number beside an improper fraction"
    return None


# --------------------------------------------------------------------------------------------------------
# Letters and words
# --------------------------------------------------------------------------------------------------------

_CHOICE_RE = re.compile(r"^(?:\(([A-J])\)|([A-J]))$")
_WORDS_RE = re.compile(r"^[A-Za-z][A-Za-z'’\- ]*$")


def choice_letter(s: str) -> str | None:
    """``B``, ``(B)``, ``\\text{(B)}`` (after cleaning) -> ``B``: a multiple-choice letter, else None."""
    m = _CHOICE_RE.match(s.strip())
    return (m.group(1) or m.group(2)) if m else None


def is_text_answer(s: str) -> bool:
    """Words, not mathematics: only letters, spaces, hyphens, apostrophes, with a word of 3+ letters that
    is not a function or constant name (``Evelyn``, ``odd``, ``no solution``; not ``x``, ``ab``, ``sin``)."""
    if not _WORDS_RE.match(s):
        return False
    return any(len(w) >= 3 and w.lower() not in _MATH_WORDS for w in re.split(r"[ \-]", s))


def text_key(s: str) -> str:
    return " ".join(s.replace("’", "'").split()).casefold()
