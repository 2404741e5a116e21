"""The scheduler: one backend batch per round, shared samples, exact cost accounting."""

from __future__ import annotations

import random

from prmlabel.backends import Completion, GenerationResult, Sampling
from prmlabel.backends.synthetic import SyntheticBackend
from prmlabel.engine.scheduler import Job, Scheduler
from prmlabel.engine.types import ResponseView, RolloutRequest, StepLabels
from prmlabel.labelers.mc import MathShepherdMC, MCParams
from prmlabel.synthetic.policy import SyntheticPolicy
from prmlabel.synthetic.problems import make_problems
from prmlabel.text.steps import split_steps

SAMPLING = Sampling(temperature=0.7, top_p=1.0, max_tokens=512)


class CountingBackend:
    """The synthetic backend, counting what reaches it."""

    name = "counting"

    def __init__(self, **options):
        self.inner = SyntheticBackend(**options)
        self.calls: list[int] = []
        self.samples = 0

    def generate(self, requests):
        self.calls.append(len(requests))
        self.samples += sum(r.k for r in requests)
        return self.inner.generate(requests)

    def provenance(self):
        return self.inner.provenance()

    def close(self):
        pass


def _responses(n: int, seed: int = 0, slip: float = 0.2):
    policy = SyntheticPolicy(slip_rate=slip, recovery_rate=0.0)
    rng = random.Random(seed)
    out = []
    for row in make_problems(n, (3, 6), seed=seed):
        text = policy.continue_text(row, "", rng)
        out.append((row, split_steps(text)))
    return out


def _jobs(responses, labeler):
    jobs = []
    for row, steps in responses:
        view = ResponseView(row["problem_id"], row["problem_id"] + "/r0", tuple(steps), is_correct=False)
        jobs.append(
            Job(question=row["question"], reference=row["reference_answer"], domain="math", program=labeler.label(view))
        )
    return jobs


def test_all_responses_share_one_backend_call_per_round():
    backend = CountingBackend()
    jobs = _jobs(_responses(30), MathShepherdMC(MCParams(k=4)))
    stats = Scheduler(backend, SAMPLING, seed=0, model_key="m").run(jobs)
    assert stats.rounds == 1 and backend.calls and len(backend.calls) == 1
    assert all(j.result is not None for j in jobs)
    assert stats.generated_rollouts == backend.samples
    assert sum(j.cost.rollouts for j in jobs) == stats.generated_rollouts + stats.cache_hits


def test_max_batch_splits_calls_but_not_results():
    responses = _responses(20)
    a = _jobs(responses, MathShepherdMC(MCParams(k=4)))
    b = _jobs(responses, MathShepherdMC(MCParams(k=4)))
    backend = CountingBackend()
    Scheduler(SyntheticBackend(), SAMPLING, seed=3, model_key="m").run(a)
    Scheduler(backend, SAMPLING, seed=3, model_key="m", max_batch=7).run(b)
    assert max(backend.calls) <= 7 and len(backend.calls) > 1
    assert [j.result.values for j in a] == [j.result.values for j in b]


def _asker(prefix: str, k: int, offset: int = 0):
    def program():
        results = yield [RolloutRequest(prefix, k, offset)]
        return StepLabels(
            values=[results[0].mc], hard=[True], first_error=-1, extra={"texts": [r.text for r in results[0].rollouts]}
        )

    return program()


def test_the_same_samples_are_shared_and_charged_once():
    row = make_problems(1, (4, 4), seed=0)[0]
    backend = CountingBackend()
    jobs = [Job(row["question"], row["reference_answer"], "math", _asker("", 4)) for _ in range(3)]
    stats = Scheduler(backend, SAMPLING, seed=0, model_key="m").run(jobs)
    assert backend.samples == 4 and stats.cache_hits == 8
    assert [j.cost.cache_hits for j in jobs] == [0, 4, 4]
    assert jobs[0].cost.generated_tokens > 0 and jobs[1].cost.generated_tokens == 0
    assert jobs[0].result.extra == jobs[1].result.extra == jobs[2].result.extra


def test_offsets_draw_new_samples_and_reuse_old_ones():
    row = make_problems(1, (4, 4), seed=0)[0]
    backend = CountingBackend()
    scheduler = Scheduler(backend, SAMPLING, seed=0, model_key="m")
    first = Job(row["question"], row["reference_answer"], "math", _asker("", 4))
    scheduler.run([first])
    wider = Job(row["question"], row["reference_answer"], "math", _asker("", 8))
    scheduler.run([wider])
    assert backend.samples == 8  # 4, then only the 4 new ones
    assert wider.result.extra["texts"][:4] == first.result.extra["texts"]
    # sample j is sample j, whoever asks and in what shape
    later = Job(row["question"], row["reference_answer"], "math", _asker("", 2, offset=2))
    Scheduler(SyntheticBackend(), SAMPLING, seed=0, model_key="m").run([later])
    assert later.result.extra["texts"] == first.result.extra["texts"][2:4]


