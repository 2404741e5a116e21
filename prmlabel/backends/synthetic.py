"""The synthetic backend: the SIMULATED policy behind the ordinary backend protocol.

It lets every stage, labeler and recipe run end to end on known truth (tests, benchmarks,
calibration) without a model. It is a simulator and never stands in for a real backend in a test
that is about that backend.

It reads the problem back from the request's question text (which may be a whole rendered prompt),
continues ``request.prefix`` with :class:`~prmlabel.synthetic.policy.SyntheticPolicy`, and reports
whitespace-token counts as its cost. ``sampling.temperature`` and ``top_p`` are ignored: the
simulator's randomness comes from its rates. ``max_tokens`` and ``stop`` (each request's own) are
honoured as an engine would, because labelers rely on truncation and stop strings behaving like the
real thing. ``Completion.stop_reason`` is the stop string that cut the text, or ``"eos"`` when the
simulated text ended by itself (the simulator always knows which); None on ``length`` and ``error``.

A judge prompt (one rendered by :mod:`prmlabel.text.judge_prompts`, either template) is answered
by a SIMULATED judge instead (:class:`~prmlabel.synthetic.judge.SyntheticJudge`): it names the gold
first error with probability ``judge_accuracy`` (default 0.8), deterministically per prompt and
sample seed, and writes a critique in the format the prompt asks for (Qwen tags or ``\\boxed{}``), so
the judge labeler's real parser reads it.

``delay`` (seconds, default 0) makes every request take at least that long, like a slow engine, so
reliability tests can kill a run while it is mid-work (tests/reliability/). It changes no generated text.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import time
from typing import Any

import prmlabel
from prmlabel.backends.base import Completion, GenerationRequest, GenerationResult
from prmlabel.synthetic.judge import SyntheticJudge
from prmlabel.synthetic.policy import SyntheticPolicy
from prmlabel.synthetic.problems import SyntheticProblem, parse_question
from prmlabel.text.judge_prompts import JudgePrompt, parse_judge_prompt

log = logging.getLogger(__name__)

_TOKEN_RE = re.compile(r"\S+")


def count_tokens(text: str) -> int:
    """Whitespace tokens: the simulator's stand-in for a tokenizer."""
    return len(text.split())


def _cut_tokens(text: str, max_tokens: int) -> str:
    """The text up to the end of its ``max_tokens``-th whitespace token (original spacing kept)."""
    if max_tokens <= 0:
        return ""
    end = 0
    for i, m in enumerate(_TOKEN_RE.finditer(text)):
        if i == max_tokens:
            break
        end = m.end()
    return text[:end]


def _apply_stop(text: str, stop: tuple[str, ...]) -> tuple[str, str | None]:
    """Cut at the earliest stop string, excluding it (vLLM's default); return the string that was hit.

    Of stop strings found at the same earliest place, the first in ``stop`` is reported.
    """
    hits = [(i, n, s) for n, s in enumerate(stop) if s and (i := text.find(s)) >= 0]
    if not hits:
        return text, None
    cut, _, matched = min(hits)
    return text[:cut], matched


