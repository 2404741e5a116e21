"""A whitelist grammar for one side of a claim: tokens -> a small tuple AST. Nothing is ever evaluated here.

Why our own parser: model text is data, never code (no ``eval``, no ``sympify``, no sympy parsers). The
grammar (precedence climbing, bounded recursion) accepts numbers, single-letter symbols, ``\\pi``,
``+ - * / ^ ** × ÷ \\cdot \\times \\div``, brackets and braces, ``\\frac{a}{b}``, ``\\sqrt{a}``,
``\\sqrt[n]{a}``, ``√a``, ``\\binom{n}{k}``, postfix ``%``, ``!`` and degrees, and implicit products.

Where a human reader could hesitate, the parser refuses (:class:`Unparseable`, the claim is skipped) rather
than pick a reading, because a wrong reading would turn into a false "wrong" verdict:

- ``2 1/2``, ``2\\frac{1}{2}`` (a mixed number or a product?), ``12 (3+4)`` with a space, ``x2``;
- ``1/2x`` and ``6/2(1+2)`` (does the implicit product bind tighter than ``/``?);
- ``-3^2`` (most people mean 9 when they write it, the convention says -9);
- ``f(x)`` (a function application, not ``f`` times ``x``);
- ``\\sqrt 16`` (LaTeX reads ``\\sqrt1 6``) and other unbraced multi-digit LaTeX arguments.

AST nodes are tuples: ``("num", Fraction, places)``, ``("sym", name)``, ``("pi",)``, ``("neg", a)``,
``("add"|"sub"|"mul"|"div"|"pow", a, b)``, ``("pct", a)``, ``("fact", a)``, ``("root", a, n)``,
``("binom", n, k)``. Size guards raise :class:`LimitExceeded` (the claim becomes ``unverifiable: limit``).
"""

from __future__ import annotations

from fractions import Fraction

from prmlabel.verifiers.math_tokens import (
    BANG,
    BINOM,
    DEG,
    FRAC,
    LP,
    NUM,
    OP,
    OPERAND_START,
    PCT,
    PI,
    RP,
    SQRT,
    SYM,
    Tok,
)

MAX_SIDE_TOKENS = 400
MAX_DEPTH = 60
MAX_ROOT_INDEX = 64

Node = tuple


class Unparseable(ValueError):
    """Not an expression this grammar reads unambiguously: the claim is skipped, never judged."""


class LimitExceeded(ValueError):
    """A size guard tripped (literal, nesting, token count, result size): the claim is ``limit``."""


def _implicit_ok(prev: Tok, nxt: Tok) -> bool:
    """May ``prev`` and ``nxt`` stand side by side as a product? See the module docstring for why not."""
    pk, nk = prev.kind, nxt.kind
    latex_group = pk == RP and prev.text == "{"  # the end of \frac{..}{..}, \sqrt{..}: spaces mean nothing
    if nk in (SQRT, PI):
        return pk in (NUM, SYM, RP, PI)
    if nk == FRAC:
        return pk in (SYM, RP, PI)  # never a number: 2\frac{1}{2} may be a mixed number
    if nk == BINOM:
        return pk in (NUM, RP)
    if nk == SYM:
        return (pk in (NUM, RP) and not nxt.space) or pk == PI or latex_group
    if nk == LP:
        return nxt.text == "(" and ((pk == NUM and not nxt.space) or pk in (RP, PI))
    return False


