"""A seeded stochastic policy that SIMULATES a model solving synthetic arithmetic chains.

This is a simulator, not a model. It exists so that labelers can be scored against a known first
wrong step. Its three rates model the three ways Monte-Carlo labels go wrong:

- ``slip_rate``: per step written from a correct state, the result is wrong (off by a small nonzero
  delta, or one digit changed). Errors then propagate: the next step computes from the wrong value.
- ``recovery_rate``: per step written from a wrong state, the policy writes the true running value
  instead (arithmetic inconsistent with its wrong carried value, but back on track). This is why MC
  estimation over-estimates wrong prefixes.
- ``abandon_rate``: per step, the policy stops without a final answer. This is a way to fail from a
  correct prefix, so MC under-estimates correct prefixes.

Solution format, one step per operation, steps separated by ``"\\n\\n"``::

    Step 1: 7 * 3 = 21

    Step 2: 21 + 5 = 26 The answer is \\boxed{26}.

The final answer sits on the last step, so it is never an extra, unlabeled step. Step truth
(:func:`step_correct`, :func:`gold_first_error`) is computed from the text alone, so it applies to
any writer of this format, e.g. a real model prompted to use it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prmlabel.synthetic.problems import SyntheticProblem, apply_op, as_problem
from prmlabel.text.answers import last_boxed

STEP_SEPARATOR = "\n\n"

# Optional "Step N:" label, then "a op b = c" at the start of the step; anything after is free text.
_STEP_RE = re.compile(
    r"^\s*(?:Step\s*(\d+)\s*[:.]\s*)?(-?\d+)\s*([-+*×])\s*(-?\d+)\s*=\s*(-?\d+)(?![\d.]\d)",
    re.IGNORECASE,
)
_INT_RE = re.compile(r"-?\d+")
_SPLIT_RE = re.compile(r".*?(?:\n\n+|$)", re.DOTALL)


@dataclass(frozen=True)
class ParsedStep:
    """One step read from text. An answer-only step ("The answer is \\boxed{26}.") has no equation."""

    number: int | None
    left: int | None
    op: str | None
    operand: int | None
    result: int | None
    answer: str | None  # the boxed text, if the step states a final answer

    @property
    def has_equation(self) -> bool:
        return self.result is not None


def parse_step(text: str) -> ParsedStep | None:
    """Parse one step (its trailing separator may be included); None if it is neither an equation
    step nor an answer-only step."""
    body = text.strip()
    answer = last_boxed(body) if "\\boxed" in body or "\\fbox" in body else None
    m = _STEP_RE.match(body)
    if m is None:
        if answer is not None:
            return ParsedStep(None, None, None, None, None, answer)
        return None
    op = "*" if m.group(3) == "×" else m.group(3)
    return ParsedStep(
        number=int(m.group(1)) if m.group(1) else None,
        left=int(m.group(2)),
        op=op,
        operand=int(m.group(4)),
        result=int(m.group(5)),
        answer=answer,
    )


def split_solution(text: str) -> list[str]:
    """Split a response at ``"\\n\\n"`` runs, each step keeping the separator that follows it, so
    ``"".join(split_solution(t)) == t`` (the rollout contract). The general, configurable splitter is
    :mod:`prmlabel.text.steps`; this one only knows the simulator's own format."""
    return [piece for piece in _SPLIT_RE.findall(text) if piece]


def _int_or_none(text: str | None) -> int | None:
    if text is None:
        return None
    cleaned = text.strip().replace(",", "").replace("{", "").replace("}", "")
    return int(cleaned) if _INT_RE.fullmatch(cleaned) else None


def step_correct(problem: SyntheticProblem | Mapping[str, Any], steps: list[str]) -> list[bool]:
    """Per-step truth of a response, from its text.

    Step i (an equation step) is right iff its operation and operand are the problem's operation i
    and its written result is the true running value after that operation. Its left operand is not
    checked: a recovered step after a slip is right on its own (the first error is the earlier slip).
    A step stating a final answer is right only if it is the last operation's step (or an answer-only
    step after all operations) and the answer equals the true final value: an early or wrong answer is
    an error. A step that cannot be parsed is wrong, and so is an equation step beyond the last
    operation. Step numbers ("Step N:") are cosmetic and not checked.
    """
    prob = as_problem(problem)
    values = prob.values
    n_ops = len(prob.ops)
    out: list[bool] = []
    op_index = 0  # operation index of the next equation step
    for step in steps:
        parsed = parse_step(step)
        if parsed is None:
            out.append(False)
            op_index += 1
            continue
        if not parsed.has_equation:
            out.append(op_index >= n_ops and _int_or_none(parsed.answer) == prob.answer)
            continue
        ok = op_index < n_ops and (parsed.op, parsed.operand) == prob.ops[op_index]
        ok = ok and parsed.result == values[op_index + 1]
        if parsed.answer is not None:
            ok = ok and op_index == n_ops - 1 and _int_or_none(parsed.answer) == prob.answer
        out.append(ok)
        op_index += 1
    return out


def gold_first_error(problem: SyntheticProblem | Mapping[str, Any], steps: list[str]) -> int:
    """Index of the first wrong step, -1 if every step is right.

    Computed from the text, so a response whose steps are all right but which never states the
    final answer is -1 (and not correct): its steps are right, it merely stopped.
    """
    for i, ok in enumerate(step_correct(problem, steps)):
        if not ok:
            return i
    return -1


