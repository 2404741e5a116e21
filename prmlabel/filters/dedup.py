"""Deduplication: one row per (problem, response text); the first by response id is kept.

Sampling many responses per problem repeats short answers often, and a repeated response counts
its labels twice in training. Text is compared after collapsing whitespace (``normalize``), or
exactly. Later copies are dropped with the kept row's id in the reason.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from prmlabel.filters.base import Candidate

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class DedupParams:
    normalize: bool = True  # collapse runs of whitespace and strip before comparing
    across_problems: bool = False  # True: the same text under two problems is a duplicate too


class DedupFilter:
    name: ClassVar[str] = "dedup"
    paper: ClassVar[str] = "exact-duplicate removal (no paper)"

    def __init__(self, params: DedupParams):
        self.p = params

    def params(self) -> dict[str, Any]:
        return asdict(self.p)

    def apply(self, candidates: list[Candidate]) -> None:
        seen: dict[tuple[str, str], str] = {}
        for c in sorted((c for c in candidates if c.keep), key=lambda c: (c.problem_id, c.response_id)):
            text = "".join(c.row["steps"] or [])
            if self.p.normalize:
                text = _SPACE.sub(" ", text).strip()
            key = ("" if self.p.across_problems else c.problem_id, text)
            if key in seen:
                c.extra["dedup"] = {"duplicate_of": seen[key]}
                c.drop("dedup:duplicate")
            else:
                seen[key] = c.response_id
                c.keep_as("dedup:unique")
