"""Check formal logic steps with z3: a step is correct iff its cited facts entail its conclusion.

Why this shape (FoVer, arXiv 2505.15960): each step ``fact1 & int2 -> int3: F`` is checked on its own,
with the cited facts substituted as written ("local validity"): ``cited ∧ ¬F`` unsat -> ``correct``, sat ->
``wrong`` (a countermodel exists), anything else -> ``unverifiable``. The final ``The final answer is X``
step is compared with the reference answer. An earlier step's conclusion is used as the model wrote it
even if that step was wrong, so one error is charged to the step that made it, not to every later step.

Safety: formulas are model output, so they are parsed by our own parser (:mod:`fol_parser`) and turned
into z3 terms by explicit API calls here; no text reaches ``eval`` or an SMT-LIB reader. The functions
meant for a worker process (:func:`check_steps`, :func:`gold_label`) do all parsing and solving inside it;
:func:`check_response` runs them in a :class:`prmlabel.runtime.limits.LimitedPool` (one call per response) under
a wall-clock and memory limit, and z3 has its own per-check timeout and memory cap on top. A parse
failure, z3 ``unknown`` or a timeout is ``unverifiable``, never an exception.

Semantics: one uninterpreted sort ``Obj``; predicates are ``Function(name, Obj, ..., BoolSort())``
keyed by (name, arity), a 0-ary predicate is a Bool constant, constants are ``Const(name, Obj)``. Names
are case-folded (FOLIO writes ``FootballPlayer`` and ``Footballplayer`` for one predicate), so the model
may write ``Engaged(Bonnie)`` for ``Engaged(bonnie)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from prmlabel.runtime.limits import LimitedPool, default_pool
from prmlabel.verifiers.fol_ast import Atom, Const, Eq, Formula, Not, Op, Quant, Term
from prmlabel.verifiers.fol_parser import FolParseError, parse_fol
from prmlabel.verifiers.logic_steps import Deduction, FinalAnswer, normalize_answer, parse_step

CORRECT, WRONG, UNVERIFIABLE = "correct", "wrong", "unverifiable"
Z3_MEMORY_MB = 768  # z3's own cap, below the worker's address-space limit, so z3 gives up before the OS kills it
_GRACE_S = 5.0  # pool timeout on top of the response budget: process start, pickling, z3 import


@dataclass(frozen=True)
class StepVerdict:
    verdict: str  # correct | wrong | unverifiable
    rationale: str


# ------------------------------------------------------------------------------------------------------
# AST -> z3 (explicit API calls only)
# ------------------------------------------------------------------------------------------------------


def _symbol(name: str) -> str:
    return name.replace("’", "'").lower()


class Z3Builder:
    """Declarations of one z3 context; every formula of a response shares them."""

    def __init__(self, z3: Any) -> None:
        self.z3 = z3
        self.ctx = z3.Context()
        self.obj = z3.DeclareSort("Obj", self.ctx)
        self.bool = z3.BoolSort(self.ctx)
        self.decls: dict[tuple[str, str, int], Any] = {}
        self.fresh = 0

    def predicates(self, f: Formula, out: set[tuple[str, int]] | None = None) -> set[tuple[str, int]]:
        """(name, arity) of every predicate in ``f`` (for rationales)."""
        out = set() if out is None else out
        if isinstance(f, Atom):
            out.add((_symbol(f.pred), len(f.args)))
        elif isinstance(f, Not):
            self.predicates(f.arg, out)
        elif isinstance(f, Op):
            for a in f.args:
                self.predicates(a, out)
        elif isinstance(f, Quant):
            self.predicates(f.body, out)
        return out

    def _decl(self, kind: str, name: str, arity: int) -> Any:
        key = (kind, _symbol(name), arity)
        if key not in self.decls:
            z3, sym = self.z3, key[1]
            if kind == "pred":
                d = z3.Bool(sym, self.ctx) if arity == 0 else z3.Function(sym, *([self.obj] * arity), self.bool)
            elif arity == 0:
                d = z3.Const(sym, self.obj)
            else:
                d = z3.Function(sym, *([self.obj] * arity), self.obj)
            self.decls[key] = d
        return self.decls[key]

    def term(self, t: Term, env: dict[str, Any]) -> Any:
        if not t.args:
            return env[t.name] if t.name in env else self._decl("const", t.name, 0)
        return self._decl("func", t.name, len(t.args))(*(self.term(a, env) for a in t.args))

    def formula(self, f: Formula, env: dict[str, Any] | None = None) -> Any:
        z3, env = self.z3, env or {}
        if isinstance(f, Atom):
            d = self._decl("pred", f.pred, len(f.args))
            return d if not f.args else d(*(self.term(a, env) for a in f.args))
        if isinstance(f, Eq):
            return self.term(f.left, env) == self.term(f.right, env)
        if isinstance(f, Const):
            return z3.BoolVal(f.value, self.ctx)
        if isinstance(f, Not):
            return z3.Not(self.formula(f.arg, env))
        if isinstance(f, Op):
            args = [self.formula(a, env) for a in f.args]
            if f.op == "and":
                return z3.And(*args)
            if f.op == "or":
                return z3.Or(*args)
            if f.op == "xor":
                out = args[0]
                for a in args[1:]:
                    out = z3.Xor(out, a)
                return out
            if f.op == "implies":
                return z3.Implies(args[0], args[1])
            return args[0] == args[1]  # iff
        self.fresh += 1
        var = z3.Const(f"{f.var}!{self.fresh}", self.obj)  # unique: never captures a constant of the same name
        body = self.formula(f.body, {**env, f.var: var})
        return z3.ForAll([var], body) if f.kind == "forall" else z3.Exists([var], body)


def _import_z3() -> Any:
    import z3

    z3.set_param("memory_max_size", Z3_MEMORY_MB)
    return z3


def entails(builder: Z3Builder, facts: list[Any], goal: Any, timeout_ms: int) -> tuple[str, str]:
    """('unsat' | 'sat' | 'unknown', z3's reason when unknown) for ``facts ∧ ¬goal``."""
    z3 = builder.z3
    s = z3.Solver(ctx=builder.ctx)
    s.set("timeout", max(1, int(timeout_ms)))
    for f in facts:
        s.add(f)
    s.add(z3.Not(goal))
    try:
        r = s.check()
    except z3.Z3Exception as exc:  # e.g. z3 hit its memory cap
        return "unknown", str(exc)[:200]
    if r == z3.unsat:
        return "unsat", ""
    if r == z3.sat:
        return "sat", ""
    return "unknown", s.reason_unknown()


# ------------------------------------------------------------------------------------------------------
# Checking one response (runs in a worker)
# ------------------------------------------------------------------------------------------------------


class _Formulas:
    """Parsed, lazily built formulas of a response: premises, the hypothesis, intermediate conclusions."""

    def __init__(self, builder: Z3Builder, premises: list[str | None], hypothesis: str | None) -> None:
        self.b = builder
        self.premises = premises
        self.hypothesis = hypothesis
        self.cache: dict[str, tuple[Any, Formula | None, str | None]] = {}  # id -> (z3 term, ast, error)

    def build(self, text: str | None, missing: str) -> tuple[Any, Formula | None, str | None]:
        if text is None:
            return None, None, missing
        try:
            ast = parse_fol(text).formula
            return self.b.formula(ast), ast, None
        except FolParseError as exc:
            return None, None, f"cannot parse the formula: {exc}"
        except RecursionError:
            return None, None, "cannot parse the formula: nested too deeply"
        except Exception as exc:  # z3 refused a term (e.g. out of memory): this formula only is unusable
            return None, None, f"cannot build the formula: {type(exc).__name__}: {exc}"[:300]

    def fact(self, n: int) -> tuple[Any, Formula | None, str | None]:
        key = f"fact{n}"
        if key not in self.cache:
            self.cache[key] = self.build(self.premises[n - 1], f"{key} has no formal version")
        return self.cache[key]

    def hyp(self) -> tuple[Any, Formula | None, str | None]:
        if "hypothesis" not in self.cache:
            self.cache["hypothesis"] = self.build(self.hypothesis, "the problem has no formal hypothesis")
        return self.cache["hypothesis"]


def _check_deduction(
    d: Deduction,
    forms: _Formulas,
    ints: dict[str, tuple[Any, Formula | None, str | None]],
    conclusion: tuple[Any, Formula | None, str | None] | None,
    timeout_ms: int,
) -> StepVerdict:
    """``conclusion`` is the built formula of an ``intN`` target (built once by the caller, kept for later)."""
    facts, asts = [], []
    for cite in d.cites:
        if cite.startswith("fact"):
            n = int(cite[4:])
            if not 1 <= n <= len(forms.premises):
                return StepVerdict(WRONG, f"cites {cite}, but the problem has {len(forms.premises)} facts")
            term, ast, err = forms.fact(n)
        else:
            if cite not in ints:
                return StepVerdict(WRONG, f"cites {cite}, which no earlier step concluded")
            term, ast, err = ints[cite]
        if err is not None:
            return StepVerdict(UNVERIFIABLE, f"{cite} is unusable: {err}")
        facts.append(term)
        asts.append(ast)
    if conclusion is not None:
        goal, goal_ast, err = conclusion
    else:
        goal, goal_ast, err = forms.hyp()
        if goal is not None and d.target.startswith("¬"):
            goal = forms.b.z3.Not(goal)
    if err is not None:
        return StepVerdict(UNVERIFIABLE, err)
    result, reason = entails(forms.b, facts, goal, timeout_ms)
    cited = " & ".join(d.cites) if len(d.cites) <= 8 else f"{' & '.join(d.cites[:6])} & ... ({len(d.cites)} ids)"
    plural = len(d.cites) > 1
    if result == "unsat":
        return StepVerdict(CORRECT, f"{cited} {'entail' if plural else 'entails'} {d.target}")
    if result == "sat":
        known: set[tuple[str, int]] = set()
        for a in asts:
            forms.b.predicates(a, known)
        new = sorted(forms.b.predicates(goal_ast) - known) if goal_ast is not None else []
        hint = (
            f" ({d.target} uses {', '.join(f'{n}/{k}' for n, k in new)}, which no cited fact mentions)" if new else ""
        )
        verb = "do not entail" if plural else "does not entail"
        return StepVerdict(WRONG, f"{cited} {verb} {d.target}: a countermodel exists{hint}")
    if "timeout" in reason or "canceled" in reason:
        return StepVerdict(UNVERIFIABLE, "timeout")
    return StepVerdict(UNVERIFIABLE, f"z3 returned unknown ({reason or 'no reason'})")


def _combine(verdicts: list[StepVerdict]) -> StepVerdict:
    """A step with several formal lines: wrong if any is wrong, else unverifiable if any is, else correct."""
    for kind in (WRONG, UNVERIFIABLE, CORRECT):
        hits = [v.rationale for v in verdicts if v.verdict == kind]
        if hits:
            return StepVerdict(kind, "; ".join(hits))
    return StepVerdict(UNVERIFIABLE, "not in the formal step form")


def check_steps(
    premises: list[str | None],
    hypothesis: str | None,
    steps: list[str],
    reference: str | None,
    timeout_ms: int = 2000,
    budget_s: float = 30.0,
) -> list[tuple[str, str]]:
    """(verdict, rationale) per step. Meant to run in a worker: see :func:`check_response`."""
    started = time.monotonic()
    builder = Z3Builder(_import_z3())
    forms = _Formulas(builder, list(premises), hypothesis)
    ints: dict[str, tuple[Any, Formula | None, str | None]] = {}
    ref = normalize_answer(reference)
    out: list[tuple[str, str]] = []
    for text in steps:
        lines = parse_step(text)
        if not lines:
            out.append((UNVERIFIABLE, "not in the formal step form"))
            continue
        verdicts: list[StepVerdict] = []
        for line in lines:
            if isinstance(line, FinalAnswer):
                if ref is None:
                    verdicts.append(StepVerdict(UNVERIFIABLE, "no reference answer"))
                elif line.answer == ref:
                    verdicts.append(StepVerdict(CORRECT, f"final answer {line.answer} matches the reference"))
                else:
                    verdicts.append(StepVerdict(WRONG, f"final answer {line.answer}, reference {ref}"))
                continue
            conclusion = None
            if line.target.startswith("int"):
                conclusion = forms.build(line.formula, f"{line.target} has no formula")
            remaining_ms = (budget_s - (time.monotonic() - started)) * 1000
            if remaining_ms <= 0:
                verdicts.append(StepVerdict(UNVERIFIABLE, "timeout"))
            else:
                try:
                    verdicts.append(_check_deduction(line, forms, ints, conclusion, int(min(timeout_ms, remaining_ms))))
                except Exception as exc:  # a z3 error on one line must not lose the response's other verdicts
                    verdicts.append(StepVerdict(UNVERIFIABLE, f"checker error: {type(exc).__name__}: {exc}"[:300]))
            if conclusion is not None:
                ints[line.target] = conclusion
        v = _combine(verdicts)
        out.append((v.verdict, v.rationale))
    return out


def check_response(
    premises: list[str | None],
    hypothesis: str | None,
    steps: list[str],
    reference: str | None,
    timeout_ms: int = 2000,
    response_timeout: float = 30.0,
    pool: LimitedPool | None = None,
) -> list[StepVerdict]:
    """Check every step of one response in one limited worker call; a failed call is all unverifiable."""
    pool = pool or default_pool()
    res = pool.call(
        check_steps,
        list(premises),
        hypothesis,
        list(steps),
        reference,
        int(timeout_ms),
        float(response_timeout),
        timeout=float(response_timeout) + _GRACE_S,
    )
    if res.ok:
        return [StepVerdict(v, r) for v, r in res.value]
    why = "timeout" if res.error == "timeout" else f"checker failed ({res.error})"
    return [StepVerdict(UNVERIFIABLE, why) for _ in steps]


# ------------------------------------------------------------------------------------------------------
# Gold label from the premises alone (a sanity check of the parser on FOLIO)
# ------------------------------------------------------------------------------------------------------


def gold_label(premises: list[str], conclusion: str, timeout_ms: int = 5000) -> dict[str, Any]:
    """premises ⊨ conclusion -> True, premises ⊨ ¬conclusion -> False, neither -> Unknown.

    ``label`` is None when a formula does not parse or z3 answers unknown. Runs in a worker.
    """
    builder = Z3Builder(_import_z3())
    facts = []
    try:
        for p in premises:
            facts.append(builder.formula(parse_fol(p).formula))
        goal = builder.formula(parse_fol(conclusion).formula)
    except FolParseError as exc:
        return {"label": None, "error": f"parse: {exc}"}
    pos, why_pos = entails(builder, facts, goal, timeout_ms)
    if pos == "unsat":
        return {"label": "True", "error": None}
    neg, why_neg = entails(builder, facts, builder.z3.Not(goal), timeout_ms)
    if neg == "unsat":
        return {"label": "False", "error": None}
    if pos == "sat" and neg == "sat":
        return {"label": "Unknown", "error": None}
    return {"label": None, "error": f"unknown: {why_pos or why_neg}"}
