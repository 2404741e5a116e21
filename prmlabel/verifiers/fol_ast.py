"""The first-order-logic AST shared by the parser and the z3 translation, and walks over it.

Why separate: the parser (:mod:`prmlabel.verifiers.fol_parser`) and the z3 builder
(:mod:`prmlabel.verifiers.z3_check`) both speak this AST, and neither should depend on the other's
internals. Nodes are frozen dataclasses: hashable, picklable, and safe to share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class FolParseError(ValueError):
    """The text is not a formula the FOL parser reads; the message says where and why.

    Defined here, below both the parser and the FLD rewriter, so that each can raise it."""


_VARIABLE_LIKE = re.compile(r"[u-z]\d*'*")


@dataclass(frozen=True)
class Term:
    """A name, or a function application ``name(args)``; variable vs constant is decided by scope."""

    name: str
    args: tuple[Term, ...] = ()


@dataclass(frozen=True)
class Atom:
    pred: str
    args: tuple[Term, ...] = ()


@dataclass(frozen=True)
class Eq:
    left: Term
    right: Term


@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class Not:
    arg: Formula


@dataclass(frozen=True)
class Op:
    """``and``/``or``/``xor`` (n-ary, flattened) or ``implies``/``iff`` (binary)."""

    op: str
    args: tuple[Formula, ...]


@dataclass(frozen=True)
class Quant:
    kind: str  # "forall" | "exists"
    var: str
    body: Formula


Formula = Atom | Eq | Const | Not | Op | Quant


# ------------------------------------------------------------------------------------------------------
# Scope analysis
# ------------------------------------------------------------------------------------------------------


def depth(f: Formula) -> int:
    """Tree depth, iteratively (a long ``->`` chain is deep although the parser never recursed on it)."""
    best, stack = 0, [(f, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        if isinstance(node, Not):
            stack.append((node.arg, d + 1))
        elif isinstance(node, Op):
            stack.extend((a, d + 1) for a in node.args)
        elif isinstance(node, Quant):
            stack.append((node.body, d + 1))
    return best


def _term_names(t: Term) -> list[str]:
    out = [t.name] if not t.args else []
    for a in t.args:
        out.extend(_term_names(a))
    return out


def free_names(f: Formula, bound: frozenset[str] = frozenset()) -> set[str]:
    """Term names not bound by an enclosing quantifier (constants and free variables)."""
    if isinstance(f, Atom):
        return {n for a in f.args for n in _term_names(a) if n not in bound}
    if isinstance(f, Eq):
        return {n for n in _term_names(f.left) + _term_names(f.right) if n not in bound}
    if isinstance(f, Not):
        return free_names(f.arg, bound)
    if isinstance(f, Op):
        return set().union(*(free_names(a, bound) for a in f.args))
    if isinstance(f, Quant):
        return free_names(f.body, bound | {f.var})
    return set()


def bound_names(f: Formula) -> set[str]:
    if isinstance(f, Not):
        return bound_names(f.arg)
    if isinstance(f, Op):
        return set().union(*(bound_names(a) for a in f.args))
    if isinstance(f, Quant):
        return {f.var} | bound_names(f.body)
    return set()


def free_variables(f: Formula) -> list[str]:
    """Unbound names that look like variables (u..z, optional digits), sorted."""
    return sorted(n for n in free_names(f) if _VARIABLE_LIKE.fullmatch(n))


def leaks(f: Formula) -> bool:
    """A quantified variable also occurs free: a narrow scope cut a quantifier short."""
    return bool(free_names(f) & bound_names(f))


def to_text(f: Formula) -> str:
    """Unicode rendering, fully parenthesised (for rationales and tests)."""
    if isinstance(f, Atom):
        return f.pred if not f.args else f"{f.pred}({', '.join(_term_text(a) for a in f.args)})"
    if isinstance(f, Eq):
        return f"{_term_text(f.left)} = {_term_text(f.right)}"
    if isinstance(f, Const):
        return "⊤" if f.value else "⊥"
    if isinstance(f, Not):
        return f"¬{to_text(f.arg)}"
    if isinstance(f, Op):
        sym = {"and": " ∧ ", "or": " ∨ ", "xor": " ⊕ ", "implies": " → ", "iff": " ↔ "}[f.op]
        return "(" + sym.join(to_text(a) for a in f.args) + ")"
    q = "∀" if f.kind == "forall" else "∃"
    return f"{q}{f.var} {to_text(f.body)}"


def _term_text(t: Term) -> str:
    return t.name if not t.args else f"{t.name}({', '.join(_term_text(a) for a in t.args)})"