def _wrong_value(correct: int, rng: random.Random, avoid: int | None = None) -> int:
    """A plausible wrong result: off by a small nonzero delta, or one digit changed. Never ``correct``
    and never ``avoid`` (so a slip cannot land on the true value by chance)."""
    for _ in range(64):
        if abs(correct) < 10 or rng.random() < 0.6:
            candidate = correct + rng.choice((-1, 1)) * rng.randint(1, 10)
        else:
            digits = list(str(abs(correct)))
            pos = rng.randrange(len(digits))
            choices = [d for d in "0123456789" if d != digits[pos] and not (pos == 0 and d == "0")]
            digits[pos] = rng.choice(choices)
            candidate = int("".join(digits)) * (-1 if correct < 0 else 1)
        if candidate != correct and candidate != avoid:
            return candidate
    delta = 1
    while correct + delta == avoid:  # unreachable in practice; keeps the function total
        delta += 1
    return correct + delta


@dataclass(frozen=True)
class _PrefixState:
    next_op: int  # operation index of the next step to write
    carried: int  # the last written value
    finished: bool  # the prefix already states a final answer


class SyntheticPolicy:
    """A SIMULATED policy for synthetic problems with configurable slip, recovery and abandon rates.

    All randomness comes from the ``rng`` passed to :meth:`continue_text`, so a seed fixes the text.
    Per step it draws, in order: abandon, then slip (correct state) or recovery (wrong state). A step
    written from a wrong state that does not recover also slips with ``slip_rate``, but never onto
    the true value, so the observed recovery rate is exactly ``recovery_rate``.
    """

    def __init__(self, slip_rate: float = 0.1, recovery_rate: float = 0.2, abandon_rate: float = 0.0) -> None:
        for name, rate in (
            ("slip_rate", slip_rate),
            ("recovery_rate", recovery_rate),
            ("abandon_rate", abandon_rate),
        ):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {rate}")
        self.slip_rate = slip_rate
        self.recovery_rate = recovery_rate
        self.abandon_rate = abandon_rate

    def describe(self) -> str:
        """The policy's name in provenance."""
        return (
            f"synthetic-policy(slip={self.slip_rate:g},recovery={self.recovery_rate:g},abandon={self.abandon_rate:g})"
        )

    def solve(self, problem: SyntheticProblem | Mapping[str, Any], rng: random.Random) -> str:
        """A whole solution (the continuation of the empty prefix)."""
        return self.continue_text(problem, "", rng)

    def continue_text(self, problem: SyntheticProblem | Mapping[str, Any], prefix: str, rng: random.Random) -> str:
        """Continue ``prefix`` (whole steps of this format, each followed by ``"\\n\\n"``, or empty).

        The last written value is carried on, whether or not it is the true running value. The
        returned text excludes the prefix, and ``prefix + text`` is a well-formed solution; if the
        prefix does not end in a separator, the text starts with one. If the prefix already states a
        final answer the continuation is empty; if it completed every operation without stating one,
        an answer-only step is written. If the prefix cannot be parsed (a step not in this format),
        the policy ignores it and writes a solution from the start value, beginning at Step 1: then
        ``prefix + text`` is not well-formed, which is the honest outcome for foreign text.
        """
        prob = as_problem(problem)
        state = self._read_prefix(prob, prefix)
        if state is None:
            state = _PrefixState(next_op=0, carried=prob.start, finished=False)
        if state.finished:
            return ""
        steps = self._write_steps(prob, state, rng)
        if not steps:
            return ""
        return _separator_after(prefix) + STEP_SEPARATOR.join(steps)

    @staticmethod
    def _read_prefix(problem: SyntheticProblem, prefix: str) -> _PrefixState | None:
        carried = problem.start
        count = 0
        for piece in prefix.split(STEP_SEPARATOR):
            if not piece.strip():
                continue
            parsed = parse_step(piece)
            if parsed is None:
                return None
            if parsed.answer is not None or parsed.result is None:
                return _PrefixState(next_op=count, carried=carried, finished=True)
            carried = parsed.result
            count += 1
        return _PrefixState(next_op=count, carried=carried, finished=False)

    def _write_steps(self, problem: SyntheticProblem, state: _PrefixState, rng: random.Random) -> list[str]:
        values = problem.values
        n_ops = len(problem.ops)
        carried = state.carried
        if state.next_op >= n_ops:
            return [f"The answer is \\boxed{{{carried}}}."]
        steps: list[str] = []
        for j in range(state.next_op, n_ops):
            if rng.random() < self.abandon_rate:
                break
            op, operand = problem.ops[j]
            truth = values[j + 1]
            if carried == values[j]:
                result = _wrong_value(truth, rng) if rng.random() < self.slip_rate else truth
            elif rng.random() < self.recovery_rate:
                result = truth
            else:
                result = apply_op(carried, op, operand)
                if rng.random() < self.slip_rate:
                    result = _wrong_value(result, rng, avoid=truth)
            text = f"Step {j + 1}: {carried} {op} {operand} = {result}"
            if j == n_ops - 1:
                text += f" The answer is \\boxed{{{result}}}."
            steps.append(text)
            carried = result
        return steps


def _separator_after(prefix: str) -> str:
    """What must precede a new step after ``prefix``: nothing, or enough newlines to make ``"\\n\\n"``."""
    if not prefix.strip():
        return ""
    trailing = len(prefix) - len(prefix.rstrip("\n"))
    return "\n" * max(0, 2 - trailing)
