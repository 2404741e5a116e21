"""What gold and predicted labels look like once read, and how the two are matched."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def content_key(question: str, steps: list[str]) -> str:
    """The same response in two files, for files without a shared id: question and stripped steps."""
    text = question.strip() + "\x00" + "\x00".join(s.strip() for s in steps)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class GoldItem:
    id: str | None
    question: str
    steps: list[str]
    first_error: int  # -1 = every step right
    row: int  # 1-based record number in its file

    @property
    def key(self) -> str:
        return content_key(self.question, self.steps)


@dataclass
class PredItem:
    ids: tuple[str, ...]  # every id the prediction is known by (problem_id, response_id, the file's id)
    question: str | None
    steps: list[str] | None
    first_error: int | None  # None = the labeler could not tell: scored as wrong
    hard: list[bool | None] | None = None  # per-step labels, where known

    @property
    def key(self) -> str | None:
        return None if self.question is None or self.steps is None else content_key(self.question, self.steps)
