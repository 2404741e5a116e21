"""A small first-order-logic parser for FOLIO-style formulas (unicode or ASCII) into a plain AST.

Why our own parser: the formulas come from datasets and from model output, and text from a model is data,
never code. Nothing here evaluates text; the AST is built by hand and later turned into z3 terms by explicit
API calls (:mod:`prmlabel.verifiers.z3_check`), so no string ever reaches ``eval`` or an SMT-LIB reader.

Syntax (both spellings may be mixed):

    quantifiers   ∀x F   ∃x F   ∀x ∀y F   ∀x,y F   ∀x. F   ∀x: F   forall x F   exists x F
    connectives   ¬ ~ ! not       ∧ & && /\\ and      ∨ | || \\/ or      ⊕ ^ ⊻ xor
                  → -> => ⇒ implies      ↔ <-> <=> ⟷ ⇔ iff
    atoms         Pred(a, b)  (a predicate of any arity, names may hold digits, _ - . ' ’ and a final +),
                  P (a propositional atom), a = b, a ≠ b, ⊤, ⊥; terms may be nested f(a)

Precedence, tightest first: ¬ and quantifiers (a quantifier's scope is the next unary formula, usually a
parenthesised group), ∧, ∨, ⊕, →, ↔; ∧ ∨ ⊕ ↔ group to the left, → to the right. So
``A ⊕ B → C ⊕ D`` is ``(A ⊕ B) → (C ⊕ D)``, as FOLIO writes it.

Variables are the names a quantifier binds; every other term is a constant, except that an unbound name
that looks like a variable (``u`` .. ``z`` with optional digits) is universally closed over the formula.

Repairs for FOLIO's quirks, some recorded in :attr:`Parsed.repairs`: a comma between formulas reads as ∧,
a constant written with spaces (``captain america``) as one name joined by ``_``; an unmatched ``)`` is dropped and a
missing ``)`` appended; when a quantifier's narrow scope would leave its own variable free further right
(``∀x (A(x) ∧ B(x)) → C(x)``) the formula is re-read with wide scopes; a trailing ``.`` is ignored.
FLDx2's notation (``{A}{a}``, ``(x): F``, ``v``; :mod:`prmlabel.verifiers.fld_syntax`) is rewritten into
this syntax first. Limits (length, nesting depth) make hostile input a :class:`FolParseError`, never a hang or a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prmlabel.verifiers.fld_syntax import fld_to_fol, is_fld
from prmlabel.verifiers.fol_ast import (
    Atom,
    Const,
    Eq,
    FolParseError,
    Formula,
    Not,
    Op,
    Quant,
    Term,
    depth,
    free_variables,
    leaks,
)

MAX_CHARS = 20_000
MAX_DEPTH = 200
MAX_ARITY = 16


@dataclass(frozen=True)
class Parsed:
    formula: Formula
    repairs: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------------------
# Lexer
# ------------------------------------------------------------------------------------------------------

_SYMBOLS: list[tuple[str, str]] = [
    ("<->", "iff"), ("<=>", "iff"), ("↔", "iff"), ("⟷", "iff"), ("⇔", "iff"), ("⟺", "iff"),
    ("->", "implies"), ("=>", "implies"), ("→", "implies"), ("⇒", "implies"), ("⟶", "implies"), ("⟹", "implies"),
    ("&&", "and"), ("/\\", "and"), ("∧", "and"), ("&", "and"),
    ("||", "or"), ("\\/", "or"), ("∨", "or"), ("|", "or"),
    ("⊕", "xor"), ("⊻", "xor"), ("^", "xor"),
    ("!=", "neq"), ("≠", "neq"), ("¬", "not"), ("~", "not"), ("!", "not"), ("=", "eq"),
    ("∀", "forall"), ("∃", "exists"), ("⊤", "true"), ("⊥", "false"),
    ("(", "("), (")", ")"), (",", ","), (".", "."), (":", ":"),
]  # fmt: skip
_KEYWORDS = {"forall": "forall", "exists": "exists", "not": "not", "and": "and", "or": "or", "xor": "xor",
             "implies": "implies", "iff": "iff"}  # fmt: skip
# A name: word characters, joined by - . ' ’ (e.g. Eco-friendlyBrand, mr.smith, Companies’Stocks), then +'s.
_NAME_RE = re.compile(r"\w+(?:[-.'’]\w+)*\+*")
_PLAIN_NAME_RE = re.compile(r"\w+")  # a quantified variable: ``∀x.P(x)`` must not read ``x.P`` as one name


@dataclass(frozen=True)
class _Tok:
    kind: str  # "name" or an operator / punctuation kind
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    after_quantifier = False
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        m = (_PLAIN_NAME_RE if after_quantifier else _NAME_RE).match(text, i)
        if m is not None:
            word = m.group(0)
            kind = _KEYWORDS.get(word, "name")
            toks.append(_Tok(kind, word, i))
            after_quantifier = kind in ("forall", "exists")
            i = m.end()
            continue
        for sym, kind in _SYMBOLS:
            if text.startswith(sym, i):
                toks.append(_Tok(kind, sym, i))
                after_quantifier = kind in ("forall", "exists")
                i += len(sym)
                break
        else:
            shown = repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"
            raise FolParseError(f"unexpected character {shown} at {i}")
    return toks


# ------------------------------------------------------------------------------------------------------
# Parser (precedence climbing; recursion bounded by MAX_DEPTH)
# ------------------------------------------------------------------------------------------------------

_PREC = {"iff": 1, "implies": 2, "xor": 3, "or": 4, "and": 5}  # loosest first


class _Parser:
    def __init__(self, toks: list[_Tok], wide: bool) -> None:
        self.toks = toks
        self.i = 0
        self.wide = wide
        self.depth = 0

    def peek(self, k: int = 0) -> _Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def kind(self, k: int = 0) -> str | None:
        t = self.peek(k)
        return t.kind if t else None

    def take(self, kind: str) -> _Tok:
        t = self.peek()
        if t is None or t.kind != kind:
            where = f"{t.text!r} at {t.pos}" if t else "end of formula"
            raise FolParseError(f"expected {kind!r}, found {where}")
        self.i += 1
        return t

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FolParseError(f"formula nested deeper than {MAX_DEPTH}")

    def parse(self) -> Formula:
        f = self.binary()
        t = self.peek()
        if t is not None:
            raise FolParseError(f"unexpected {t.text!r} at {t.pos}")
        return f

    def binop(self) -> str | None:
        k = self.kind()
        if k == ",":  # FOLIO once writes a comma for a conjunction: ``(A(x), B(x) → C(x))``
            return "and"
        return k if k in _PREC else None

    def binary(self, min_prec: int = 1) -> Formula:
        """Precedence climbing: a chain ``a ∧ b ∧ ...`` is a loop, so Python frames grow only with nesting."""
        left = self.unary()
        while (op := self.binop()) is not None and _PREC[op] >= min_prec:
            self.i += 1
            if op == "implies":  # right-associative: a -> b -> c == a -> (b -> c)
                self.enter()
                try:
                    right = self.binary(_PREC[op])
                finally:
                    self.depth -= 1
            else:
                right = self.binary(_PREC[op] + 1)
            if op in ("implies", "iff"):
                left = Op(op, (left, right))
            else:
                head = left.args if isinstance(left, Op) and left.op == op else (left,)
                left = Op(op, (*head, right))
        return left

    def unary(self) -> Formula:
        self.enter()
        try:
            k = self.kind()
            if k == "not":
                self.i += 1
                return Not(self.unary())
            if k in ("forall", "exists"):
                return self.quantified()
            if k == "(":
                self.i += 1
                f = self.binary()
                self.take(")")
                return f
            if k in ("true", "false"):
                self.i += 1
                return Const(k == "true")
            if k == "name":
                return self.atom()
            t = self.peek()
            raise FolParseError(f"unexpected {t.text!r} at {t.pos}" if t else "formula ends too early")
        finally:
            self.depth -= 1

    def quantified(self) -> Formula:
        kind = self.take(self.kind() or "forall").kind
        names = [self.take("name").text]
        while self.kind() == "," and self.kind(1) == "name":
            self.i += 1
            names.append(self.take("name").text)
        if self.kind() in (".", ":"):
            self.i += 1
        body = self.binary() if self.wide else self.unary()
        for name in reversed(names):
            body = Quant(kind, name, body)
        return body

    def term(self) -> Term:
        self.enter()
        try:
            name = self.take("name").text
            while self.kind() == "name":  # a constant written with spaces: ``captain america``
                name += "_" + self.take("name").text
            if self.kind() != "(":
                return Term(name)
            return Term(name, self.arguments())
        finally:
            self.depth -= 1

    def arguments(self) -> tuple[Term, ...]:
        self.take("(")
        args = [self.term()]
        while self.kind() == ",":
            self.i += 1
            args.append(self.term())
        self.take(")")
        if len(args) > MAX_ARITY:
            raise FolParseError(f"more than {MAX_ARITY} arguments")
        return tuple(args)

    def atom(self) -> Formula:
        name = self.take("name").text
        if self.kind() == "(":
            left: Term | None = None
            args = self.arguments()
            if self.kind() not in ("eq", "neq"):
                return Atom(name, args)
            left = Term(name, args)
        else:
            if self.kind() not in ("eq", "neq"):
                return Atom(name)
            left = Term(name)
        neg = self.take(self.kind() or "eq").kind == "neq"
        eq = Eq(left, self.term())
        return Not(eq) if neg else eq


# ------------------------------------------------------------------------------------------------------
# Entry point
# ------------------------------------------------------------------------------------------------------


def _balance(text: str) -> tuple[str, list[str]]:
    """Drop unmatched ``)`` and append missing ones (FOLIO has both slips)."""
    out: list[str] = []
    depth = dropped = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                dropped += 1
                continue
            depth -= 1
        out.append(ch)
    repairs = []
    if dropped:
        repairs.append(f"dropped {dropped} unmatched ')'")
    if depth:
        repairs.append(f"appended {depth} missing ')'")
    return "".join(out) + ")" * depth, repairs


def _read(toks: list[_Tok], wide: bool) -> Formula:
    formula = _Parser(toks, wide=wide).parse()
    if depth(formula) > MAX_DEPTH:  # before any recursive walk over the tree
        raise FolParseError(f"formula nested deeper than {MAX_DEPTH}")
    return formula


def parse_fol(text: str, repair: bool = True) -> Parsed:
    """Parse one formula; :class:`FolParseError` if it cannot be read (never any other exception)."""
    if not isinstance(text, str):
        raise FolParseError(f"a formula must be text, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise FolParseError(f"formula longer than {MAX_CHARS} characters")
    src = text.strip().rstrip(".;").strip()
    if not src:
        raise FolParseError("empty formula")
    repairs: list[str] = []
    if is_fld(src):  # FLDx2's notation (FoVer's problems): rewritten token by token, then parsed as usual
        src = fld_to_fol(src)
    if repair:
        src, more = _balance(src)
        repairs.extend(more)
    toks = _tokenize(src)
    try:
        formula = _read(toks, wide=False)
        if repair and leaks(formula):
            wide = _read(toks, wide=True)
            if not leaks(wide):
                formula = wide
                repairs.append("widened quantifier scope")
    except RecursionError as exc:  # defensive: MAX_DEPTH keeps well below Python's limit
        raise FolParseError("formula nested too deeply") from exc
    for var in reversed(free_variables(formula)):
        formula = Quant("forall", var, formula)
    return Parsed(formula, tuple(repairs))
