"""One-step requests through the scheduler: a step ends at the delimiter, only a terminal step is checked,
and one-step samples are cached and seeded apart from whole continuations of the same prefix."""

from __future__ import annotations

from prmlabel.backends import Completion, GenerationResult, Sampling
from prmlabel.backends.synthetic import SyntheticBackend
from prmlabel.engine.cache import PersistentRolloutCache
from prmlabel.engine.scheduler import Job, Scheduler
from prmlabel.engine.types import RolloutRequest, RolloutResult, StepLabels
from prmlabel.synthetic.problems import make_problems

SAMPLING = Sampling(temperature=0.7, top_p=1.0, max_tokens=512)


def _program(requests: list[RolloutRequest], out: list[list[RolloutResult]]):
    out.append((yield requests))
    return StepLabels([], [], -1)


def _run(backend, requests, question, reference, cache=None, delimiter="\n\n"):
    out: list[list[RolloutResult]] = []
    job = Job(question, reference, "math", _program(requests, out), step_delimiter=delimiter)
    stats = Scheduler(backend, SAMPLING, seed=0, model_key="m", cache=cache).run([job])
    return out[0], job, stats


class Recording:
    """The synthetic backend, recording every request's stop strings."""

    name = "recording"

    def __init__(self, inner=None):
        self.inner = inner or SyntheticBackend(slip_rate=0.0)
        self.stops: list[tuple[str, ...]] = []

    def generate(self, requests):
        self.stops += [r.sampling.stop for r in requests]
        return self.inner.generate(requests)

    def provenance(self):
        return {"model": "recording"}

    def close(self):
        pass


def test_a_step_ends_at_the_delimiter_and_the_last_step_is_checked() -> None:
    row = make_problems(1, (3, 3), seed=0)[0]
    backend = Recording()
    prefix = ""
    steps = []
    while True:  # grow one path step by step, as a tree search does
        (result,), job, _ = _run(
            backend, [RolloutRequest(prefix, 1, one_step=True)], row["question"], row["reference_answer"]
        )
        step = result.rollouts[0]
        steps.append(step)
        prefix += step.text
        if step.terminal:
            break
    assert len(steps) == 3  # three operations, one step each
    assert all(s.text.endswith("\n\n") and s.text.count("\n\n") == 1 and s.correct is None for s in steps[:-1])
    assert steps[-1].correct is True and "\\boxed" in steps[-1].text  # slip 0: the path is right
    assert job.cost.undecided_rollouts == 0  # an open step has no outcome yet; it is not "undecided"
    assert backend.stops == [("\n\n",)] * 3  # the delimiter was sent as a stop string


def test_one_step_and_whole_continuations_are_different_samples(tmp_path) -> None:
    row = make_problems(1, (4, 4), seed=0)[0]
    cache = PersistentRolloutCache(tmp_path / "cache")
    requests = [RolloutRequest("", 2, one_step=True), RolloutRequest("", 2)]
    (step, whole), _, stats = _run(SyntheticBackend(), requests, row["question"], row["reference_answer"], cache)
    assert stats.generated_rollouts == 4  # nothing shared between the two kinds
    assert all(not r.terminal and r.text.count("\n\n") == 1 for r in step.rollouts)
    assert all(r.terminal and r.correct is not None for r in whole.rollouts)
    # The cache keeps the terminal flag: a second run is answered from disk with the same steps.
    again = PersistentRolloutCache(tmp_path / "cache")
    (step2, _), _, stats2 = _run(SyntheticBackend(), requests, row["question"], row["reference_answer"], again)
    assert stats2.generated_rollouts == 0 and step2.rollouts == step.rollouts


class Fixed:
    name = "fixed"

    def __init__(self, text: str, finish: str = "stop", stop_reason: str | None = None):
        self.completion = Completion(text, finish, 5, 3, stop_reason)

    def generate(self, requests):
        return [GenerationResult([self.completion] * r.k) for r in requests]

    def provenance(self):
        return {"model": "fixed"}

    def close(self):
        pass


def test_what_ends_a_solution() -> None:
    one = [RolloutRequest("Step 1: 3 + 4 = 7\n\n", 1, one_step=True)]
    cases = [
        # (text, finish, stop_reason) -> (terminal, correct)
        (("Step 2: 7 * 2 = 14", "stop", "\n\n"), (False, None)),  # stopped at the delimiter: open
        (("Step 2: 7 * 2 = 14", "stop", None), (False, None)),  # cannot tell: open (an empty next step closes it)
        (("Step 2: I give up.", "stop", "eos"), (True, False)),  # the model ended without an answer: wrong
        # Ended by the model: read as any whole continuation is (its last number, math-verify's rule).
        (("Step 2: 7 * 2 = 14", "stop", "eos"), (True, True)),
        (("So the answer is \\boxed{14}.", "stop", "\n\n"), (True, True)),  # states the answer: checked
        (("So the answer is \\boxed{15}.", "stop", None), (True, False)),
        (("Step 2: 7 * 2 =", "length", None), (True, False)),  # cut at max_tokens: never right
        (("", "stop", "\n\n"), (True, False)),  # an empty step ends the path without an answer
        (("", "error", None), (True, None)),  # a backend failure: undecided, counted
    ]
    for (text, finish, stop_reason), expected in cases:
        (result,), job, _ = _run(Fixed(text, finish, stop_reason), one, "q", "14")
        r = result.rollouts[0]
        assert (r.terminal, r.correct) == expected, (text, finish, stop_reason)
        assert r.text == (text if r.terminal else text + "\n\n")
        assert job.cost.undecided_rollouts == (1 if expected == (True, None) else 0)


def test_the_jobs_own_delimiter_is_used() -> None:
    backend = Recording(Fixed("Step 2: x"))
    (result,), _, _ = _run(backend, [RolloutRequest("", 1, one_step=True)], "q", "1", delimiter="\n")
    assert backend.stops == [("\n",)] and result.rollouts[0].text == "Step 2: x\n"
