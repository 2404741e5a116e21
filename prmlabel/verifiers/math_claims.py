"""Check the arithmetic and algebra a math step claims: ``48/2 = 24``, ``<<48/2=24>>``, ``a = b = c``,
``$\\frac{3}{4} \\times 8 = 6$``, ``25% of 80 = 20``, ``$1,000``, ``(x+1)^2 = x^2 + 2x + 1``.

Why: a step's own arithmetic can be checked by a tool instead of by rollouts (GroundedPRM verifies each
step with a tool; here sympy and exact fractions stand in for Wolfram Alpha). The verdict is:

- ``wrong`` if any claim fails (the reason names it and both values: ``claims 3*7 = 24, but 3*7 = 21``);
- ``correct`` if at least one claim was checked and all hold;
- ``unverifiable`` with reason ``nothing checkable`` (no claim whose two sides both parse as closed-form
  expressions) or ``limit`` (a size guard, the time budget or the worker's memory limit stopped it).

What counts as a claim: two adjacent elements of an ``=`` chain that both parse (see
:mod:`prmlabel.verifiers.claim_finder` for where a side starts and ends, and
:mod:`prmlabel.verifiers.expr_parser` for what parses). Then:

- both sides numeric: exact rational comparison. Rounding: a side that is one decimal literal is
  visibly rounded and stands for +- half a unit of its last decimal place, inclusive
  (``10/3 = 3.33`` holds, ``10/3 = 3.34`` does not; ``1/8 = 0.13`` and ``0.12`` both hold, a tie is
  a correct rounding either way); inside an expression only a literal that looks like a rounded
  repeating fraction (``0.33``, ``0.67``, ``3.14`` ~ 22/7) gets that tolerance, so ``0.33 * 30 = 10``
  holds but ``3.5 * 4000 = 14,100`` does not.
- percent on one side only: ``0.2 * 100 = 20%`` and ``15/60 * 100% = 25`` hold (the percent sign read
  as a unit), as does the literal reading ``20% = 0.2``.
- a running total ``5 + 3 = 8 + 2 = 10`` is read as ``5 + 3 = 8`` and ``8 + 2 = 10``.
- two bare literals (``12 = 4``) are notation, not arithmetic, and are skipped, except a percent
  conversion (``25% = 0.25``).
- symbols: only when both sides are polynomials in the same single-letter symbols, one side needs
  expanding (a product, power or quotient of a sum), both sides have the same degree and leading terms,
  and the step does not assign a number to one of the letters; then ``expand(lhs - rhs) == 0``.
  Otherwise ``(x+1)^2 = 2x + 5`` is an equation to solve, not a claimed identity.

Every check runs in a worker process under a time and memory limit (:mod:`prmlabel.runtime.limits`); all the steps
of a call go in one round trip. :func:`check_step` is the same check in-process, for tests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from prmlabel.verifiers.claim_finder import MAX_CLAIMS, Element, equation_context, find_chains
from prmlabel.verifiers.expr_eval import (
    NeedSympy,
    RVal,
    Undefined,
    needs_expanding,
    polynomial,
    polynomial_claim_kinds_ok,
    rational,
    real,
)
from prmlabel.verifiers.expr_parser import (
    LimitExceeded,
    Node,
    Unparseable,
    contains,
    is_bare,
    leading_literal,
    literal_places,
    parse_side,
    symbols_of,
)

CORRECT, WRONG, UNVERIFIABLE = "correct", "wrong", "unverifiable"
NOTHING, LIMIT = "nothing checkable", "limit"
MAX_STEP_CHARS = 20_000
DEFAULT_TIMEOUT = 5.0
_EPS = Fraction(1, 10**45)


@dataclass(frozen=True)
class ClaimResult:
    """One checked claim. ``ok`` is None when a limit stopped its check; ``note`` says how it held
    (``within rounding``, ``percent sign read as a unit``, ``running total``) or which limit tripped."""

    text: str
    lhs: str
    rhs: str
    lhs_value: str
    rhs_value: str
    ok: bool | None
    note: str = ""


@dataclass(frozen=True)
class StepVerdict:
    verdict: str  # correct | wrong | unverifiable
    claims: list[ClaimResult] = field(default_factory=list)
    reason: str = NOTHING
    rationale: str = ""


# ---------------------------------------------------------------------------------------------------------
# values as text
# ---------------------------------------------------------------------------------------------------------


def show(value: Fraction) -> str:
    """``21``, ``2.5``, ``10/3 ≈ 3.33333``; long numbers are abbreviated."""
    if value.denominator == 1:
        text = str(value.numerator)
        return text if len(text) <= 40 else f"{text[:12]}...({len(text.lstrip('-'))} digits)"
    den, twos, fives = value.denominator, 0, 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    places = max(twos, fives)
    if den == 1 and places <= 12 and abs(value.numerator) < 10**30:
        digits = str(abs(value.numerator) * 10**places // value.denominator).rjust(places + 1, "0")
        return ("-" if value < 0 else "") + digits[:-places] + "." + digits[-places:]
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > 130:
        return f"≈ {float(value):.6g}" if abs(value) < 10**300 else "a very large fraction"
    return f"{value.numerator}/{value.denominator} ≈ {float(value):.6g}"


def _show_real(expr: Any) -> str:
    import sympy

    text = str(expr).replace("**", "^")
    if expr.is_Rational:
        return text if len(text) <= 60 else f"{text[:12]}...({len(text)} characters)"
    approx = sympy.N(expr, 8)
    return f"{text[:60]} ≈ {approx}" if text != str(approx) else text[:60]


# ---------------------------------------------------------------------------------------------------------
# one claim
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    ok: bool | None
    lhs_value: str
    rhs_value: str
    note: str = ""
    lhs_exact: Fraction | None = None
    rhs_node: Node | None = None


def _overlap(a: RVal, b: RVal) -> bool | None:
    if a.lo is None or a.hi is None or b.lo is None or b.hi is None:
        return None
    return a.lo <= b.hi and b.lo <= a.hi


def _percent_form(node: Node) -> bool:
    """``20%`` or ``... * 100%``: the percent sign may be a unit on this side."""
    if node[0] == "pct":
        return True
    return node[0] == "mul" and node[2][0] == "pct" and node[2][1] == ("num", Fraction(100), 0)


def _numeric(lhs: Node, rhs: Node) -> _Outcome | None:
    try:
        lv, rv = rational(lhs, lone=is_bare(lhs)), rational(rhs, lone=is_bare(rhs))
    except NeedSympy:
        return _real(lhs, rhs)
    shown = show(lv.exact), show(rv.exact)
    if lv.exact == rv.exact:
        return _Outcome(True, *shown, lhs_exact=lv.exact, rhs_node=rhs)
    overlap = _overlap(lv, rv)
    if overlap:
        return _Outcome(True, *shown, note="within rounding", lhs_exact=lv.exact, rhs_node=rhs)
    hundred = Fraction(100)
    for side, this, other in ((lhs, lv, rv), (rhs, rv, lv)):
        if _percent_form(side) and not contains(rhs if side is lhs else lhs, frozenset({"pct"})):
            scaled = RVal(this.exact * hundred, *(None if x is None else x * hundred for x in (this.lo, this.hi)))
            if scaled.exact == other.exact or _overlap(scaled, other):
                return _Outcome(True, *shown, note="percent sign read as a unit", lhs_exact=lv.exact, rhs_node=rhs)
    if overlap is None:
        return None  # an interval through a near-zero rounded divisor: cannot refute
    return _Outcome(False, *shown, lhs_exact=lv.exact, rhs_node=rhs)


def _tolerance(node: Node) -> Fraction:
    lit = literal_places(node)
    if lit is None or lit[1] == 0:
        return Fraction(0)
    return Fraction(1, 2 * 10 ** lit[1] * lit[2])


def _real(lhs: Node, rhs: Node) -> _Outcome | None:
    import sympy

    left, right = real(lhs), real(rhs)
    lv, rv = sympy.N(left, 60), sympy.N(right, 60)
    if not (lv.is_real and rv.is_real):
        return None
    diff = Fraction(str(sympy.N(abs(lv - rv), 60)))
    scale = 1 + abs(Fraction(str(lv)))
    tol = _tolerance(lhs) + _tolerance(rhs)
    shown = _show_real(left), _show_real(right)
    if diff <= _EPS * scale:
        return _Outcome(True, *shown, rhs_node=rhs)
    if diff <= tol:
        return _Outcome(True, *shown, note="within rounding", rhs_node=rhs)
    return _Outcome(False, *shown, rhs_node=rhs)


def _polynomial(lhs: Node, rhs: Node, names: frozenset[str], equations: bool) -> _Outcome | None:
    if equations or len(names) > 4 or not polynomial_claim_kinds_ok(lhs, rhs):
        return None
    import sympy

    symbols = {name: sympy.Symbol(name) for name in sorted(names)}
    left, right = polynomial(lhs, symbols), polynomial(rhs, symbols)
    if needs_expanding(lhs) == needs_expanding(rhs):
        return None  # 2x + 3 = x + 5, (x+1)(x+2) = 3(x+4): equations to solve, not an expansion or factoring
    el, er = sympy.expand(left), sympy.expand(right)
    shown = str(el).replace("**", "^"), str(er).replace("**", "^")
    if sympy.expand(el - er) == 0:
        return _Outcome(True, *shown, rhs_node=rhs)
    gens = list(symbols.values())
    p, q = sympy.Poly(el, *gens), sympy.Poly(er, *gens)
    degree = p.total_degree()
    if degree != q.total_degree():
        return None  # (x+1)^2 = 2x + 5: an equation
    lead_p = {m: c for m, c in p.terms() if sum(m) == degree}
    lead_q = {m: c for m, c in q.terms() if sum(m) == degree}
    if lead_p != lead_q:
        return None  # (x+1)(x+2) = 2x^2: an equation
    return _Outcome(False, *shown, rhs_node=rhs)


def _check_pair(a: Element, b: Element, equations: bool) -> _Outcome | None:
    """None: not a checkable claim (skipped, never judged)."""
    try:
        lhs, rhs = parse_side(list(a.toks)), parse_side(list(b.toks))
        converts = bool(a.units and b.units and not a.units & b.units)  # "1 inch = 2 * 20 miles"
        if converts and is_bare(lhs):
            return None  # a unit conversion, not arithmetic
        if is_bare(lhs) and is_bare(rhs) and contains(lhs, frozenset({"pct"})) == contains(rhs, frozenset({"pct"})):
            return None  # "12 = 4": notation (a running value, a unit change), not arithmetic
        names_l, names_r = symbols_of(lhs), symbols_of(rhs)
        if not names_l and not names_r:
            outcome = _numeric(lhs, rhs)
            if converts and outcome is not None and outcome.ok is False:
                return None  # "6 feet * 2 = 4 yards": the units changed, so a mismatch proves nothing
            return outcome
        if names_l == names_r:
            return _polynomial(lhs, rhs, names_l, equations)
        return None
    except (LimitExceeded, MemoryError, RecursionError) as exc:
        return _Outcome(None, "", "", note=f"limit: {exc}" if str(exc) else "limit: too large")
    except (Unparseable, Undefined, NeedSympy, ArithmeticError, ValueError, TypeError):
        return None


def _claims_of_chain(chain: list[Element | None], equations: bool, seen: set[tuple[str, str]]) -> list:
    out: list[ClaimResult] = []
    for a, b in zip(chain, chain[1:], strict=False):
        if a is None or b is None:
            continue
        key = (a.text.replace(" ", ""), b.text.replace(" ", ""))
        if key in seen:
            continue
        seen.add(key)
        result = _check_pair(a, b, equations)
        if result is None:
            continue
        text = f"{a.text} = {b.text}"
        if a.linked and result.ok is False and result.rhs_node is not None and not is_bare(result.rhs_node):
            continue  # "Total = a*b*c*d. Total = a*b = ...": a partial computation, not a claim about the total
        if result.ok is False and result.lhs_exact is not None and result.rhs_node is not None:
            lead = leading_literal(result.rhs_node)
            if lead is not None and lead == result.lhs_exact and not is_bare(result.rhs_node):
                value = show(lead)
                note = f"running total: {b.text} continues from {value}"
                out.append(ClaimResult(f"{a.text} = {value}", a.text, value, result.lhs_value, value, True, note))
                continue
        out.append(ClaimResult(text, a.text, b.text, result.lhs_value, result.rhs_value, result.ok, result.note))
    return out


# ---------------------------------------------------------------------------------------------------------
# one step, many steps
# ---------------------------------------------------------------------------------------------------------


def _plain(text: str) -> str:
    return "".join(ch for ch in text if ch not in " ,$*{}\\")


def _wrong_reason(c: ClaimResult) -> str:
    """Name the side that was computed: ``claims 3*7 = 24, but 3*7 = 21``; when the left side is a bare
    number (``194 = 11 × 17 + 9``), the right side's value is the informative one."""
    if _plain(c.lhs_value) == _plain(c.lhs) and _plain(c.rhs_value) != _plain(c.rhs):
        return f"claims {c.text}, but {c.rhs} = {c.rhs_value}"
    return f"claims {c.text}, but {c.lhs} = {c.lhs_value}"


