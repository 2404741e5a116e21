"""Exact evaluation of parsed claim sides, with size guards checked BEFORE each costly operation.

Three paths, cheapest first:

- rational: ``fractions.Fraction`` arithmetic (most claims). Each value carries an interval for the
  rounding rule: a decimal literal that is visibly rounded stands for every number it could be the rounding
  of (see :func:`literal_interval`); intervals propagate through ``+ - * / ^`` and ``%``.
- real: sympy objects built by explicit constructors (``Rational``, ``sqrt``, ``pi``, ``Add``, ``Mul``,
  ``Pow``) when a side needs ``\\pi`` or an irrational root; compared numerically at 60 digits.
- polynomial: sympy ``Symbol`` s from the whitelist (single letters), ``expand(lhs - rhs) == 0``.

Guards: results beyond :data:`MAX_BITS` bits, ``n!`` beyond :data:`MAX_FACTORIAL`, polynomial degree or term
count beyond :data:`MAX_DEGREE` / :data:`MAX_TERMS` raise :class:`LimitExceeded` before anything is built, so
``9^9^9^9`` or ``100000!`` costs microseconds. Division by zero, roots of negatives, ``0^0`` raise
:class:`Undefined` (the claim is skipped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from prmlabel.verifiers.expr_parser import LimitExceeded, Node, Unparseable, contains, symbols_of

MAX_BITS = 40_000  # about 12,000 decimal digits
MAX_FACTORIAL = 3_000
MAX_BINOM_N = 10_000
MAX_DEGREE = 40
MAX_TERMS = 2_000
MAX_REAL_EXPONENT = 1_000
MAX_ROOT_INDEX_EVAL = 64
_REPEATING_DENOMINATORS = (3, 6, 7, 9)


class Undefined(ValueError):
    """The expression has no value (``1/0``, ``\\sqrt{-4}``, ``0^0``): the claim is skipped."""


class NeedSympy(Exception):
    """The value is not rational (``\\pi``, ``\\sqrt{2}``): evaluate on the real path."""


@dataclass(frozen=True)
class RVal:
    """An exact rational value and the interval it stands for (``lo is None``: unbounded)."""

    exact: Fraction
    lo: Fraction | None
    hi: Fraction | None


def _guard(f: Fraction) -> Fraction:
    if f.numerator.bit_length() > MAX_BITS or f.denominator.bit_length() > MAX_BITS:
        raise LimitExceeded(f"a value larger than {MAX_BITS} bits")
    return f


def _rounding_interval(value: Fraction, places: int) -> tuple[Fraction, Fraction]:
    """Every number that rounds OR truncates to ``value`` at ``places`` decimals (closed, for simplicity):
    ``3.33`` stands for [3.325, 3.34], ``-0.66`` for [-0.67, -0.655]."""
    unit = Fraction(1, 10**places)
    below = unit * 999 / 1000  # truncation: strictly less than one unit away (14.99 does not stand for 15)
    if value >= 0:
        return value - unit / 2, value + below
    return value - below, value + unit / 2


def looks_rounded(value: Fraction, places: int) -> bool:
    """Is a literal inside an expression a rounded value? Yes with 3 or more decimals (``2.8284``). With 2,
    only when it is within half a unit of a simple repeating fraction p/q, q in 3, 6, 7, 9 (``0.33``,
    ``0.67``, ``0.14``, ``3.14`` ~ 22/7) or of the square root of a whole number up to 200 (``1.41``,
    ``1.73``), or is a truncated third (``0.66``, ``1.33``). ``2.25`` and money like ``3.50`` or ``9.45``
    are exact as written."""
    if places >= 3:
        return True
    if places < 2:
        return False
    unit = Fraction(1, 10**places)
    for q in _REPEATING_DENOMINATORS:
        for p in (math.floor(value * q), math.ceil(value * q)):
            near = Fraction(p, q)
            if near == value:
                continue
            if abs(near - value) <= unit / 2 or (q == 3 and 0 < abs(near) - abs(value) < unit):
                return True
    lo, hi = (abs(value) - unit / 2) ** 2, (abs(value) + unit / 2) ** 2  # a rounded square root (1.41, 1.73)?
    return any(math.isqrt(n) ** 2 != n for n in range(max(2, math.ceil(lo)), min(math.floor(hi), 200) + 1))


def literal_interval(value: Fraction, places: int, lone: bool) -> tuple[Fraction, Fraction]:
    """The interval a decimal literal stands for.

    A side that is a lone decimal literal (``= 3.33``) is visibly rounded: it stands for every number that
    rounds (within half a unit of its last place) or truncates to it. Inside an expression only a literal
    that :func:`looks_rounded` gets that tolerance; other decimals (``3.5``, ``0.25``, ``$2.75``) are exact.
    """
    if places == 0 or not (lone or looks_rounded(value, places)):
        return value, value
    return _rounding_interval(value, places)


def _mul_iv(a: RVal, b: RVal) -> tuple[Fraction | None, Fraction | None]:
    if a.lo is None or b.lo is None:
        return None, None
    products = [_guard(x * y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
    return min(products), max(products)


def _int_root(n: int, k: int) -> int | None:
    """The exact k-th root of n >= 0, or None."""
    if n < 2:
        return n
    if k == 2:
        r = math.isqrt(n)
    else:
        r = int(round(n ** (1.0 / k))) if n.bit_length() < 1000 else _nth_root_newton(n, k)
        while r**k > n:
            r -= 1
        while (r + 1) ** k <= n:
            r += 1
    return r if r**k == n else None


def _nth_root_newton(n: int, k: int) -> int:
    x = 1 << ((n.bit_length() + k - 1) // k)
    while True:
        y = ((k - 1) * x + n // x ** (k - 1)) // k
        if y >= x:
            return x
        x = y


def _rational_pow(base: Fraction, exponent: Fraction) -> Fraction:
    if base == 0:
        if exponent <= 0:
            raise Undefined("0 to a non-positive power")
        return Fraction(0)
    if base == 1:
        return base
    if base == -1 and exponent.denominator == 1:
        return Fraction(1 if exponent.numerator % 2 == 0 else -1)
    p, q = exponent.numerator, exponent.denominator
    if q > MAX_ROOT_INDEX_EVAL:
        raise NeedSympy()
    bits = max(base.numerator.bit_length(), base.denominator.bit_length())
    if bits * abs(p) > MAX_BITS * q:
        raise LimitExceeded(f"a power larger than {MAX_BITS} bits")
    if q != 1:
        if base < 0:
            raise Undefined("a fractional power of a negative number")
        num, den = _int_root(base.numerator, q), _int_root(base.denominator, q)
        if num is None or den is None:
            raise NeedSympy()
        base = Fraction(num, den)
    return _guard(base**p)


def rational(node: Node, lone: bool = False) -> RVal:
    """Evaluate a symbol-free side exactly; ``lone`` says the side is one literal (visibly rounded)."""
    kind = node[0]
    if kind == "num":
        lo, hi = literal_interval(node[1], node[2], lone)
        return RVal(node[1], lo, hi)
    if kind == "pi" or kind == "sym":
        raise NeedSympy()
    if kind == "neg":
        a = rational(node[1], lone)
        return RVal(-a.exact, None if a.hi is None else -a.hi, None if a.lo is None else -a.lo)
    if kind == "pct":
        a = rational(node[1], lone)
        h = Fraction(1, 100)
        return RVal(a.exact * h, None if a.lo is None else a.lo * h, None if a.hi is None else a.hi * h)
    if kind in ("add", "sub"):
        a, b = rational(node[1]), rational(node[2])
        if kind == "add":
            exact = a.exact + b.exact
            lo = None if a.lo is None or b.lo is None else a.lo + b.lo
            hi = None if a.hi is None or b.hi is None else a.hi + b.hi
        else:
            exact = a.exact - b.exact
            lo = None if a.lo is None or b.hi is None else a.lo - b.hi
            hi = None if a.hi is None or b.lo is None else a.hi - b.lo
        return RVal(_guard(exact), lo, hi)
    if kind == "mul":
        a, b = rational(node[1]), rational(node[2])
        return RVal(_guard(a.exact * b.exact), *_mul_iv(a, b))
    if kind == "div":
        a, b = rational(node[1]), rational(node[2])
        if b.exact == 0:
            raise Undefined("division by zero")
        exact = _guard(a.exact / b.exact)
        if b.lo is None or b.hi is None or b.lo <= 0 <= b.hi:
            return RVal(exact, None, None)
        inv = RVal(1 / b.exact, 1 / b.hi, 1 / b.lo)
        return RVal(exact, *_mul_iv(a, inv))
    if kind == "pow":
        a, b = rational(node[1]), rational(node[2])
        exact = _rational_pow(a.exact, b.exact)  # the exponent's own rounding is ignored: exponents are exact
        if a.lo is None or a.hi is None:
            return RVal(exact, None, None)
        if a.lo == a.hi:
            return _point(exact)
        if b.exact.denominator != 1 or (a.lo <= 0 <= a.hi and b.exact <= 0):
            return RVal(exact, None, None)
        ends = [_rational_pow(a.lo, b.exact), _rational_pow(a.hi, b.exact)]
        lo, hi = min(ends), max(ends)
        if a.lo < 0 < a.hi and b.exact.numerator % 2 == 0:
            lo = Fraction(0)
        return RVal(exact, lo, hi)
    if kind == "root":
        a = rational(node[1])
        exact = _rational_pow(a.exact, Fraction(1, node[2]))
        return RVal(exact, exact, exact) if a.lo == a.hi else RVal(exact, None, None)
    if kind == "fact":
        n = _whole(rational(node[1]).exact, MAX_FACTORIAL, "n!")
        return _point(Fraction(math.factorial(n)))
    if kind == "binom":
        n = _whole(rational(node[1]).exact, MAX_BINOM_N, "binom")
        k = _whole(rational(node[2]).exact, MAX_BINOM_N, "binom")
        return _point(_guard(Fraction(math.comb(n, k))))
    raise Unparseable(f"unknown node {kind}")


def _point(value: Fraction) -> RVal:
    return RVal(value, value, value)


def _whole(value: Fraction, limit: int, what: str) -> int:
    if value.denominator != 1 or value < 0:
        raise Undefined(f"{what} of a value that is not a whole number")
    if value > limit:
        raise LimitExceeded(f"{what} beyond {limit}")
    return int(value)


# ---------------------------------------------------------------------------------------------------------
# sympy paths (imported lazily: most claims never need them)
# ---------------------------------------------------------------------------------------------------------


def real(node: Node) -> Any:
    """A symbol-free side as a sympy number, built by explicit constructor calls."""
    import sympy

    try:
        return sympy.Rational(*_ratio(rational(node).exact))
    except NeedSympy:
        pass
    kind = node[0]
    if kind == "pi":
        return sympy.pi
    if kind == "neg":
        return sympy.Mul(sympy.Integer(-1), real(node[1]))
    if kind == "pct":
        return sympy.Mul(real(node[1]), sympy.Rational(1, 100))
    if kind == "add":
        return sympy.Add(real(node[1]), real(node[2]))
    if kind == "sub":
        return sympy.Add(real(node[1]), sympy.Mul(sympy.Integer(-1), real(node[2])))
    if kind == "mul":
        return sympy.Mul(real(node[1]), real(node[2]))
    if kind == "div":
        den = real(node[2])
        if den == 0:
            raise Undefined("division by zero")
        return sympy.Mul(real(node[1]), sympy.Pow(den, sympy.Integer(-1)))
    if kind in ("pow", "root"):
        base = real(node[1])
        if kind == "root":
            exponent = Fraction(1, node[2])
        else:
            exponent = rational(node[2]).exact  # an irrational exponent raises NeedSympy: not modelled
        if abs(exponent.numerator) > MAX_REAL_EXPONENT or exponent.denominator > MAX_ROOT_INDEX_EVAL:
            raise LimitExceeded("an exponent beyond the limit")
        if base.is_negative and exponent.denominator != 1:
            raise Undefined("a fractional power of a negative number")
        return sympy.Pow(base, sympy.Rational(*_ratio(exponent)))
    raise Unparseable(f"{kind} of an irrational value is not modelled")


def _ratio(f: Fraction) -> tuple[int, int]:
    return f.numerator, f.denominator


def _poly_size(node: Node, nvars: int) -> tuple[int, int]:
    """Upper bounds (degree, number of terms) of the expanded polynomial, computed without expanding."""
    kind = node[0]
    if not symbols_of(node):
        try:
            rational(node)
        except NeedSympy:
            raise Unparseable("irrational coefficients in a polynomial claim are not modelled") from None
        return 0, 1
    if kind == "sym":
        return 1, 1
    if kind in ("neg", "pct"):
        return _poly_size(node[1], nvars)
    if kind in ("add", "sub"):
        (d1, t1), (d2, t2) = _poly_size(node[1], nvars), _poly_size(node[2], nvars)
        return max(d1, d2), t1 + t2
    if kind == "mul":
        (d1, t1), (d2, t2) = _poly_size(node[1], nvars), _poly_size(node[2], nvars)
        return _capped(d1 + d2, t1 * t2, nvars)
    if kind == "div":
        if symbols_of(node[2]):
            raise Unparseable("division by a symbolic expression is not a polynomial")
        return _poly_size(node[1], nvars)
    if kind == "pow":
        if symbols_of(node[2]):
            raise Unparseable("a symbolic exponent is not a polynomial")
        e = rational(node[2]).exact
        d, t = _poly_size(node[1], nvars)
        if d == 0:
            return 0, 1
        if e.denominator != 1 or e < 0:
            raise Unparseable("a negative or fractional power of a symbol is not a polynomial")
        if e > MAX_DEGREE:
            raise LimitExceeded(f"polynomial degree beyond {MAX_DEGREE}")
        return _capped(d * int(e), t ** int(e) if t < 64 else MAX_TERMS + 1, nvars)
    raise Unparseable(f"{kind} in a polynomial claim is not modelled")


def _capped(degree: int, terms: int, nvars: int) -> tuple[int, int]:
    if degree > MAX_DEGREE:
        raise LimitExceeded(f"polynomial degree beyond {MAX_DEGREE}")
    terms = min(terms, math.comb(degree + nvars, nvars))
    if terms > MAX_TERMS:
        raise LimitExceeded(f"polynomial with more than {MAX_TERMS} terms")
    return degree, terms


def polynomial(node: Node, symbols: dict[str, Any]) -> Any:
    """A polynomial side as a sympy expression over whitelisted single-letter ``symbols``."""
    import sympy

    _poly_size(node, len(symbols))
    return _poly(node, symbols, sympy)


def _poly(node: Node, symbols: dict[str, Any], sympy: Any) -> Any:
    kind = node[0]
    if not symbols_of(node):
        return sympy.Rational(*_ratio(rational(node).exact))
    if kind == "sym":
        return symbols[node[1]]
    if kind == "neg":
        return sympy.Mul(sympy.Integer(-1), _poly(node[1], symbols, sympy))
    if kind == "pct":
        return sympy.Mul(_poly(node[1], symbols, sympy), sympy.Rational(1, 100))
    if kind == "add":
        return sympy.Add(_poly(node[1], symbols, sympy), _poly(node[2], symbols, sympy))
    if kind == "sub":
        return sympy.Add(_poly(node[1], symbols, sympy), sympy.Mul(sympy.Integer(-1), _poly(node[2], symbols, sympy)))
    if kind == "mul":
        return sympy.Mul(_poly(node[1], symbols, sympy), _poly(node[2], symbols, sympy))
    if kind == "div":
        den = rational(node[2]).exact
        if den == 0:
            raise Undefined("division by zero")
        return sympy.Mul(_poly(node[1], symbols, sympy), sympy.Rational(den.denominator, den.numerator))
    if kind == "pow":
        return sympy.Pow(_poly(node[1], symbols, sympy), sympy.Integer(int(rational(node[2]).exact)))
    raise Unparseable(f"{kind} in a polynomial claim is not modelled")


_SUMS = frozenset({"add", "sub"})


def needs_expanding(node: Node) -> bool:
    """Does the side hold a product, power, quotient or negation of a sum with symbols, i.e. is the claim
    a distribution / expansion / factoring step rather than an equation to be solved?"""
    stack = [node]
    while stack:
        n = stack.pop()
        kind = n[0]
        children = [c for c in n[1:] if isinstance(c, tuple)]
        if kind == "mul" and any(c[0] in _SUMS and symbols_of(c) for c in children):
            return True
        if kind in ("pow", "div", "neg") and n[1][0] in _SUMS and symbols_of(n[1]):
            if kind != "pow" or rational(n[2]).exact >= 2:
                return True
        stack.extend(children)
    return False


NOT_POLYNOMIAL_KINDS = frozenset({"pi", "root", "fact", "binom"})


def polynomial_claim_kinds_ok(lhs: Node, rhs: Node) -> bool:
    return not (contains(lhs, NOT_POLYNOMIAL_KINDS) or contains(rhs, NOT_POLYNOMIAL_KINDS))
