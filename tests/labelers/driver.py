"""Drive a labeler program by hand: a scripted ``outcome`` supplies the continuations.

``outcome(prefix, k, offset)`` returns the k continuations of ``prefix`` (samples ``offset`` ..
``offset + k - 1``), each either a bool (correct or not) or a ``(text, correct, tokens)`` tuple.
:func:`drive` answers every round's requests in order, as the scheduler does, and returns the
labels, the number of rounds and every request the program made (in order).

:func:`run_synthetic` runs a labeler end to end instead: the real scheduler over the synthetic
backend, on responses whose first wrong step is known.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prmlabel.backends import Sampling
from prmlabel.backends.synthetic import SyntheticBackend
from prmlabel.engine.scheduler import Job, JobCost, RunStats, Scheduler
from prmlabel.engine.types import LabelProgram, ResponseView, Rollout, RolloutRequest, RolloutResult, StepLabels
from prmlabel.labelers.base import Labeler
from prmlabel.stages.label import DEFAULT_PROMPT
from prmlabel.synthetic.policy import SyntheticPolicy, gold_first_error
from prmlabel.synthetic.problems import make_problems
from prmlabel.text.answers import check_answer
from prmlabel.text.steps import split_steps

# A continuation: correct (True/1), wrong (False/0), undecided (None: a backend failure or an answer
# the checker cannot judge), or (text, correct, tokens).
Continuation = bool | int | None | tuple[str, bool | None, int]
Outcome = Callable[[str, int, int], Sequence[Continuation]]


def _correct(value: bool | int | None) -> bool | None:
    return None if value is None else bool(value)


def _rollout(item: Continuation) -> Rollout:
    if isinstance(item, tuple):
        text, correct, tokens = item
        return Rollout(text=text, correct=_correct(correct), finish_reason="stop", completion_tokens=tokens)
    return Rollout(text="", correct=_correct(item), finish_reason="stop", completion_tokens=0)


def drive(program: LabelProgram | StepLabels, outcome: Outcome) -> tuple[StepLabels, int, list[RolloutRequest]]:
    """Run ``program`` to the end; a labeler that returns before its first yield may hand back labels."""
    if isinstance(program, StepLabels):
        return program, 0, []
    requests: list[RolloutRequest] = []
    rounds = 0
    try:
        pending = next(program)
        while True:
            rounds += 1
            assert isinstance(pending, list) and pending, f"a round must be a non-empty list, got {pending!r}"
            requests.extend(pending)
            results = []
            for request in pending:
                items = list(outcome(request.prefix, request.k, request.offset))
                assert len(items) == request.k, f"outcome gave {len(items)} continuations for {request}"
                results.append(RolloutResult(request, tuple(_rollout(item) for item in items)))
            pending = program.send(results)
    except StopIteration as stop:
        return stop.value, rounds, requests


def fixed(mc: dict[str, float], default: float | None = None) -> Outcome:
    """An outcome where the first ``round(mc[prefix] * k)`` samples of each request are correct (offsets
    ignored), so a prefix's estimate is exactly ``mc[prefix]`` when ``mc * k`` is whole. A prefix not in
    ``mc`` takes ``default``, or fails the test if there is none."""

    def outcome(prefix: str, k: int, offset: int) -> list[bool]:
        value = mc.get(prefix, default)
        if value is None:
            raise AssertionError(f"unexpected rollout request for prefix {prefix!r}")
        n = round(value * k)
        return [i < n for i in range(k)]

    return outcome


@dataclass
class SyntheticCase:
    """One synthetic response run through the real scheduler: its truth and the labeler's verdict."""

    problem_id: str
    steps: tuple[str, ...]
    is_correct: bool
    gold_first_error: int
    labels: StepLabels
    cost: JobCost


def run_synthetic(
    labeler: Labeler,
    problems: int = 30,
    responses: int = 4,
    op_steps: tuple[int, int] = (3, 6),
    slip_rate: float = 0.05,
    seed: int = 0,
) -> tuple[list[SyntheticCase], RunStats]:
    """Label synthetic responses end to end with the real Scheduler and SyntheticBackend.

    recovery_rate is 0, so a prefix holding a wrong step never finishes correctly: its MC is exactly 0
    and the gold first error is where every Monte-Carlo method should see the drop. Jobs are built as
    ``prmlabel label`` builds them (question = the default prompt template filled with the question;
    ``problem_pass_rate`` = the fraction of the problem's responses that are correct).
    """
    policy = SyntheticPolicy(slip_rate=slip_rate, recovery_rate=0.0)
    rows = make_problems(problems, op_steps, seed)
    drawn: list[tuple[dict[str, str], tuple[str, ...], bool]] = []
    for row in rows:
        for j in range(responses):
            rng = random.Random(f"tests.labelers:{seed}:{row['problem_id']}:{j}")
            text = policy.continue_text(row, "", rng)
            correct = check_answer(text, row["reference_answer"], "math").is_correct
            drawn.append((row, tuple(split_steps(text)), correct))
    pass_rate = {row["problem_id"]: sum(c for r, _, c in drawn if r is row) / responses for row in rows}
    jobs: list[Job] = []
    for j, (row, steps, correct) in enumerate(drawn):
        view = ResponseView(row["problem_id"], f"r{j}", steps, correct, pass_rate[row["problem_id"]])
        jobs.append(
            Job(
                question=DEFAULT_PROMPT["template"].replace("{question}", row["question"]),
                reference=row["reference_answer"],
                domain="math",
                program=labeler.label(view),
                payload=(row, steps, correct),
            )
        )
    backend = SyntheticBackend(slip_rate=slip_rate, recovery_rate=0.0)
    scheduler = Scheduler(backend, Sampling(0.7, 1.0, 1024, ()), seed=seed, model_key="synthetic-test")
    stats = scheduler.run(jobs)
    cases = []
    for job in jobs:
        assert job.error is None, job.error
        row, steps, correct = job.payload
        cases.append(
            SyntheticCase(row["problem_id"], steps, correct, gold_first_error(row, list(steps)), job.result, job.cost)
        )
    return cases, stats


def judge_on(backend, max_tokens: int = 48, votes: int = 1) -> tuple[StepLabels, JobCost]:
    """Run the judge labeler over one tiny two-step solution on a real ``backend``, through the scheduler."""
    from prmlabel.labelers import load_labeler

    judge = load_labeler("judge", {"max_tokens": max_tokens, "votes": votes})
    view = ResponseView(
        problem_id="p",
        response_id="p/r0",
        steps=("12 + 30 = 42.\n\n", "The answer is \\boxed{42}."),
        is_correct=True,
        problem={"question": "What is 12 + 30?", "reference_answer": "42", "domain": "math", "meta": {}},
    )
    job = Job("What is 12 + 30?", "42", "math", judge.label(view))
    Scheduler(backend, judge.sampling(), seed=0, model_key="judge-test").run([job])
    assert job.error is None, job.error
    assert job.result is not None
    return job.result, job.cost
