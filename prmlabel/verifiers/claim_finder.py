"""Find the equality claims in a step: maximal runs of math tokens that hold ``=``, cut at each ``=``.

Why the boundary rules: a run of math inside prose may be only the tail of a larger expression. In
``1/3 of 18 = 6`` the math run left of ``=`` is ``18``, and judging ``18 = 6`` would be a false "wrong",
which is worse than a missed check. So a side is dropped (the claim skipped) when:

- the left side follows an operator-like word (``of``, ``times``, ``half``, ``than``, ``by`` ...), or a
  construct we do not model (``\\sin``, ``|``, ``\\ldots``, ``_``);
- the left side is a bare literal or starts with a sign and follows any word (``5 apples + 3 = 8``);
- the right side is followed by a word that changes its value (``= 1.5 million``, ``= 17 remainder 9``,
  ``= 33 (rounded down)``, ``= 2 and 1/2``, ``= 3 times ...``) or by an unmodelled construct;
- a middle element of a chain has unbalanced brackets.

A leading unmatched ``(`` of the first side and a trailing unmatched ``)`` of the last side are cut off
(``(so 3 + 4 = 7)``); a trailing `` (`` opening a remark is cut (``= 10 (apples)``). GSM8K calculator
annotations ``<<48/2=24>>`` are read as claims of their own and removed from the text, so
``48/2 = <<48/2=24>>24 clips`` also yields the claim ``48/2 = 24`` written outside them.

Units and remarks after a number (``495 students * $15/student``, ``7995 (total cookies) - 2595``) are
dropped and remembered on the number, so a sum of different units (``4 quarters + 3 dimes``) and a unit
conversion (``1 inch = 40 miles``) can be refused. A quantity named again right away (``Total = 52 + 24.
Total = 76``) continues its chain.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from prmlabel.verifiers.math_tokens import (
    DEG,
    EQ,
    FRAC,
    HARD,
    LP,
    MATH_KINDS,
    NUM,
    OP,
    PCT,
    POISON,
    REL,
    RP,
    WORD,
    Tok,
    tokenize,
)

_ANNOTATION_RE = re.compile(r"<<([^<>\n]{1,400})>>")
_ASSIGNMENT_RE = re.compile(r"(?<![A-Za-z\\])([A-Za-z])\s*=\s*[-−]?\s*\$?(?:\d|\\d?frac|\\sqrt)")

LHS_BLOCK = {
    "of", "times", "twice", "thrice", "half", "double", "triple", "quadruple", "by", "than", "plus", "minus",
    "divided", "multiplied", "over", "into", "per", "squared", "cubed", "root", "third", "thirds", "quarter",
    "quarters", "fourth", "fourths", "fifth", "fifths", "sixth", "tenth", "tenths", "percent", "off", "from",
    "product", "quotient", "sum", "difference", "factorial", "power", "exponent", "log", "sqrt",
}  # fmt: skip
RHS_BLOCK = {
    "times", "plus", "minus", "divided", "multiplied", "over", "squared", "cubed", "of", "remainder", "rem",
    "r", "with", "thousand", "thousands", "million", "millions", "billion", "billions", "trillion", "hundred",
    "hundreds", "dozen", "dozens", "half", "quarter", "point", "to", "out", "approximately", "approx",
    "about", "roughly", "nearly", "around", "rounded", "round", "rounding", "repeating", "recurring",
    "than", "factorial", "power", "th", "nd", "rd", "st", "k", "m", "bn", "mn",
    "percent", "plus/minus",
}  # fmt: skip
# Words near a result that make it an integer quotient or an approximation, not an equality.
QUOTIENT_WORDS = {
    "remainder", "remainders", "quotient", "rem", "r", "with", "full", "whole", "complete", "approximately",
    "approx", "about", "roughly", "nearly", "around", "rounded", "round", "rounding", "truncated", "estimate",
    "estimated", "leftover", "left",
}  # fmt: skip
UNITS = {
    "kg", "g", "mg", "cm", "mm", "km", "m", "ml", "l", "hr", "hrs", "h", "min", "mins", "s", "sec", "secs", "lb",
    "lbs", "oz", "ft", "in", "yd", "mi", "am", "pm", "mph", "c", "f", "pcs", "x",
}  # fmt: skip
# Words after a number that are not its unit: they change its value or start a new phrase.
_NOT_UNITS = {
    "and", "or", "the", "is", "are", "was", "were", "to", "for", "in", "on", "at", "so", "then", "which", "that",
    "we", "he", "she", "it", "they", "each", "every", "a", "an", "as", "if", "but", "be", "gives", "makes",
    "equals", "dozen", "dozens", "hundred", "hundreds", "thousand", "thousands", "million", "millions", "billion",
    "billions", "trillion", "score", "k", "m", "bn", "mn", "percent", "hour's", "more", "less", "fewer", "left",
    "total", "altogether", "together", "combined", "all", "remaining", "per",
} | LHS_BLOCK | RHS_BLOCK | QUOTIENT_WORDS  # fmt: skip
WINDOW = 10
_FRACTION_WORDS = {"half", "third", "quarter", "fourth", "fifth", "sixth", "tenth"}
MAX_CLAIMS = 200
_DELIMITERS = {"\\)", "\\]", "$$", "quad", "qquad"}
_SENTENCE_STOPS = {",", ".", ";", ":", "?", "!", "\n", "list", "ctrl"}
_WORDS_RE = re.compile(r"[a-z]+")
_EQUATION_RE = re.compile(
    r"\b(?:equations?|solv\w*|both\s+sides|set|setting|equate|equating|equal\s+to\s+each|roots?|zeros?|"
    r"substitut\w*|plug\w*|satisf\w*|when|if|unknown)\b|\\implies|\\Rightarrow|\\iff|=>|⇒",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Element:
    """One side of a claim: its tokens and its source text."""

    toks: tuple[Tok, ...]
    text: str
    linked: bool = False  # carried over from an earlier "Name = ..." (see _continue_named)
    tail_unit: str = ""  # the unit word right after a chain's last side ("= 40 miles")

    @property
    def units(self) -> frozenset[str]:
        return frozenset([t.unit for t in self.toks if t.unit] + ([self.tail_unit] if self.tail_unit else []))


Chain = list["Element | None"]  # adjacent elements form claims; None marks an element that cannot be used


def _last_word(tok: Tok) -> str:
    return tok.text.split()[-1] if tok.text else ""


def _first_word(tok: Tok) -> str:
    return tok.text.split()[0] if tok.text else ""


def _element(piece: str, toks: list[Tok]) -> Element | None:
    if not toks:
        return None
    start = toks[0].start
    for sign in ("\\$", "$"):  # show the currency sign the side starts with: "$1,000 + $2,500"
        if piece[max(0, start - len(sign)) : start] == sign:
            start -= len(sign)
            break
    return Element(tuple(toks), " ".join(piece[start : toks[-1].end].split()))


def _balanced(toks: list[Tok]) -> bool:
    stack: list[str] = []
    for t in toks:
        if t.kind == LP:
            stack.append(t.text)
        elif t.kind == RP:
            if not stack or stack.pop() != t.text:
                return False
    return not stack


def _first_side(toks: list[Tok], prev: Tok | None, prev2: Tok | None) -> list[Tok] | None:
    """The usable part of a chain's first element, or None. See the module docstring."""
    stack: list[int] = []
    for k, t in enumerate(toks):
        if t.kind == LP:
            stack.append(k)
        elif t.kind == RP:
            if not stack or toks[stack.pop()].text != t.text:
                return None
    if stack:  # "(so 3 + 4 = 7": the opener belongs to the prose around the claim
        return toks[stack[-1] + 1 :] or None
    if not toks or prev is None or prev.kind in (HARD, REL):
        return toks or None
    if prev.kind == POISON:
        return None
    if prev.kind == WORD:
        if _last_word(prev) in LHS_BLOCK:
            return None
        operands = [t for t in toks if t.kind not in (PCT, DEG)]
        if len(operands) == 1 or (toks[0].kind == OP and toks[0].text in "+-"):
            return None
        if prev2 is not None and prev2.kind == NUM and _unit_word(prev):  # "1 hour 30 + 15 = 45": compound
            return None
    return toks


