"""The rollout scheduler: every response's labeler runs side by side, one backend batch per round.

Each round the scheduler gathers the pending requests of all unfinished labelers, answers the
samples it has already drawn from the rollout cache, sends the rest to the backend as one batch
(deduplicated: two labelers asking for sample j of one prefix share one completion), checks each
completion joined to its prefix against the reference answer, and hands the results back. A shard
of binary searches therefore costs about log2(steps) backend calls, not one per response.

Seeds: sample j of a prefix draws with ``derive_seed(run seed, question, prefix) + j``, so a sample
is the same whichever labeler asks, in whatever order, after however many restarts.

A one-step request (``RolloutRequest.one_step``, a tree search's expansion) is answered the same
way with the job's step delimiter added to the stop strings: each sample is one step, terminal or
not (see :class:`~prmlabel.engine.types.Rollout`), cached and seeded apart from full continuations.

A request with its own ``question`` (a fresh prompt, e.g. a judge's critique) is answered the same
way, keyed by that prompt instead of the job's question and prefix: sample j of a prompt is cached,
seeded (``derive_seed(run seed, key) + j``) and costed like a continuation, but never checked
against the reference and sent without the job's system prompt (that is the policy's).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from prmlabel.backends import Backend, Completion, GenerationRequest, Sampling
from prmlabel.engine.cache import RolloutCache, prefix_key
from prmlabel.engine.types import LabelProgram, Rollout, RolloutRequest, RolloutResult, StepLabels
from prmlabel.runtime.seeds import derive_seed
from prmlabel.text.answers import RULES_VERSION, compare_answers, extract_answer, try_extract_answer


@dataclass
class JobCost:
    """What one response's labeling cost, independent of what any cache held when it ran.

    ``rollouts`` counts the samples the labeler used; ``cache_hits`` those of them that another
    response of the same run used first (shared prefixes); tokens are those of the samples this
    response used first. So a resumed or re-run shard writes the same costs as an uninterrupted
    one; what the backend actually generated is counted per shard (:class:`RunStats`).
    """

    requests: int = 0
    rollouts: int = 0
    cache_hits: int = 0
    generated_tokens: int = 0
    prompt_tokens: int = 0
    rounds: int = 0
    undecided_rollouts: int = 0  # samples used whose outcome is unknown (left out of the estimates)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Job:
    """One response to label: its question (as the policy saw it), reference, and labeler program."""

    question: str
    reference: str | None
    domain: str
    program: LabelProgram
    payload: Any = None  # the caller's handle on the row; the scheduler never reads it
    group: str = ""  # the problem: a token budget is shared by the responses of one problem
    step_delimiter: str = "\n\n"  # where a one-step request stops (the problem's step format)
    cost: JobCost = field(default_factory=JobCost)
    result: StepLabels | None = None
    error: str | None = None
    _pending: list[RolloutRequest] | None = None


@dataclass
class RunStats:
    """What the backend really did in one run: generated samples, cache hits (in-run and on disk)."""

    rounds: int = 0
    rollouts_used: int = 0
    backend_calls: int = 0
    backend_requests: int = 0
    generated_rollouts: int = 0
    cache_hits: int = 0
    generated_tokens: int = 0
    prompt_tokens: int = 0
    backend_seconds: float = 0.0
    engine_seconds: float = 0.0


class Scheduler:
    def __init__(
        self,
        backend: Backend,
        sampling: Sampling,
        seed: int,
        model_key: str,
        system: str | None = None,
        cache: RolloutCache | None = None,
        max_batch: int = 1024,
        token_budget: int | None = None,
    ):
        self.backend = backend
        self.sampling = sampling
        self.seed = seed
        self.model_key = model_key
        self.system = system
        self.cache = cache if cache is not None else RolloutCache()
        self.max_batch = max_batch
        # Generated tokens a problem's responses may spend together; a response whose problem has
        # spent it stops where it is and is reported, never labeled from a partial estimate.
        self.token_budget = token_budget
        self._spent: dict[str, int] = {}
        self._equivalent: dict[tuple[str, str, str], bool | None] = {}
        self._seed_keys: dict[str, str] = {}  # cache key -> the key its samples' seeds derive from

    # -- the loop --------------------------------------------------------------------------------
    def run(self, jobs: list[Job], on_done: Callable[[Job], None] | None = None) -> RunStats:
        stats = RunStats()
        self._used: set[tuple[str, int]] = set()  # samples some job of this run has used
        started = time.perf_counter()
        active = [job for job in jobs if self._advance(job, None, on_done)]
        while active:
            if self.token_budget is not None:
                active = [job for job in active if not self._over_budget(job, on_done)]
                if not active:
                    break
            stats.rounds += 1
            self._round(active, stats, on_done)
            active = [job for job in active if job.result is None and job.error is None]
        self.cache.flush(force=True)
        stats.cache_hits = stats.rollouts_used - stats.generated_rollouts
        stats.engine_seconds = time.perf_counter() - started - stats.backend_seconds
        return stats

    def _over_budget(self, job: Job, on_done: Callable[[Job], None] | None) -> bool:
        if self._spent.get(job.group, 0) < (self.token_budget or 0):
            return False
        job.error = (
            f"token budget spent: the problem's responses generated {self._spent[job.group]} tokens "
            f"(budget {self.token_budget}); raise token_budget or leave it unset"
        )
        job.program.close()
        job._pending = None
        if on_done is not None:
            on_done(job)
        return True

    def _advance(self, job: Job, results: list[RolloutResult] | None, on_done: Callable[[Job], None] | None) -> bool:
        """Step the job's program; True while it still has requests."""
        try:
            pending = next(job.program) if results is None else job.program.send(results)
            if not isinstance(pending, list) or not pending:
                raise TypeError(f"a labeler must yield a non-empty list of RolloutRequest, got {pending!r}")
            job._pending = pending
            return True
        except StopIteration as stop:
            job.result = stop.value
        except Exception as exc:  # a labeler bug or bad data in one row must not sink the shard
            job.error = f"labeler error: {type(exc).__name__}: {exc}"
        job._pending = None
        if on_done is not None:
            on_done(job)
        return False

    def _round(self, active: list[Job], stats: RunStats, on_done: Callable[[Job], None] | None) -> None:
        # 1. Which samples does each request need, and which of them must be generated?
        wanted: dict[tuple[str, int], tuple[Job, RolloutRequest]] = {}  # (key, sample) -> (job, request)
        plans: list[tuple[Job, RolloutRequest, str]] = []
        for job in active:
            job.cost.rounds += 1
            for request in job._pending or []:
                if request.k < 1 or request.offset < 0 or (request.question is not None and request.prefix):
                    raise ValueError(f"bad rollout request {request}")
                key = self._key(job, request)
                plans.append((job, request, key))
                for index in range(request.offset, request.offset + request.k):
                    if (key, index) not in wanted and self.cache.get(key, index) is None:
                        wanted[(key, index)] = (job, request)
        # 2. Generate the missing samples: contiguous runs of sample indices become one request each.
        if wanted:
            self._generate(wanted, stats)
        # 3. Hand each job its results; a sample's tokens are charged to the first job that used it.
        by_job: dict[int, list[RolloutResult]] = {}
        for job, request, key in plans:
            rollouts = []
            for index in range(request.offset, request.offset + request.k):
                rollout = self.cache.get(key, index)
                assert rollout is not None
                rollouts.append(rollout)
                if request.question is None and rollout.correct is None and rollout.terminal:
                    job.cost.undecided_rollouts += 1
                if (key, index) in self._used:
                    job.cost.cache_hits += 1
                else:
                    self._used.add((key, index))
                    self._spent[job.group] = self._spent.get(job.group, 0) + rollout.completion_tokens
                    job.cost.generated_tokens += rollout.completion_tokens
                    job.cost.prompt_tokens += rollout.prompt_tokens
            job.cost.requests += 1
            job.cost.rollouts += request.k
            stats.rollouts_used += request.k
            by_job.setdefault(id(job), []).append(RolloutResult(request, tuple(rollouts)))
        self.cache.flush()
        for job in active:
            self._advance(job, by_job[id(job)], on_done)

    def _key(self, job: Job, request: RolloutRequest) -> str:
        """What determines a request's samples: the job's question and prefix, or its own fresh prompt."""
        if request.question is not None:
            key = prefix_key(self.model_key, "fresh prompt", request.question)
            self._seed_keys[key] = key
            return key
        parts = [self.model_key, job.question, job.reference or "", job.domain, request.prefix]
        if request.one_step:  # one step and a whole continuation of a prefix are different samples
            parts += ["one step", job.step_delimiter]
        seed_key = prefix_key(*parts)
        key = prefix_key(RULES_VERSION, seed_key)  # the samples stay those of seed_key; verdicts are new
        self._seed_keys[key] = seed_key
        return key

    def _generate(self, wanted: dict[tuple[str, int], tuple[Job, RolloutRequest]], stats: RunStats) -> None:
        runs: list[tuple[str, int, int, Job, RolloutRequest]] = []  # key, first index, count, job, request
        for (key, index), (job, request) in sorted(wanted.items(), key=lambda kv: kv[0]):
            if runs and runs[-1][0] == key and runs[-1][1] + runs[-1][2] == index:
                k0, first, count, j0, r0 = runs[-1]
                runs[-1] = (k0, first, count + 1, j0, r0)
            else:
                runs.append((key, index, 1, job, request))
        requests = [
            GenerationRequest(
                question=job.question if request.question is None else request.question,
                prefix=request.prefix,
                k=count,
                sampling=self._sampling(job, request),
                seed=derive_seed(self.seed, self._seed_keys[key]) + first,
                system=self.system if request.question is None else None,
            )
            for key, first, count, job, request in runs
        ]
        for start in range(0, len(requests), self.max_batch):
            chunk = requests[start : start + self.max_batch]
            t0 = time.perf_counter()
            results = self.backend.generate(chunk)
            stats.backend_seconds += time.perf_counter() - t0
            stats.backend_calls += 1
            stats.backend_requests += len(chunk)
            for (key, first, _count, job, request), result in zip(
                runs[start : start + self.max_batch], results, strict=True
            ):
                for i, completion in enumerate(result.completions):
                    if request.one_step:
                        rollout = self._step(job, request.prefix, completion)
                    else:
                        checked = request.question is None  # an answer to a fresh prompt has no reference
                        rollout = Rollout(
                            text=completion.text,
                            correct=checked
                            and self._is_correct(job, request.prefix, completion.text, completion.finish_reason),
                            finish_reason=completion.finish_reason,
                            completion_tokens=completion.completion_tokens,
                            prompt_tokens=completion.prompt_tokens,
                        )
                    self.cache.put(key, first + i, rollout)
                    stats.generated_rollouts += 1
                    stats.generated_tokens += completion.completion_tokens
                    stats.prompt_tokens += completion.prompt_tokens

    def _sampling(self, job: Job, request: RolloutRequest) -> Sampling:
        if not request.one_step:
            return self.sampling
        if job.step_delimiter in self.sampling.stop:
            return self.sampling
        return replace(self.sampling, stop=(*self.sampling.stop, job.step_delimiter))

    def _step(self, job: Job, prefix: str, completion: Completion) -> Rollout:
        """One step after ``prefix``: terminal or not, checked only when terminal.

        Terminal: cut at ``max_tokens`` or failed (finish reason not ``stop``), ended by the model
        (the backend says end of sequence, or the step is empty), or the step states a final answer
        (an explicit one: a box, "the answer is", ``####``). A backend that cannot tell a stop string
        from the end of sequence (llama.cpp) makes an answerless last step look open: its next
        expansion comes back empty and closes the path as a failure, which is what it is.
        A step that is not terminal gets the delimiter back (the engine strips the stop string), so
        ``prefix + text`` is again a prefix of whole steps.
        """
        text, finish = completion.text, completion.finish_reason
        states_answer = bool(text.strip()) and extract_answer(text, job.domain, strict=True) is not None
        terminal = finish != "stop" or completion.stop_reason == "eos" or not text.strip() or states_answer
        correct = self._is_correct(job, prefix, text, finish) if terminal else None
        return Rollout(
            text=text if terminal else text + job.step_delimiter,
            correct=correct,
            finish_reason=finish,
            completion_tokens=completion.completion_tokens,
            prompt_tokens=completion.prompt_tokens,
            terminal=terminal,
        )

    def _is_correct(self, job: Job, prefix: str, text: str, finish_reason: str) -> bool | None:
        """Whether the continuation reaches the reference: True, False, or None when it cannot be told.

        A backend failure (``error``: an exception, a prompt over the context limit) and an answer the
        checker cannot decide are None (left out of estimates, counted). An empty or truncated
        completion is a failed rollout (False). The answer is read from the completion: the policy's
        conclusion from this prefix. Only when the completion states none does an explicit answer of
        prefix + completion count (a completion that only closes a prefix which already boxed it);
        a ``\\boxed{}`` in the prefix never wins over what the completion concluded.
        """
        if finish_reason == "error" or job.reference is None:
            return None
        if finish_reason != "stop" or not text.strip():
            return False
        final, decided = try_extract_answer(text, job.domain)
        if not decided:  # the limited worker that locates an unmarked answer failed: unknown, not absent
            return None
        if final is None:
            final = extract_answer(prefix + text, job.domain, strict=True)
        if final is None:
            return False
        memo = (final, job.reference, job.domain)
        if memo not in self._equivalent:
            self._equivalent[memo] = compare_answers(final, job.reference, job.domain).correct
        return self._equivalent[memo]