class _Parser:
    def __init__(self, toks: list[Tok]) -> None:
        self.toks = toks
        self.i = 0
        self.depth = 0

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LimitExceeded(f"expression nested deeper than {MAX_DEPTH}")

    def expr(self) -> Node:
        self.enter()
        node = self.term()
        while (t := self.peek()) is not None and t.kind == OP and t.text in "+-":
            self.i += 1
            node = ("add" if t.text == "+" else "sub", node, self.term())
        self.depth -= 1
        return node

    def term(self) -> Node:
        node = self.unary()
        slash = False
        while (t := self.peek()) is not None:
            if t.kind == OP and t.text in "*/":
                self.i += 1
                if t.text == "/":
                    slash = True
                    node = ("div", node, self.unary())
                else:
                    node = ("mul", node, self.unary())
            elif t.kind in OPERAND_START:
                if not _implicit_ok(self.toks[self.i - 1], t):
                    raise Unparseable(f"{self.toks[self.i - 1].text!r} next to {t.text!r} is not a clear product")
                if slash:
                    raise Unparseable("a/b c: does the implicit product bind tighter than '/'?")
                node = ("mul", node, self.unary())
            else:
                break
        return node

    def unary(self) -> Node:
        t = self.peek()
        if t is not None and t.kind == OP and t.text in "+-":
            self.i += 1
            self.enter()
            operand = self.unary()
            self.depth -= 1
            if operand[0] == "pow" and operand[1][0] == "num":
                raise Unparseable("-3^2: the reader may mean (-3)^2")
            return ("neg", operand) if t.text == "-" else operand
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        t = self.peek()
        if t is not None and t.kind == OP and t.text == "^":
            self.i += 1
            self.enter()
            exponent = self.unary()  # right-associative: 2^3^2 = 2^(3^2)
            self.depth -= 1
            return ("pow", base, exponent)
        return base

    def postfix(self) -> Node:
        node = self.primary()
        while (t := self.peek()) is not None and t.kind in (BANG, PCT, DEG):
            if t.kind == BANG and t.space:
                raise Unparseable("a detached '!'")
            self.i += 1
            if t.kind == BANG:
                node = ("fact", node)
            elif t.kind == PCT:
                node = ("pct", node)
        return node

    def primary(self) -> Node:
        t = self.peek()
        if t is None:
            raise Unparseable("the expression ends early")
        self.i += 1
        if t.kind == NUM:
            if t.value is None:
                raise LimitExceeded("a number literal longer than the digit limit")
            return ("num", t.value, t.places)
        if t.kind == SYM:
            nxt = self.peek()
            if nxt is not None and nxt.kind == LP and not nxt.space:
                raise Unparseable(f"{t.text}(...) reads as a function application")
            return ("sym", t.text)
        if t.kind == PI:
            return ("pi",)
        if t.kind == LP:
            return self.bracketed(t)
        if t.kind == FRAC:
            return ("div", self.group(latex=True), self.group(latex=True))
        if t.kind == SQRT:
            index = 2
            nxt = self.peek()
            if t.text == "sqrt" and nxt is not None and nxt.kind == LP and nxt.text == "[":
                self.i += 1
                idx = self.bracketed(nxt)
                if idx[0] != "num" or idx[1].denominator != 1 or not 2 <= idx[1] <= MAX_ROOT_INDEX:
                    raise Unparseable("a root index must be a small whole number")
                index = int(idx[1])
            return ("root", self.group(latex=t.text == "sqrt"), index)
        if t.kind == BINOM:
            return ("binom", self.group(latex=True), self.group(latex=True))
        raise Unparseable(f"unexpected {t.text!r}")

    def bracketed(self, opener: Tok) -> Node:
        node = self.expr()
        close = self.peek()
        if close is None or close.kind != RP or close.text != opener.text:
            raise Unparseable("unbalanced brackets")
        self.i += 1
        return node

    def group(self, latex: bool) -> Node:
        """A command argument: a braced (or parenthesised) group, or one token; in LaTeX one character."""
        t = self.peek()
        if t is None:
            raise Unparseable("a command lacks its argument")
        if t.kind == LP and t.text in "{(":
            self.i += 1
            return self.bracketed(t)
        if t.kind == NUM and latex and len(t.text) > 1:
            raise Unparseable(f"LaTeX reads only the first digit of an unbraced {t.text!r}")
        if t.kind in (NUM, SYM, PI):
            return self.primary()
        raise Unparseable("a command argument must be a group or a single token")


def parse_side(toks: list[Tok]) -> Node:
    """Parse one side of a claim (all of ``toks``)."""
    if not toks:
        raise Unparseable("empty side")
    if len(toks) > MAX_SIDE_TOKENS:
        raise LimitExceeded(f"a side longer than {MAX_SIDE_TOKENS} tokens")
    depth = 0
    for t in toks:  # reject deep nesting before recursing into it
        depth += t.kind == LP
        depth -= t.kind == RP
        if depth > MAX_DEPTH:
            raise LimitExceeded(f"brackets nested deeper than {MAX_DEPTH}")
    parser = _Parser(toks)
    node = parser.expr()
    if parser.i != len(toks):
        raise Unparseable(f"unexpected {toks[parser.i].text!r}")
    _refuse_percent_sums(node)
    return node


def _refuse_percent_sums(node: Node) -> None:
    """``80 + 20% = 96`` means 80 plus 20% OF 80 to most writers and 80.2 to the grammar: refuse to read a
    percent added to a plain number (``100% - 20% = 80%`` is fine)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n[0] in ("add", "sub"):
            percents = [_is_percent(c) for c in n[1:]]
            if percents[0] != percents[1]:
                raise Unparseable("a percent added to a plain number")
        stack.extend(c for c in n[1:] if isinstance(c, tuple))


def _is_percent(node: Node) -> bool:
    while node[0] == "neg":
        node = node[1]
    return node[0] == "pct"


def symbols_of(node: Node) -> frozenset[str]:
    """The symbol names in ``node`` (iterative: trees are shallow but this is called on every side)."""
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n[0] == "sym":
            out.add(n[1])
        elif n[0] not in ("num", "pi"):
            stack.extend(c for c in n[1:] if isinstance(c, tuple))
    return frozenset(out)


def contains(node: Node, kinds: frozenset[str]) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if n[0] in kinds:
            return True
        stack.extend(c for c in n[1:] if isinstance(c, tuple))
    return False


def is_bare(node: Node) -> bool:
    """A single literal, possibly signed or with ``%``: ``24``, ``-3``, ``25%``."""
    while node[0] in ("neg", "pct"):
        node = node[1]
    return node[0] == "num"


def leading_literal(node: Node) -> Fraction | None:
    """The leftmost literal of an expression (``8`` in ``8 + 2``), for running-total chains."""
    while node[0] in ("add", "sub", "mul", "div", "pow"):
        node = node[1]
    return node[1] if node[0] == "num" else None


def literal_places(node: Node) -> tuple[Fraction, int, int] | None:
    """``(value, decimal places, percent scale)`` of a lone signed literal (``-3.33``, ``33.3%``), else None."""
    sign, scale = 1, 1
    while node[0] in ("neg", "pct"):
        if node[0] == "neg":
            sign = -sign
        else:
            scale *= 100
        node = node[1]
    if node[0] != "num":
        return None
    return sign * node[1], node[2], scale