class SyntheticBackend:
    """Backend protocol over the simulated policy.

    Sub-request ``i`` of a request draws from ``random.Random`` seeded with text made of
    ``request.seed + i`` and a SHA-256 digest of the question and prefix (string seeds hash the same
    in every process; Python's ``hash()`` does not). The digest mirrors a real engine, where one seed
    on two different prompts gives unrelated samples, so reusing a seed across prefixes does not
    correlate their continuations.
    """

    name = "synthetic"

    def __init__(
        self,
        model: str | None = None,
        slip_rate: float = 0.1,
        recovery_rate: float = 0.2,
        abandon_rate: float = 0.0,
        judge_accuracy: float = 0.8,
        delay: float = 0.0,
        **ignored: Any,
    ) -> None:
        if delay < 0:
            raise ValueError(f"synthetic backend: delay must be >= 0 seconds, got {delay!r}")
        self.delay = float(delay)
        self.policy = SyntheticPolicy(slip_rate=slip_rate, recovery_rate=recovery_rate, abandon_rate=abandon_rate)
        self.judge = SyntheticJudge(accuracy=float(judge_accuracy))
        # The CLI passes every backend the same options; the simulator has no use for a model name or
        # server URL, but keeps them so the caller can see what was passed and ignored.
        self.requested_model = model
        self.ignored_options: dict[str, Any] = dict(ignored)
        if ignored:
            log.info("synthetic backend ignores options: %s", ", ".join(sorted(ignored)))

    def generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        return [self._generate_one(request) for request in requests]

    def _generate_one(self, request: GenerationRequest) -> GenerationResult:
        started = time.perf_counter()
        if self.delay:
            time.sleep(self.delay)
        prompt_tokens = count_tokens(request.question) + count_tokens(request.prefix)
        if request.system:
            prompt_tokens += count_tokens(request.system)
        # A judge prompt holds the problem too, so it is recognised first: the policy must not answer it.
        judge_prompt = parse_judge_prompt(request.question)
        problem = parse_question(judge_prompt.problem if judge_prompt else request.question)
        if problem is None:
            completions = [Completion("", "error", prompt_tokens, 0) for _ in range(request.k)]
            return GenerationResult(completions=completions, seconds=time.perf_counter() - started)
        digest = hashlib.sha256(f"{request.question}\x00{request.prefix}".encode()).hexdigest()[:16]
        completions = []
        for i in range(request.k):
            if judge_prompt is not None:
                text = self._critique(problem, judge_prompt, key=f"{request.seed + i}:{digest}")
            else:
                rng = random.Random(f"{request.seed + i}:{digest}")
                text = self.policy.continue_text(problem, request.prefix, rng)
            finish = "stop"
            text, matched = _apply_stop(text, request.sampling.stop)
            # No stop string hit: the simulated text ended by itself, as a model's EOS token ends it.
            stop_reason: str | None = matched if matched is not None else "eos"
            if count_tokens(text) > request.sampling.max_tokens:
                text = _cut_tokens(text, request.sampling.max_tokens)
                finish, stop_reason = "length", None
            completions.append(Completion(text, finish, prompt_tokens, count_tokens(text), stop_reason))
        return GenerationResult(completions=completions, seconds=time.perf_counter() - started)

    def _critique(self, problem: SyntheticProblem, prompt: JudgePrompt, key: str) -> str:
        """The simulated judge's critique in the prompt's format, naming its (possibly wrong) first error."""
        steps = list(prompt.steps)
        verdict = self.judge.first_error(problem, steps, key)
        last = verdict if verdict >= 0 else len(steps) - 1
        if prompt.prompt == "qwen":
            parts = [
                f"<analysis_{t}>\nParagraph {t}: "
                + (
                    "this step is wrong; recompute it from the previous value."
                    if t == verdict
                    else "this step checks out."
                )
                + f"\n</analysis_{t}>"
                for t in range(last + 1)
            ]
            conclusion = "Incorrect" if verdict >= 0 else "Correct"
            parts.append(f"<conclusion>\n{conclusion}\n</conclusion>\n\n<first_error>{verdict}</first_error>")
            return "\n\n".join(parts)
        lines = [f"Paragraph {t}: {'wrong' if t == verdict else 'correct'}." for t in range(last + 1)]
        lines.append(
            f"The earliest error is in paragraph {verdict}." if verdict >= 0 else "Every paragraph is correct."
        )
        return "\n\n".join(lines) + f"\n\n\\boxed{{{verdict}}}"

    def provenance(self) -> dict[str, str]:
        return {
            "backend": "synthetic",
            "model": f"{self.policy.describe()}+{self.judge.describe()}",
            "model_hash": "",
            "backend_version": prmlabel.__version__,
        }

    def close(self) -> None:
        """Nothing to release: the simulator holds no engine."""
