"""Synthetic arithmetic-chain problems: the SIMULATOR's ground truth.

A real labeling pipeline cannot be judged without knowing which step is wrong, so the synthetic
environment uses problems whose every step is checkable integer arithmetic: a start value followed by
a chain of ``+``, ``-`` and ``*`` operations with small operands. This module only makes and reads
problems; the simulated policy that solves them lives in :mod:`prmlabel.synthetic.policy`.

The question text fully determines the problem and can be parsed back by a regular expression (never
by evaluating text), even when it is embedded in a longer prompt template, because the simulated
backend only ever sees the rendered prompt.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# |running value| stays below this: multiplications that would cross it are not drawn, and a value
# past half of it is pulled back toward zero. Keeps numbers readable and far from 10**6.
VALUE_BOUND = 100_000

OPS: tuple[str, ...] = ("+", "-", "*")
_OP_WORDS: dict[str, str] = {"+": "add", "-": "subtract", "*": "multiply by"}
_WORD_OPS: dict[str, str] = {w: op for op, w in _OP_WORDS.items()}

_OP_WORD_RE = r"(?:add|subtract|multiply\s+by)"
_QUESTION_RE = re.compile(
    r"Start\s+with\s+(-?\d+)\.\s+"
    rf"({_OP_WORD_RE}\s+-?\d+(?:\s*,\s*then\s+{_OP_WORD_RE}\s+-?\d+)*)"
    r"\.\s+What\s+is\s+the\s+final\s+number\?",
    re.IGNORECASE,
)
_CLAUSE_RE = re.compile(rf"({_OP_WORD_RE})\s+(-?\d+)", re.IGNORECASE)


def apply_op(value: int, op: str, operand: int) -> int:
    """One arithmetic operation on integers (a lookup, never an evaluation of text)."""
    if op == "+":
        return value + operand
    if op == "-":
        return value - operand
    if op == "*":
        return value * operand
    raise ValueError(f"unknown operation {op!r}")


@dataclass(frozen=True)
class SyntheticProblem:
    """A start value and a chain of ``(op, operand)`` operations; the truth of every step is known."""

    start: int
    ops: tuple[tuple[str, int], ...]

    @property
    def values(self) -> tuple[int, ...]:
        """Running values: ``values[0]`` is the start, ``values[i + 1]`` the value after operation i."""
        out = [self.start]
        for op, operand in self.ops:
            out.append(apply_op(out[-1], op, operand))
        return tuple(out)

    @property
    def answer(self) -> int:
        return self.values[-1]

    @property
    def question(self) -> str:
        """Natural text that determines the problem and that :func:`parse_question` reads back."""
        clauses = [f"{_OP_WORDS[op]} {operand}" for op, operand in self.ops]
        chain = ", then ".join(clauses)
        chain = chain[:1].upper() + chain[1:]
        return f"Start with {self.start}. {chain}. What is the final number?"

    def meta(self) -> str:
        """The structured problem as JSON text (the ``meta`` column), so truth never depends on parsing."""
        return json.dumps(
            {"kind": "synthetic-arithmetic-chain", "start": self.start, "ops": [list(o) for o in self.ops]}
        )

    @classmethod
    def from_meta(cls, meta: str | Mapping[str, Any]) -> SyntheticProblem | None:
        """Rebuild from the ``meta`` JSON; None if it does not hold a well-formed chain."""
        try:
            data = json.loads(meta) if isinstance(meta, str) else meta
            start = data["start"]
            ops = tuple((str(op), operand) for op, operand in data["ops"])
        except (TypeError, ValueError, KeyError):
            return None
        if not isinstance(start, int) or isinstance(start, bool):
            return None
        for op, operand in ops:
            if op not in OPS or not isinstance(operand, int) or isinstance(operand, bool):
                return None
        return cls(start=start, ops=ops) if ops else None


def _draw_op(rng: random.Random, value: int) -> tuple[str, int]:
    """Draw one operation that keeps the chain integer and bounded."""
    if value > VALUE_BOUND // 2:
        return "-", rng.randint(1, 50)
    if value < -VALUE_BOUND // 2:
        return "+", rng.randint(1, 50)
    op = rng.choices(OPS, weights=(0.35, 0.3, 0.35))[0]
    if op == "*":
        operand = rng.randint(2, 9)
        if abs(value * operand) >= VALUE_BOUND:
            return rng.choice(("+", "-")), rng.randint(1, 50)
        return "*", operand
    return op, rng.randint(1, 50)


def make_problem(index: int, steps: tuple[int, int], seed: int) -> SyntheticProblem:
    """Problem ``index`` of seed ``seed``; drawn from its own stream, so it does not depend on ``count``."""
    rng = random.Random(f"prmlabel.synthetic.problems:{seed}:{index}")
    n_ops = rng.randint(steps[0], steps[1])
    value = rng.randint(2, 20)
    start = value
    ops: list[tuple[str, int]] = []
    for _ in range(n_ops):
        op, operand = _draw_op(rng, value)
        ops.append((op, operand))
        value = apply_op(value, op, operand)
    return SyntheticProblem(start=start, ops=tuple(ops))


def problem_row(problem: SyntheticProblem, problem_id: str) -> dict[str, str]:
    """A row of the ``problems`` schema for ``problem``."""
    return {
        "problem_id": problem_id,
        "question": problem.question,
        "reference_answer": str(problem.answer),
        "domain": "math",
        "source": "synthetic",
        "meta": problem.meta(),
    }


def make_problems(count: int, steps: tuple[int, int], seed: int) -> list[dict[str, str]]:
    """``count`` simulator problems as ``problems`` rows, deterministic for ``seed``.

    The number of operations of each problem is uniform over the inclusive range ``steps``. Problem
    ``i`` is the same whatever ``count`` is, so a larger set extends a smaller one.
    """
    lo, hi = steps
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if lo < 1 or lo > hi:
        raise ValueError(f"steps must be an inclusive range (lo, hi) with 1 <= lo <= hi, got {steps}")
    return [problem_row(make_problem(i, (lo, hi), seed), f"syn-{seed}-{i:05d}") for i in range(count)]


def parse_question(text: str) -> SyntheticProblem | None:
    """Recover the problem from its question text, also when embedded in a longer prompt.

    Regex only (the text is data, never evaluated). If the text holds several synthetic questions
    (say a few-shot example before the real one), the last is taken: templates put the question
    after their examples and instructions.
    """
    if not text:
        return None
    matches = list(_QUESTION_RE.finditer(text))
    if not matches:
        return None
    m = matches[-1]
    ops: list[tuple[str, int]] = []
    for clause in _CLAUSE_RE.finditer(m.group(2)):
        word = " ".join(clause.group(1).lower().split())
        ops.append((_WORD_OPS[word], int(clause.group(2))))
    return SyntheticProblem(start=int(m.group(1)), ops=tuple(ops))


def problem_from_row(row: Mapping[str, Any]) -> SyntheticProblem | None:
    """The problem of a ``problems``/``rollouts`` row: from ``meta`` if it holds one, else the question."""
    meta = row.get("meta")
    if meta:
        problem = SyntheticProblem.from_meta(meta)
        if problem is not None:
            return problem
    question = row.get("question")
    return parse_question(question) if isinstance(question, str) else None


def as_problem(problem: SyntheticProblem | Mapping[str, Any]) -> SyntheticProblem:
    """Accept a problem or a row; raise if a row holds no synthetic problem (a caller bug, not data)."""
    if isinstance(problem, SyntheticProblem):
        return problem
    parsed = problem_from_row(problem)
    if parsed is None:
        raise ValueError(f"row {problem.get('problem_id')!r} holds no synthetic problem")
    return parsed
