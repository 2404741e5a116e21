"""Consensus filtering: keep a label only where Monte-Carlo estimation and an LLM judge agree.

Zhang et al., "The Lessons of Developing Process Reward Models in Mathematical Reasoning"
(Qwen, 2025), arXiv 2501.07301, Section 3. The MC labels (8 completions per step, hard label = any
completion correct) and a judge (Qwen2.5-72B-Instruct asked for the earliest wrong paragraph)
each name a first error, -1 meaning "no error". The instance is kept only if

    first_error_MC == first_error_judge              ("no error" agrees with "no error")

and its labels become hard path labels: every step before the first error positive, the first
error negative, the steps after it removed. About 40% of instances survived in the paper; with
that data, hard labels beat soft ones (ProcessBench 66.5 vs 49.3).

Unknown is never agreement (prmlabel's rule for what the paper does not meet: its MC and judge always
answer). A row is dropped, with the reason counted in the summary, when the judge's verdict is
missing (no row of the judge folder with this response_id) or unparseable (a null first error), when
its own first error is unknown (null: e.g. a verifier that could check no step), or when either side
left a step before the agreed first error undecided: the kept path labels would call that step right
on nobody's word.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from prmlabel.filters.base import Candidate, path_labels


@dataclass(frozen=True)
class ConsensusParams:
    # Tolerance in steps between the two first errors. The paper demands equality (0); a wider
    # window trades precision for kept data and is recorded in the reason.
    window: int = 0


class ConsensusFilter:
    name: ClassVar[str] = "consensus"
    paper: ClassVar[str] = "The Lessons of Developing Process Reward Models (Zhang et al., 2025), arXiv 2501.07301"
    needs_other: ClassVar[bool] = True  # reads the judge's verdicts (`--with`)

    def __init__(self, params: ConsensusParams, other: dict[str, dict[str, Any]] | None = None):
        self.p = params
        self.other = other or {}  # response_id -> the judge's labels row

    def params(self) -> dict[str, Any]:
        return asdict(self.p)

    def apply(self, candidates: list[Candidate]) -> None:
        for c in candidates:
            if not c.keep:
                continue
            judge = self.other.get(c.response_id)
            mine = c.first_error
            verdict = None if judge is None else judge.get("first_error")
            c.extra["consensus"] = {
                "first_error": mine,
                "other_first_error": verdict,
                "other_method": None if judge is None else judge.get("method"),
            }
            if judge is None:
                c.drop("consensus:no_verdict")
            elif verdict is None:
                c.drop("consensus:verdict_unparseable")
            elif mine is None:
                c.drop("consensus:first_error_unknown")
            elif _undecided_before(c.row, mine) or _undecided_before(judge, verdict):
                c.drop("consensus:undecided_step")
            elif mine == verdict or (
                self.p.window and mine >= 0 and verdict >= 0 and abs(mine - verdict) <= self.p.window
            ):
                c.labels_final = path_labels(mine, len(c.row["steps"]))
                c.label_kind = "hard"
                c.keep_as("consensus:agree" if mine == verdict else f"consensus:within_{self.p.window}")
            else:
                c.drop("consensus:disagree")


def _undecided_before(row: dict[str, Any], first_error: int) -> bool:
    """Whether a step the path labels would call right (before ``first_error``; all, for -1) is undecided."""
    hard = row.get("hard")
    if hard is None:  # a row without step labels (a bare verdict): only its first error speaks
        return False
    end = len(hard) if first_error < 0 else min(first_error, len(hard))
    return any(h is None for h in hard[:end])