def _verdict(claims: list[ClaimResult], limit_note: str = "") -> StepVerdict:
    wrong = [c for c in claims if c.ok is False]
    lines = []
    for c in claims:
        if c.ok is True:
            lines.append(f"{c.text} holds" + (f" ({c.note})" if c.note else ""))
        elif c.ok is False:
            lines.append(f"{c.text} is wrong: {_wrong_reason(c).removeprefix(f'claims {c.text}, but ')}")
        else:
            lines.append(f"{c.text} not decided ({c.note})")
    listing = "; ".join(lines)
    if wrong:
        c = wrong[0]
        reason = _wrong_reason(c)
        return StepVerdict(WRONG, claims, reason, f"Checked {len(claims)} claim(s): {listing}.")
    limited = [c for c in claims if c.ok is None]
    if limited or limit_note:
        note = limit_note or limited[0].note
        rationale = f"A limit stopped the check ({note})" + (f"; {listing}." if claims else ".")
        return StepVerdict(UNVERIFIABLE, claims, LIMIT, rationale)
    if claims:
        reason = f"{claims[0].text} holds" if len(claims) == 1 else f"all {len(claims)} claims hold"
        return StepVerdict(CORRECT, claims, reason, f"Checked {len(claims)} claim(s): {listing}.")
    return StepVerdict(
        UNVERIFIABLE,
        [],
        NOTHING,
        "No equation whose two sides both parse as closed-form expressions (numbers, or polynomials in the "
        "same letters) was found, so the step's claims were not checked.",
    )