def _last_side(toks: list[Tok], after: list[Tok]) -> list[Tok] | None:
    """The usable part of a chain's last element, or None; ``after`` are the tokens after the run."""
    stack: list[int] = []
    cut = len(toks)
    for k, t in enumerate(toks):
        if t.kind == LP:
            stack.append(k)
        elif t.kind == RP:
            if not stack:  # "... = 7)": the closer belongs to the prose around the claim
                cut = k
                break
            if toks[stack.pop()].text != t.text:
                return None
    else:
        if stack:  # "= 10 (apples": a remark opens; "= 2(3 + x": not a remark, refuse
            if not (toks[stack[0]].space and toks[stack[0]].text == "("):
                return None
            cut = stack[0]
    side = toks[:cut]
    if not side or not _balanced(side) or not _follower_ok(toks[cut:] + after):
        return None
    return side


def _follower_ok(following: list[Tok]) -> bool:
    """May the text after a chain's last side leave its value alone? See the module docstring."""
    immediate = following[0] if following else None
    if immediate is not None:
        if immediate.kind == POISON:
            return False
        if immediate.kind == WORD and not immediate.space and _first_word(immediate) not in UNITS:
            return False  # "= 3ab", "= 5k": letters glued to the number
    content = [t for t in following if t.kind not in (LP, RP) and not (t.kind == HARD and t.text in _DELIMITERS)]
    if content and content[0].kind == WORD:
        word = _first_word(content[0])
        if word in RHS_BLOCK:
            return False
        nxt = content[1] if len(content) > 1 else None
        after = content[2] if len(content) > 2 else None
        if word == "and" and _fraction_follows(nxt, after):  # a mixed number: 2 and 1/2, 2 and a half
            return False
        if word in ("more", "less", "fewer") and nxt is not None and nxt.kind == WORD and _first_word(nxt) == "than":
            return False
    for t in following[:WINDOW]:
        if t.kind in (EQ, REL) or (t.kind == HARD and t.text in _SENTENCE_STOPS):
            break
        if t.kind in (WORD, POISON) and set(_WORDS_RE.findall(t.text.lower())) & QUOTIENT_WORDS:
            return False  # "= 17 with a remainder of 9", "= 2 \quad (quotient)", "= 6 full rotations"
    return True


