"""LLM-as-a-judge: a model names the earliest wrong step (Qwen PRM "Lessons", Zhang et al., 2025,
arXiv 2501.07301, Section 3 and App. C; ProcessBench's critique format as an option).

For each response the judge model gets ONE fresh prompt (not a continuation of the policy's
answer): the problem and the steps as 0-based ``<paragraph_i>`` blocks (templates in
:mod:`prmlabel.text.judge_prompts`). ``votes`` = N critiques are sampled and each is parsed for
an index (:func:`prmlabel.labelers.judge_parse.parse_verdict`; -1 = no error). Then:

    first_error = the index most critiques name (parsed ones only)
                  ties go to the EARLIEST error, -1 ("no error") counting as later than any step:
                  of two equally supported readings, the stricter one is kept
    values/hard = 1/True before first_error, 0/False at it, None after it (unknown, never negative);
                  all 1/True when first_error = -1

If no critique can be parsed (unparseable, refused, out of range), ``first_error`` is None and every
value is None, with ``label_extra.verdict = "unparseable"``: an unreadable judge is never "no error".

Sampling is the judge's own, not the policy's (a critique wants other settings than a
continuation): ``temperature`` 0 (greedy) for one vote and 0.7 for several (votes of one greedy
prompt would all be the same critique), ``top_p`` 1.0, ``max_tokens`` 4096 (a paragraph-by-paragraph
analysis is long; a truncated one has no conclusion and is unparseable), no stop strings. Override
with ``params.temperature``, ``params.top_p``, ``params.max_tokens``; the stage's ``sampling.*`` keys
(the policy's) are refused for this method so that a setting is never silently ignored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

from prmlabel.backends.base import Sampling
from prmlabel.engine.types import LabelProgram, ResponseView, RolloutRequest, StepLabels
from prmlabel.labelers.base import params_dict
from prmlabel.labelers.judge_parse import Verdict, parse_verdict
from prmlabel.text.judge_prompts import PROMPTS, render_prompt

GREEDY = 0.0
VOTING_TEMPERATURE = 0.7
JUDGE_MAX_TOKENS = 4096


@dataclass(frozen=True)
class JudgeParams:
    votes: int = 1  # critiques per response; the majority names the first error (the paper: 1)
    prompt: str = "qwen"  # qwen (the paper's App. C shape) | processbench (\boxed{index})
    temperature: float | None = None  # None: 0 (greedy) for one vote, 0.7 for several
    top_p: float | None = None  # None: 1.0
    max_tokens: int | None = None  # None: 4096


def majority(indices: list[int]) -> tuple[int | None, int]:
    """The most named index and its count; ties go to the earliest error (-1 counts as after every step)."""
    if not indices:
        return None, 0
    counts = Counter(indices)
    top = max(counts.values())
    tied = [index for index, n in counts.items() if n == top]
    return min(tied, key=lambda index: float("inf") if index == -1 else index), top


def path_values(first_error: int | None, num_steps: int) -> tuple[list[float | None], list[bool | None]]:
    """1 before the first error, 0 at it, None (unknown) after it; all None when the error is unknown."""
    if first_error is None:
        return [None] * num_steps, [None] * num_steps
    if first_error == -1:
        return [1.0] * num_steps, [True] * num_steps
    values: list[float | None] = [1.0] * first_error + [0.0] + [None] * (num_steps - first_error - 1)
    hard: list[bool | None] = [True] * first_error + [False] + [None] * (num_steps - first_error - 1)
    return values, hard


class LLMJudge:
    name: ClassVar[str] = "judge"
    paper: ClassVar[str] = "The Lessons of Developing Process Reward Models (Zhang et al., 2025), arXiv 2501.07301"
    value_kind: ClassVar[str] = "verdict"  # values: 1 right / 0 wrong / null

    def __init__(self, params: JudgeParams | None = None):
        self.p = params or JudgeParams()
        if self.p.votes < 1:
            raise ValueError(f"judge needs votes >= 1, got {self.p.votes}")
        if self.p.prompt not in PROMPTS:
            raise ValueError(f"judge prompt must be one of {', '.join(PROMPTS)}, got {self.p.prompt!r}")
        if self.p.max_tokens is not None and self.p.max_tokens < 1:
            raise ValueError(f"judge needs max_tokens >= 1, got {self.p.max_tokens}")

    def params(self) -> dict[str, Any]:
        return params_dict(self.p)

    def sampling(self) -> Sampling:
        """The judge's sampling settings (see the module docstring for the defaults and why)."""
        default_temperature = GREEDY if self.p.votes == 1 else VOTING_TEMPERATURE
        return Sampling(
            temperature=float(self.p.temperature if self.p.temperature is not None else default_temperature),
            top_p=float(self.p.top_p if self.p.top_p is not None else 1.0),
            max_tokens=int(self.p.max_tokens or JUDGE_MAX_TOKENS),
            stop=(),
        )

    def label(self, response: ResponseView) -> LabelProgram:
        m = len(response.steps)
        problem = (response.problem or {}).get("question")
        if not problem:
            raise ValueError("the judge needs the problem's question text; this response has none")
        prompt = render_prompt(self.p.prompt, problem, response.steps)
        (result,) = yield [RolloutRequest("", self.p.votes, question=prompt)]
        verdicts = [self._verdict(r.text, r.finish_reason, m) for r in result.rollouts]
        first_error, support = majority([v.index for v in verdicts if v.index is not None])
        values, hard = path_values(first_error, m)
        statuses = Counter(v.status for v in verdicts)
        extra = {
            "verdict": "unparseable" if first_error is None else "no_error" if first_error == -1 else "error",
            "votes": [
                {"index": v.index, "status": v.status, "reason": v.reason, "finish_reason": r.finish_reason}
                for v, r in zip(verdicts, result.rollouts, strict=True)
            ],
            "rationales": [r.text for r in result.rollouts],
            "support": support,  # critiques naming the chosen index
            "parsed": statuses["parsed"],
            "unparseable": statuses["unparseable"],
            "refused": statuses["refused"],
            "out_of_range": statuses["out_of_range"],
            "prompt": self.p.prompt,
        }
        return StepLabels(values=values, hard=hard, first_error=first_error, extra=extra)

    def _verdict(self, text: str, finish_reason: str, num_steps: int) -> Verdict:
        if finish_reason == "error":
            return Verdict(None, "unparseable", "the backend returned an error for this critique")
        return parse_verdict(text, num_steps, self.p.prompt)