def check_step(text: str, deadline: float | None = None) -> StepVerdict:
    """The pure check of one step, in this process (the public API runs it under limits)."""
    if not isinstance(text, str):
        return _verdict([], "the step is not text")
    if len(text) > MAX_STEP_CHARS:
        return _verdict([], f"a step longer than {MAX_STEP_CHARS} characters")
    try:
        chains = find_chains(text)
    except RecursionError:
        return _verdict([], "the step is nested too deeply")
    equations = equation_context(text)
    seen: set[tuple[str, str]] = set()
    claims: list[ClaimResult] = []
    for chain in chains:
        if deadline is not None and time.monotonic() > deadline:
            return _verdict(claims, "the time budget was spent")
        claims.extend(_claims_of_chain(chain, equations, seen))
        if len(claims) >= MAX_CLAIMS:
            break
    return _verdict(claims[:MAX_CLAIMS])


def check_steps(steps: list[str], budget: float | None = None) -> list[StepVerdict]:
    """The pure check of several steps sharing one time budget (seconds); what the worker runs."""
    deadline = None if budget is None else time.monotonic() + budget
    return [check_step(s, deadline) for s in steps]


def _limit_verdict(error: str | None) -> StepVerdict:
    return _verdict([], f"the worker stopped: {error or 'unknown'}")


