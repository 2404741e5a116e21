"""Tokenizer for the arithmetic in a natural-language math step (plain text, LaTeX, or both mixed).

Why a tokenizer of our own: text from a model is data, never code, so nothing here evaluates anything;
it only classifies characters. Every token is either *math* (numbers, single-letter symbols, operators,
brackets, the whitelisted LaTeX commands ``\\frac \\dfrac \\sqrt \\binom \\cdot \\times \\div \\pi``, ``%``,
``!``, degrees, ``=``) or a *boundary* that ends a run of math:

- ``HARD``: punctuation, line breaks (outside display math), math delimiters ``\\( \\) \\[ \\]``;
- ``WORD``: a word of text (``eggs``, ``\\text{ pounds}``), kept so the claim finder can tell a unit after a
  result (harmless) from an operator word before an operand (``half of 18``);
- ``REL``: another relation (``≈ < ≠ \\approx \\Rightarrow``, GSM8K's ``<< >>``), which also breaks chains;
- ``POISON``: something we do not model (``\\sin``, ``|x|``, ``\\ldots``, ``_``, a ``3:45`` time): a math
  run touching it may be part of a larger expression, so the claim beside it is skipped.

Transparent text (``$`` as currency or delimiter, ``\\,``, ``\\left``, ``\\boxed``, markdown ``**``) is
dropped, and the next token is marked as preceded by space. Limits: a literal longer than
:data:`MAX_LITERAL_DIGITS` digits becomes a NUM without value (the parser reports a limit), and a braced
``\\text{...}`` group is scanned at most :data:`MAX_GROUP_CHARS` characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

MAX_LITERAL_DIGITS = 400
MAX_GROUP_CHARS = 2_000

NUM, SYM, OP, LP, RP, FRAC, SQRT, BINOM, PI, PCT, BANG, EQ, DEG = (
    "NUM", "SYM", "OP", "LP", "RP", "FRAC", "SQRT", "BINOM", "PI", "PCT", "BANG", "EQ", "DEG",
)  # fmt: skip
HARD, WORD, POISON, REL = "HARD", "WORD", "POISON", "REL"
MATH_KINDS = frozenset({NUM, SYM, OP, LP, RP, FRAC, SQRT, BINOM, PI, PCT, BANG, EQ, DEG})
OPERAND_END = frozenset({NUM, SYM, PI, RP, PCT, BANG, DEG})
OPERAND_START = frozenset({NUM, SYM, PI, LP, FRAC, SQRT, BINOM})


@dataclass(frozen=True, slots=True)
class Tok:
    """One token. ``text`` is canonical (``*`` for ``\\times``, the bracket for a group, a word lowercased);
    ``space`` says whitespace or dropped transparent text came before it (implicit products need none)."""

    kind: str
    text: str
    start: int
    end: int
    space: bool = False
    value: Fraction | None = None
    places: int = 0  # digits after the decimal point of a NUM literal
    unit: str = ""  # a NUM's unit word, once the claim finder has dropped it from the stream


_NUMBER_RE = re.compile(r"\d{1,3}(?:(?:,|\{,\}|\\,)\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?")
_TIME_RE = re.compile(r"\d+(?::\d+)+")
_REPEATING_RE = re.compile(r"\.?\\(?:overline|dot|bar|overset)\b|\.(?:\\(?:ldots|cdots|dots)\b|\(\d|\{)")
_TEXT_WORDS_RE = re.compile(r"\(?[A-Za-z][A-Za-z '’/.\-]*\)?|\([A-Za-z '’/.,\-]*\)")
_LETTERS_RE = re.compile(r"[A-Za-z]+")
_COMMAND_RE = re.compile(r"\\([A-Za-z]+|.)", re.DOTALL)
_DEGREE_RE = re.compile(r"\^\s*(?:\{\s*\\circ\s*\}|\\circ)")
_ALIGN_CONTINUES_RE = re.compile(r"\\\\\s*(?:\[[^\]\n]{0,20}\])?\s*&?\s*=")
_LIST_MARKER_RE = re.compile(r"[ \t]*(?:[-*+•](?=[ \t])|\(?(?:\d{1,2}|[a-zA-Z])\)(?=[ \t])|#+(?=[ \t]))")

_FRAC_COMMANDS = {"frac", "dfrac", "tfrac", "cfrac"}
_TEXT_COMMANDS = {"text", "textrm", "mathrm", "mbox", "textit", "emph", "operatorname", "textsf", "mathsf",
                  "texttt", "textnormal", "hbox", "textup", "mathit"}  # fmt: skip
_TRANSPARENT_COMMANDS = {"left", "right", "bigl", "bigr", "Bigl", "Bigr", "big", "Big", "bigg", "Bigg", "biggl",
                         "biggr", "Biggl", "Biggr", "middle", "boxed", "mathbf", "textbf", "bf", "bm", "boldsymbol",
                         "displaystyle", "textstyle", "limits", "nonumber", "notag"}  # fmt: skip
_SPACE_COMMANDS = {",", ";", ":", "!", " ", "$", "\n", "\t", "&"}
_HARD_COMMANDS = {"quad", "qquad", "hspace", "vspace", "newline", "hline", "\\", "(", ")", "[", "]", "#", "&"}
_RELATION_COMMANDS = {"approx", "neq", "ne", "le", "leq", "ge", "geq", "lt", "gt", "equiv", "sim", "simeq", "cong",
                      "to", "rightarrow", "Rightarrow", "implies", "iff", "Longrightarrow", "longrightarrow",
                      "therefore", "because", "leqslant", "geqslant", "ll", "gg", "propto", "mapsto", "gets",
                      "leftarrow", "Leftarrow", "Leftrightarrow", "leftrightarrow", "approxeq", "doteq", "coloneqq",
                      "not"}  # fmt: skip
_OPERATOR_COMMANDS = {"cdot": "*", "times": "*", "ast": "*", "div": "/"}
# Function names written without a backslash: a number after them is their argument, not a term.
_FUNCTION_WORDS = {"sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
                   "log", "ln", "lg", "exp", "mod", "gcd", "lcm", "max", "min", "det", "lim", "floor", "ceil", "sqrt",
                   "abs", "round", "sum", "prod", "int", "mean", "avg", "choose"}  # fmt: skip
_WORD_OPERATORS = {"times": "*", "plus": "+", "minus": "-"}
_UNICODE_OPS = {"×": "*", "·": "*", "⋅": "*", "∗": "*", "÷": "/", "−": "-", "+": "+", "-": "-", "/": "/"}
_UNICODE_RELATIONS = set("≈≠≤≥<>→⇒∴≡≅∼≃⟹⟶↔⇔∝≪≫")
_HARD_CHARS = set(',;:.?"#`—')
_TRANSPARENT_CHARS = set("$€£¥₹&\u00a0")
_DIGITS = frozenset("0123456789")
_OPEN = {"(": "(", "[": "[", "{": "{"}
_CLOSE = {")": "(", "]": "[", "}": "{"}


def _braced(text: str, i: int) -> int | None:
    """End index (after the matching ``}``) of the group opening at ``text[i] == '{'``, None if unmatched."""
    depth = 0
    stop = min(len(text), i + MAX_GROUP_CHARS)
    for j in range(i, stop):
        ch = text[j]
        if ch == "\\":
            continue
        if ch == "{" and (j == 0 or text[j - 1] != "\\"):
            depth += 1
        elif ch == "}" and (j == 0 or text[j - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return j + 1
    return None


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[Tok] = []
        self.space = False
        self.math = 0  # depth of \( \[ $$ \begin: line breaks inside are spaces, single letters are symbols

    def emit(self, kind: str, text: str, start: int, end: int, value: Fraction | None = None, places: int = 0) -> None:
        self.toks.append(Tok(kind, text, start, end, self.space, value, places))
        self.space = False

    def last_kind(self) -> str | None:
        return self.toks[-1].kind if self.toks else None

    def run(self) -> list[Tok]:
        text, n, i = self.text, len(self.text), 0
        i = self._list_marker(0)
        while i < n:
            ch = text[i]
            if ch == "\n" or ch == "\r":
                i += 1
                if not self.math:
                    self.emit(HARD, "\n", i - 1, i)
                    i = self._list_marker(i)
                else:
                    self.space = True
                continue
            if ch.isspace() or ch in _TRANSPARENT_CHARS and ch != "$":
                self.space = True
                i += 1
                continue
            if ch == "$":
                if text.startswith("$$", i):
                    self.math = 0 if self.math else 1
                    self.emit(HARD, "$$", i, i + 2)
                    i += 2
                else:
                    self.space = True
                    i += 1
                continue
            if ch == "\\":
                i = self._command(i)
                continue
            if "0" <= ch <= "9":
                i = self._number(i)
                continue
            if ch.isalpha() and ch != "π":
                i = self._letters(i)
                continue
            i = self._symbol(i)
        return _post_process(self.toks)

    def _list_marker(self, i: int) -> int:
        """A bullet or ``1)`` / ``(a)`` label at the start of a line is not arithmetic."""
        if self.math:
            return i
        m = _LIST_MARKER_RE.match(self.text, i)
        if m is None:
            return i
        self.emit(HARD, "list", i, m.end())
        return m.end()

    def _number(self, i: int) -> int:
        text = self.text
        m = _TIME_RE.match(text, i)
        if m is not None:  # 3:45, 2:1 (a time or ratio, not a division)
            self.emit(POISON, m.group(0), i, m.end())
            return m.end()
        m = _NUMBER_RE.match(text, i)
        assert m is not None
        raw = m.group(0)
        digits = raw.replace("{,}", "").replace("\\,", "").replace(",", "")
        whole, _, frac = digits.partition(".")
        end = m.end()
        rep = _REPEATING_RE.match(text, end)
        if rep is not None:  # 0.\overline{6}, 0.(3), 0.\dot{3}: a repeating decimal
            self.emit(POISON, text[i : rep.end()], i, rep.end())
            return rep.end()
        if len(whole) + len(frac) > MAX_LITERAL_DIGITS:
            self.emit(NUM, "huge", i, m.end(), None, len(frac))
        else:
            self.emit(NUM, raw, i, m.end(), Fraction(digits), len(frac))
        return m.end()

    def _letters(self, i: int) -> int:
        text = self.text
        m = _LETTERS_RE.match(text, i)
        if m is None:  # a non-ASCII letter run: a word of some script
            j = i
            while j < len(text) and text[j].isalpha():
                j += 1
            self.emit(WORD, text[i:j].lower(), i, j)
            return j
        word = m.group(0)
        low = word.lower()
        if len(word) == 1 and (self.math or word not in ("a", "A", "I")):
            self.emit(SYM, word, i, m.end())
        elif low in _FUNCTION_WORDS or self.math:
            self.emit(POISON, low, i, m.end())  # in math mode ``ab`` is a product of symbols we do not split
        else:
            self.emit(WORD, low, i, m.end())
        return m.end()

    def _command(self, i: int) -> int:
        text = self.text
        m = _COMMAND_RE.match(text, i)
        if m is None:  # a lone backslash at the end
            self.emit(POISON, "\\", i, i + 1)
            return i + 1
        name, end = m.group(1), m.end()
        if name == "\\" and _ALIGN_CONTINUES_RE.match(text, i):  # "a &= b \\ &= c": the chain goes on
            self.space = True
            return end
        if name in ("(", "["):
            self.math += 1
            self.emit(HARD, "\\" + name, i, end)
            return end
        if name in (")", "]"):
            self.math = max(0, self.math - 1)
            self.emit(HARD, "\\" + name, i, end)
            return end
        if name in ("begin", "end"):
            j = end
            if j < len(text) and text[j] == "{":
                j = _braced(text, j) or end
            self.math = self.math + 1 if name == "begin" else max(0, self.math - 1)
            self.emit(HARD, name, i, j)
            return j
        if name in _SPACE_COMMANDS:
            self.space = True
            return end
        if name == "%":
            self.emit(PCT, "%", i, end)
            return end
        if name in ("{", "}"):
            self.emit(LP if name == "{" else RP, "\\{", i, end)
            return end
        if name in _HARD_COMMANDS:
            self.emit(HARD, name, i, end)
            if name in ("hspace", "vspace") and end < len(text) and text[end] == "{":
                return _braced(text, end) or end
            return end
        if name in _FRAC_COMMANDS:
            return self._frac(i, end)
        if name == "sqrt":
            self.emit(SQRT, "sqrt", i, end)
            return end
        if name in ("binom", "dbinom", "tbinom"):
            self.emit(BINOM, "binom", i, end)
            return end
        if name == "pi":
            self.emit(PI, "pi", i, end)
            return end
        if name in _OPERATOR_COMMANDS:
            self.emit(OP, _OPERATOR_COMMANDS[name], i, end)
            return end
        if name in _TRANSPARENT_COMMANDS:
            self.space = True
            if name in ("left", "right", "bigl", "bigr", "Bigl", "Bigr", "big", "Big", "bigg", "Bigg", "middle"):
                if end < len(text) and text[end] == ".":
                    return end + 1
                if end < len(text) and text[end] in "|\\" and not text.startswith(("\\{", "\\}"), end):
                    self.emit(POISON, "|", i, end + 1)  # \left| ... \right|, \left\lfloor ...
                    return end + 1
            return end
        if name in _TEXT_COMMANDS:
            j = end
            while j < len(text) and text[j] == " ":
                j += 1
            if j < len(text) and text[j] == "{":
                close = _braced(text, j)
                if close is None:
                    self.emit(POISON, name, i, end)
                    return end
                inner = text[j + 1 : close - 1].strip()
                if not inner:
                    self.space = True
                elif _TEXT_WORDS_RE.fullmatch(inner):
                    self.emit(WORD, " ".join(inner.lower().split()), i, close)  # a unit, a remark: prose
                else:
                    self.emit(POISON, inner[:40], i, close)
                return close
            self.emit(POISON, name, i, end)
            return end
        if name in _RELATION_COMMANDS:
            self.emit(REL, name, i, end)
            return end
        self.emit(POISON, name, i, end)  # \sin, \log, \pm, \overline, \alpha, \ldots, ... : not modelled
        return end

    def _frac(self, i: int, end: int) -> int:
        """``\\frac{a}{b}``; the shorthand ``\\frac12`` (two single digits) becomes ``\\frac{1}{2}``."""
        text = self.text
        self.emit(FRAC, "frac", i, end)
        j = end
        while j < len(text) and text[j] == " ":
            j += 1
        if j + 1 < len(text) and text[j] in _DIGITS and text[j + 1] in _DIGITS:
            for k in (j, j + 1):
                self.emit(LP, "{", k, k)
                self.emit(NUM, text[k], k, k + 1, Fraction(int(text[k])), 0)
                self.emit(RP, "{", k + 1, k + 1)
            return j + 2
        return end

    def _symbol(self, i: int) -> int:
        text = self.text
        ch = text[i]
        two = text[i : i + 2]
        if two == "**" or ch == "*":
            width = 2 if two == "**" else 1
            nxt = text[i + width : i + width + 1]
            # Markdown emphasis (``**Step 2:**``) unless it sits between two operands or stands alone
            # between spaces (emphasis hugs its text: ``3 students * $15``).
            spaced = self.space and nxt in (" ", "\t")
            if (self.last_kind() in OPERAND_END or spaced) and nxt and (nxt.isalnum() or nxt in "(-+.\\$ "):
                self.emit(OP, "^" if width == 2 else "*", i, i + width)
            else:
                self.space = True
            return i + width
        if two in ("<<", ">>", "=>", "==", "<=", ">=", "!=", "->"):
            self.emit(REL, two, i, i + 2)
            return i + 2
        if ch == "^":
            m = _DEGREE_RE.match(text, i)
            if m is not None:
                self.emit(DEG, "deg", i, m.end())
                return m.end()
            self.emit(OP, "^", i, i + 1)
            return i + 1
        if ch in "²³":
            self.emit(OP, "^", i, i)
            self.emit(NUM, "2" if ch == "²" else "3", i, i + 1, Fraction(2 if ch == "²" else 3), 0)
            return i + 1
        if ch == "°":
            self.emit(DEG, "deg", i, i + 1)
            return i + 1
        if ch == "π":
            self.emit(PI, "pi", i, i + 1)
            return i + 1
        if ch == "√":
            self.emit(SQRT, "√", i, i + 1)
            return i + 1
        if ch in _UNICODE_OPS:
            self.emit(OP, _UNICODE_OPS[ch], i, i + 1)
            return i + 1
        if ch == "=":
            self.emit(EQ, "=", i, i + 1)
            return i + 1
        if ch in _UNICODE_RELATIONS or ch == "~":
            self.emit(REL, ch, i, i + 1)
            return i + 1
        if ch in _OPEN:
            self.emit(LP, _OPEN[ch], i, i + 1)
            return i + 1
        if ch in _CLOSE:
            self.emit(RP, _CLOSE[ch], i, i + 1)
            return i + 1
        if ch == "%":
            self.emit(PCT, "%", i, i + 1)
            return i + 1
        if ch == "!":
            self.emit(BANG, "!", i, i + 1)
            return i + 1
        if text.startswith("...", i) or ch == "…":
            width = 3 if ch == "." else 1
            self.emit(POISON, "...", i, i + width)
            return i + width
        if ch in _HARD_CHARS:
            self.emit(HARD, ch, i, i + 1)
            return i + 1
        if ord(ch) < 32 or ord(ch) == 127:
            self.emit(HARD, "ctrl", i, i + 1)
            return i + 1
        self.emit(POISON, ch, i, i + 1)  # | _ ' @ – and anything else we do not model
        return i + 1


def _post_process(toks: list[Tok]) -> list[Tok]:
    """Context rules that need both neighbours: word operators, ``x`` as times, ``% of``, ``!``."""
    out: list[Tok] = []
    n = len(toks)
    for k, t in enumerate(toks):
        prev = out[-1] if out else None
        nxt = toks[k + 1] if k + 1 < n else None
        prev_end = prev is not None and prev.kind in OPERAND_END
        if t.kind == WORD and t.text in _WORD_OPERATORS and prev_end and nxt is not None and nxt.kind in (NUM, LP):
            t = Tok(OP, _WORD_OPERATORS[t.text], t.start, t.end, True)
        elif t.kind == WORD and t.text == "of" and prev is not None and prev.kind == PCT:
            t = Tok(OP, "*", t.start, t.end, True)
        elif t.kind == WORD and t.text in ("percent", "per cent") and prev is not None and prev.kind == NUM:
            t = Tok(PCT, "%", t.start, t.end, t.space)
        elif (
            t.kind == SYM
            and t.text in ("x", "X")
            and prev is not None
            and prev.kind in (NUM, RP)
            and nxt is not None
            and nxt.kind == NUM
        ):
            t = Tok(OP, "*", t.start, t.end, t.space)
        elif t.kind == BANG:
            follower = nxt.kind if nxt is not None else None
            if not prev_end:
                t = Tok(HARD, "!", t.start, t.end, t.space)
            elif follower not in (EQ, OP, RP, PCT, BANG) and follower not in (REL,):
                # ``= 5!`` at a sentence end, ``6! ways``: an exclamation or a factorial? Unknowable.
                t = Tok(POISON, "!", t.start, t.end, t.space)
        out.append(t)
    return out


def tokenize(text: str) -> list[Tok]:
    """Tokens of ``text``; never raises on any input string."""
    return _Lexer(text).run()