def test_a_failing_labeler_is_reported_and_the_rest_finish():
    def broken():
        yield [RolloutRequest("", 2)]
        raise ZeroDivisionError("boom")

    row = make_problems(1, (4, 4), seed=0)[0]
    jobs = [
        Job(row["question"], row["reference_answer"], "math", broken()),
        Job(row["question"], row["reference_answer"], "math", _asker("", 2)),
    ]
    Scheduler(SyntheticBackend(), SAMPLING, seed=0, model_key="m").run(jobs)
    assert jobs[0].error == "labeler error: ZeroDivisionError: boom" and jobs[0].result is None
    assert jobs[1].result is not None


class FixedBackend:
    name = "fixed"

    def __init__(self, text: str, finish: str):
        self.text, self.finish = text, finish

    def generate(self, requests):
        return [GenerationResult([Completion(self.text, self.finish, 5, 3)] * r.k) for r in requests]

    def provenance(self):
        return {"model": "fixed"}

    def close(self):
        pass


def test_truncated_empty_and_answerless_completions_never_count():
    for text, finish in (("The answer is \\boxed{7}.", "length"), ("", "stop"), ("   ", "stop"), ("no answer", "stop")):
        job = Job("q", "7", "math", _asker("Step 1: 3 + 4 = 7\n\n", 2))
        Scheduler(FixedBackend(text, finish), SAMPLING, seed=0, model_key="m").run([job])
        assert job.result.values == [0.0], (text, finish)
    ok = Job("q", "7", "math", _asker("Step 1: 3 + 4 = 7\n\n", 2))
    Scheduler(FixedBackend("The answer is \\boxed{7}.", "stop"), SAMPLING, seed=0, model_key="m").run([ok])
    assert ok.result.values == [1.0]


def test_completion_is_checked_joined_to_its_prefix():
    # the prefix already states the answer; the completion only closes the sentence
    job = Job("q", "12", "math", _asker("So the answer is \\boxed{12}", 1))
    Scheduler(FixedBackend(".", "stop"), SAMPLING, seed=0, model_key="m").run([job])
    assert job.result.values == [1.0]


def test_token_budget_stops_a_problem_and_says_why():
    responses = _responses(4)
    jobs = _jobs(responses, MathShepherdMC(MCParams(k=4, waves=1)))
    for job, (row, _) in zip(jobs, responses, strict=True):
        job.group = row["problem_id"]
    Scheduler(SyntheticBackend(), SAMPLING, seed=0, model_key="m", token_budget=60).run(jobs)
    stopped = [j for j in jobs if j.error]
    assert stopped and all("token budget spent" in j.error and j.result is None for j in stopped)
    unlimited = _jobs(responses, MathShepherdMC(MCParams(k=4, waves=1)))
    Scheduler(SyntheticBackend(), SAMPLING, seed=0, model_key="m").run(unlimited)
    assert all(j.result is not None for j in unlimited)
    assert sum(j.cost.generated_tokens for j in jobs) < sum(j.cost.generated_tokens for j in unlimited)


# -- fresh prompts (RolloutRequest.question): a judge's critiques ------------------------------------


class RecordingBackend(CountingBackend):
    """The synthetic backend, keeping every GenerationRequest it was sent."""

    def __init__(self, **options):
        super().__init__(**options)
        self.requests = []

    def generate(self, requests):
        self.requests.extend(requests)
        return super().generate(requests)


def _judge_prompt(row, steps):
    from prmlabel.text.judge_prompts import render_prompt

    return render_prompt("processbench", row["question"], steps)


def _fresh_asker(question: str, k: int, offset: int = 0):
    def program():
        (result,) = yield [RolloutRequest("", k, offset, question=question)]
        texts = [r.text for r in result.rollouts]
        return StepLabels(values=[], hard=[], first_error=-1, extra={"texts": texts, "correct": result.n_correct})

    return program()


def test_a_fresh_prompt_is_sent_alone_from_an_empty_assistant_turn_and_never_checked():
    (row, steps), *_ = _responses(1)
    prompt = _judge_prompt(row, steps)
    backend = RecordingBackend()
    job = Job(row["question"], row["reference_answer"], "math", _fresh_asker(prompt, 3))
    Scheduler(backend, SAMPLING, seed=0, model_key="m", system="the policy's system prompt").run([job])
    (sent,) = backend.requests
    assert sent.question == prompt and sent.prefix == "" and sent.system is None and sent.k == 3
    texts = job.result.extra["texts"]
    assert len(texts) == 3 and all("\\boxed{" in t for t in texts)  # critiques, not solutions
    assert job.result.extra["correct"] == 0  # answers to a fresh prompt are not compared with the reference