def _unit_word(tok: Tok) -> bool:
    """A word that can name what a number counts (``eggs``, ``pounds/book``, ``(homework)``)."""
    if tok.kind != WORD:
        return False
    text = tok.text
    if text.startswith("(") and text.endswith(")"):
        return True  # a remark: "7995 (total cookies)"
    words = text.replace("/", " ").split()
    return bool(words) and not any(w in _NOT_UNITS or not w.isalpha() for w in words)


def _drop_units(toks: list[Tok]) -> list[Tok]:
    """``495 students * $15/student = $7455`` -> ``495 * 15 = 7455``: a unit or remark after a number is
    dropped when an operator, ``=`` or a closing bracket follows it, and recorded on the number."""
    out: list[Tok] = []
    n, i = len(toks), 0
    while i < n:
        t = toks[i]
        i += 1
        if t.kind != NUM:
            out.append(t)
            continue
        j, units = i, []
        while j < n:
            u = toks[j]
            if _unit_word(u):
                units.append(u.text)
                j += 1
            elif u.kind == OP and u.text == "/" and j + 1 < n and _unit_word(toks[j + 1]):
                j += 2
            elif u.kind == LP and u.text == "(":
                k = j + 1
                while k < n and toks[k].kind == WORD:
                    k += 1
                if k == j + 1 or k >= n or toks[k].kind != RP or toks[k].text != "(":
                    break
                j = k + 1
            else:
                break
        if j > i and j < n and toks[j].kind in (OP, EQ, RP):
            named = [w for w in units if not w.startswith("(")]
            out.append(dataclasses.replace(t, unit=_singular(named[0]) if named else ""))
            out.append(dataclasses.replace(toks[j], space=True))
            i = j + 1
            continue
        out.append(t)
    return out


def _singular(word: str) -> str:
    word = word.split("/")[0].split()[-1] if word.split("/")[0].split() else word
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _mixed_units(toks: list[Tok]) -> bool:
    """``4 quarters + 3 dimes``: adding numbers of different units is not arithmetic we can check."""
    if not any(t.kind == OP and t.text in "+-" for t in toks):
        return False
    return len({t.unit for t in toks if t.kind == NUM and t.unit}) > 1


