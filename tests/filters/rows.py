"""Hand-made labels rows for filter tests: only the columns filters read."""

from __future__ import annotations

import json
from typing import Any

from prmlabel.filters.base import Candidate, initial_labels


def row(
    rid: str,
    pid: str = "p1",
    steps: int = 4,
    first_error: int | None = -1,
    correct: bool | None = None,
    values: list[float | None] | None = None,
    extra: dict[str, Any] | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    if correct is None:
        correct = first_error == -1
    hard: list[bool | None]
    if first_error is None:
        hard = [None] * steps
    elif first_error < 0:
        hard = [True] * steps
    else:
        hard = [True] * first_error + [False] + [None] * (steps - first_error - 1)
    return {
        "problem_id": pid,
        "response_id": rid,
        "steps": [f"{text or rid} step {i}\n\n" for i in range(steps)],
        "is_correct": correct,
        "method": "mc",
        "values": values if values is not None else [1.0 if h else 0.0 if h is False else None for h in hard],
        "hard": hard,
        "first_error": first_error,
        "label_extra": json.dumps(extra or {}),
    }


def candidates(*rows: dict[str, Any]) -> list[Candidate]:
    return [Candidate(row=r, labels_final=initial_labels(r)) for r in rows]


def by_id(cands: list[Candidate]) -> dict[str, Candidate]:
    return {c.response_id: c for c in cands}