def verify_steps(steps: list[str], timeout: float = DEFAULT_TIMEOUT, pool: Any = None) -> list[StepVerdict]:
    """Check every step in ONE limited worker call (``timeout`` seconds for all of them).

    The worker also watches the clock itself (80% of ``timeout``), so a slow step leaves the earlier
    verdicts intact. If the worker is killed anyway (time, memory, crash), each step is retried alone
    within a second ``timeout``, so one hostile step cannot take its neighbours' verdicts with it.
    """
    from prmlabel.runtime.limits import default_pool

    steps = list(steps)
    if not steps:
        return []
    pool = pool or default_pool()
    result = pool.call(check_steps, steps, timeout * 0.8, timeout=timeout)
    if result.ok:
        return result.value
    if len(steps) == 1:
        return [_limit_verdict(result.error)]
    out: list[StepVerdict] = []
    stop = time.monotonic() + timeout
    for step in steps:
        remaining = stop - time.monotonic()
        if remaining <= 0.05:
            out.append(_limit_verdict(result.error))
            continue
        single = pool.call(check_steps, [step], remaining * 0.8, timeout=remaining)
        out.append(single.value[0] if single.ok else _limit_verdict(single.error))
    return out


def verify_step(text: str, timeout: float = DEFAULT_TIMEOUT, pool: Any = None) -> StepVerdict:
    """Check one step in the limited worker; see :func:`verify_steps`."""
    return verify_steps([text], timeout=timeout, pool=pool)[0]