def _name_before(toks: list[Tok], i: int) -> tuple[str, int]:
    """The words naming a quantity right before index ``i`` (``Total fruits =``), and where they start."""
    words: list[str] = []
    k = i - 1
    while k >= 0 and (toks[k].kind == WORD or (toks[k].kind == POISON and toks[k].text in ("'", "’"))):
        if toks[k].kind == WORD:
            words.append(toks[k].text)
        k -= 1
    return " ".join(reversed(words)), k + 1


def _fraction_follows(nxt: Tok | None, after: Tok | None) -> bool:
    """``1/2``, ``\\frac{1}{2}`` or ``a half`` next: the number before ``and`` is a mixed number's whole part."""
    if nxt is None:
        return False
    if nxt.kind == FRAC:
        return True
    if nxt.kind == NUM:
        return after is not None and after.kind == OP and after.text == "/"
    return nxt.kind == WORD and nxt.text == "a" and after is not None and _first_word(after) in _FRACTION_WORDS


def _chains_in(piece: str) -> list[Chain]:
    toks = _drop_units(tokenize(piece))
    chains: list[Chain] = []
    named: dict[str, tuple[int, Element]] = {}  # name -> (end of its run, its last element)
    n, i = len(toks), 0
    while i < n:
        if toks[i].kind not in MATH_KINDS:
            i += 1
            continue
        j = i
        while j < n and toks[j].kind in MATH_KINDS:
            j += 1
        run = toks[i:j]
        if any(t.kind == EQ for t in run):
            parts: list[list[Tok]] = [[]]
            for t in run:
                if t.kind == EQ:
                    parts.append([])
                else:
                    parts[-1].append(t)
            prev = toks[i - 1] if i > 0 else None
            prev2 = toks[i - 2] if i > 1 else None
            chain: Chain = []
            for k, part in enumerate(parts):
                if k == 0:
                    side = _first_side(part, prev, prev2)
                elif k == len(parts) - 1:
                    side = _last_side(part, toks[j : j + WINDOW])
                else:
                    side = part if part and _balanced(part) else None
                if side is not None and _mixed_units(side):
                    side = None
                element = _element(piece, side) if side else None
                if element is not None and k == len(parts) - 1 and j < n and _unit_word(toks[j]):
                    if not toks[j].text.startswith("("):
                        element = dataclasses.replace(element, tail_unit=_singular(toks[j].text))
                chain.append(element)
            if not parts[0]:
                chain = _continue_named(toks, i, j, chain, named)
            chains.append(chain)
        i = j
    return chains


def _continue_named(toks: list[Tok], i: int, j: int, chain: Chain, named: dict[str, tuple[int, Element]]) -> Chain:
    """``Total = 52 + 24 + 44 + 48. Total = 178``: a quantity named again right away, with one new value,
    continues its chain. The claim finder marks the carried element ``linked``: if the new value is an
    expression that does not match, the writer may have started a partial computation, so only a bare
    value can prove such a link wrong."""
    name, start = _name_before(toks, i)
    if not name:
        return chain
    before = named.get(name)
    last = chain[-1]
    if last is not None and len(chain) >= 2:
        named[name] = (j, last)
    else:
        named.pop(name, None)
    if before is None:
        return chain
    end, element = before
    if len(chain) == 2 and all(t.kind == HARD for t in toks[end:start]) and not _is_bare_element(element):
        return [dataclasses.replace(element, linked=True), chain[1]]
    return chain


def _is_bare_element(element: Element) -> bool:
    return len([t for t in element.toks if t.kind not in (PCT, DEG)]) == 1


def find_chains(text: str) -> list[Chain]:
    """The claim chains of a step: GSM8K annotations first, then the text with them removed."""
    chains: list[Chain] = []
    for m in _ANNOTATION_RE.finditer(text):
        chains.extend(_chains_in(m.group(1)))
    chains.extend(_chains_in(_ANNOTATION_RE.sub("", text)))
    return chains


def equation_context(text: str) -> bool:
    """Does the step solve or set up an equation (``solve``, ``both sides``, ``set ... equal``, ``\\implies``,
    ``so x = 4``)? Then a polynomial claim in it is an equation, not a claimed identity, and is skipped."""
    return _EQUATION_RE.search(text) is not None or _ASSIGNMENT_RE.search(text) is not None