def test_fresh_prompt_samples_are_keyed_by_the_prompt_seeded_and_costed_like_rollouts(tmp_path):
    from prmlabel.engine.cache import PersistentRolloutCache

    (row_a, steps_a), (row_b, steps_b) = _responses(2)
    prompt_a, prompt_b = _judge_prompt(row_a, steps_a), _judge_prompt(row_b, steps_b)
    backend = RecordingBackend(judge_accuracy=0.5)
    # Two jobs (even of another problem) asking for the same prompt share its samples; another prompt does not.
    jobs = [
        Job(row_a["question"], row_a["reference_answer"], "math", _fresh_asker(prompt_a, 4)),
        Job(row_b["question"], row_b["reference_answer"], "math", _fresh_asker(prompt_a, 4)),
        Job(row_b["question"], row_b["reference_answer"], "math", _fresh_asker(prompt_b, 4)),
    ]
    cache = PersistentRolloutCache(tmp_path / "cache")
    stats = Scheduler(backend, SAMPLING, seed=5, model_key="m", cache=cache).run(jobs)
    assert backend.samples == 8 and stats.cache_hits == 4
    assert [j.cost.cache_hits for j in jobs] == [0, 4, 0] and [j.cost.rollouts for j in jobs] == [4, 4, 4]
    assert jobs[0].cost.generated_tokens > 0 and jobs[1].cost.generated_tokens == 0
    assert jobs[0].result.extra == jobs[1].result.extra
    # Votes are reproducible: a new run draws the same critiques; sample j is sample j at any offset.
    again = Job(row_a["question"], row_a["reference_answer"], "math", _fresh_asker(prompt_a, 2, offset=2))
    Scheduler(SyntheticBackend(judge_accuracy=0.5), SAMPLING, seed=5, model_key="m").run([again])
    assert again.result.extra["texts"] == jobs[0].result.extra["texts"][2:4]
    # A resumed run reads them from the on-disk cache without the backend.
    resumed_backend = RecordingBackend(judge_accuracy=0.5)
    resumed = Job(row_a["question"], row_a["reference_answer"], "math", _fresh_asker(prompt_a, 4))
    Scheduler(resumed_backend, SAMPLING, seed=5, model_key="m", cache=PersistentRolloutCache(tmp_path / "cache")).run(
        [resumed]
    )
    assert resumed_backend.samples == 0 and resumed.result.extra == jobs[0].result.extra
    # Another run seed draws other critiques (a seed is not ignored): 16 votes at a coin-flip accuracy
    # agree in every position across two seeds with probability below 1e-4.
    drawn = []
    for seed in (5, 6):
        job = Job(row_a["question"], row_a["reference_answer"], "math", _fresh_asker(prompt_a, 16))
        Scheduler(SyntheticBackend(judge_accuracy=0.5), SAMPLING, seed=seed, model_key="m").run([job])
        drawn.append(job.result.extra["texts"])
    assert drawn[0][:4] == jobs[0].result.extra["texts"] and drawn[0] != drawn[1]


def test_a_fresh_prompt_with_a_prefix_is_refused():
    (row, steps), *_ = _responses(1)

    def program():
        yield [RolloutRequest("Step 1:", 1, question="a prompt")]

    job = Job(row["question"], row["reference_answer"], "math", program())
    try:
        Scheduler(SyntheticBackend(), SAMPLING, seed=0, model_key="m").run([job])
    except ValueError as exc:
        assert "bad rollout request" in str(exc)
    else:
        raise AssertionError("a fresh prompt with a prefix must be refused")


def test_a_backend_failure_is_undecided_never_a_wrong_continuation():
    # An error (e.g. a prompt over the context limit) says nothing about the prefix: left out, counted.
    job = Job("q", "7", "math", _asker("Step 1: 3 + 4 = 7\n\n", 2))
    Scheduler(FixedBackend("", "error"), SAMPLING, seed=0, model_key="m").run([job])
    assert job.result.values == [None]
    assert job.cost.undecided_rollouts == 2 and job.cost.rollouts == 2


def test_the_completions_own_answer_wins_over_a_box_in_the_prefix():
    # The prefix boxed an intermediate 12; the continuation concludes 15: the continuation's answer counts.
    job = Job("q", "12", "math", _asker("Step 1: first \\boxed{12}\n\n", 1))
    Scheduler(FixedBackend("then add 3. The answer is 15.", "stop"), SAMPLING, seed=0, model_key="m").run([job])
    assert job.result.values == [0.0]
