"""Ready-made step-by-step responses with human step labels -> rollout rows (``prmlabel import``).

Each row carries the PROBLEM keys plus the response split into the file's own steps
(``step_split = "given"``) and, where the file has a human label, ``gold_first_error`` (index of the
first wrong step, -1 = all steps right, null = unknown), so labels made later can be scored against
it. Steps partition the response: every step but the last is the source step followed by ``"\\n\\n"``,
so ``"".join(steps) == response`` and a prefix of steps is exactly a prefix of the text.

Every input row becomes a rollout or a reject (rows in = rows + rejects). ``response_id`` is
``<problem_id>/r<k>`` where k counts the responses to one problem in file order; without a problem
id in the file, the id is the question's hash (as in ``problems``), so responses to one question
share it. Fields not carried into the row (verbatim or by a lossless conversion) stay in ``meta``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prmlabel.inputs.presets import (
    PRESETS,
    ParsedResponse,
    bool_field,
    final_answer_of,
    first_error_label,
    join_given,
    per_step_label,
)
from prmlabel.inputs.records import read_records
from prmlabel.inputs.rows import (
    RowError,
    get_field,
    make_problem_id,
    make_reject,
    meta_json,
    record_reject,
    scalar_text,
    source_name,
    text_field,
)
from prmlabel.text.steps import StepSplit, split_steps

LABEL_KINDS = ("first_error", "per_step_bool")


@dataclass(frozen=True)
class ResponseFieldMap:
    """Field mapping for a user's own file of responses.

    Steps come from ``steps`` (a list of step texts; a string there is split like ``response``) or,
    when that field is absent, from the text in ``response`` cut with ``split`` (a ``StepSplit``
    description). ``label`` holds the human label: with ``label_kind="first_error"`` the index of the
    first wrong step (-1 = none, null = unknown); with ``"per_step_bool"`` one entry per step (true /
    ``+`` = right, false / ``-`` = wrong, null = not labeled, as after FoVer's first error).
    """

    id: str | None = None
    question: str = "question"
    answer: str | None = "answer"
    steps: str | None = "steps"
    response: str | None = None
    split: str = "double_newline"
    label: str | None = None
    label_kind: str = "first_error"
    domain: str = "math"
    policy: str | None = None
    final_answer: str | None = None
    is_correct: str | None = None

    def __post_init__(self) -> None:
        if self.label_kind not in LABEL_KINDS:
            choices = ", ".join(LABEL_KINDS)
            raise ValueError(f"unknown label_kind {self.label_kind!r}; choose one of: {choices}")
        if not self.steps and not self.response:
            raise ValueError("a response field map needs a steps field or a response field to split")
        StepSplit.parse(self.split)  # fail at configuration time, not on the first row


@dataclass
class ResponseLoad:
    """The rollout rows read from one input, the rejected rows, and how many rows came in."""

    rows: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    rows_in: int


# ------------------------------------------------------------------------------------------------------
# A user's own layout
# ------------------------------------------------------------------------------------------------------


def _custom(data: dict[str, Any], fm: ResponseFieldMap) -> ParsedResponse:
    question = text_field(data, fm.question, "question", "fields.question")
    answer = scalar_text(data, fm.answer, "answer") if fm.answer else None
    given = get_field(data, fm.steps) if fm.steps else None
    carried = {f for f in (fm.id, fm.question, fm.policy, fm.final_answer, fm.is_correct) if f}
    if answer is not None and fm.answer:
        carried.add(fm.answer)
    if isinstance(given, list):
        steps, how = join_given(given, fm.steps or ""), "given"
        carried.add(fm.steps or "")
    else:
        name = fm.steps if isinstance(given, str) else fm.response
        text = get_field(data, name) if name else None
        if not isinstance(text, str) or not text.strip():
            fields = " or ".join(repr(f) for f in (fm.steps, fm.response) if f)
            raise RowError(name or fm.steps, f"no steps: field {fields} is missing or empty")
        split = StepSplit.parse(fm.split)
        steps, how = split_steps(text, split), split.describe()
        carried.add(name or "")
    gold = None
    if fm.label:
        value = get_field(data, fm.label)
        if fm.label_kind == "first_error":
            gold = first_error_label(value, len(steps), fm.label)
            carried.add(fm.label)
        else:
            gold = per_step_label(value, len(steps), fm.label)
    final = scalar_text(data, fm.final_answer, "final answer") if fm.final_answer else None
    return ParsedResponse(
        question,
        answer,
        steps,
        how,
        scalar_text(data, fm.id, "id") if fm.id else None,
        scalar_text(data, fm.policy, "policy") if fm.policy else None,
        final if fm.final_answer else final_answer_of("".join(steps), fm.domain),
        bool_field(data, fm.is_correct),
        gold,
        fm.domain,
        {k: v for k, v in data.items() if k not in carried},
    )


# ------------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------------


def load_responses(
    path: str | Path,
    preset: str | None = None,
    fieldmap: ResponseFieldMap | None = None,
    source: str | None = None,
    split: str | None = None,
) -> ResponseLoad:
    """Read responses through a preset (see :data:`PRESETS`) or a field map (default: ``ResponseFieldMap()``).

    ``source`` defaults to the preset name, else the file stem; it is also the default ``policy``.
    ``split`` picks a Hugging Face ``DatasetDict`` split.
    """
    if preset and fieldmap is not None:
        raise ValueError("give either a preset or a field map, not both")
    if preset:
        if preset not in PRESETS:
            raise ValueError(f"unknown import preset {preset!r}; choose one of: {', '.join(sorted(PRESETS))}")
        parse = PRESETS[preset]
    else:
        fm = fieldmap or ResponseFieldMap()

        def parse(data: dict[str, Any]) -> ParsedResponse:
            return _custom(data, fm)

    src = source or preset or source_name(path)
    rows: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    rows_in = 0
    counts: dict[str, int] = {}
    questions: dict[str, tuple[str, int]] = {}
    for rec in read_records(path, split):
        rows_in += 1
        if rec.data is None:
            rejects.append(record_reject(rec))
            continue
        try:
            p = parse(rec.data)
        except RowError as e:
            rejects.append(make_reject(rec, e.field, e.reason, e.problem_id))
            continue
        pid = p.problem_id or make_problem_id(src, p.question, p.reference_answer)
        first = questions.setdefault(pid, (p.question, rec.row))
        if first[0] != p.question:
            reason = f"problem_id {pid} was first seen with a different question (row {first[1]})"
            rejects.append(make_reject(rec, None, reason, pid))
            continue
        index = counts.get(pid, 0)
        counts[pid] = index + 1
        rows.append(
            {
                "problem_id": pid,
                "question": p.question,
                "reference_answer": p.reference_answer,
                "domain": p.domain,
                "source": src,
                "meta": meta_json(p.meta),
                "response_id": f"{pid}/r{index}",
                "sample_index": index,
                "policy": p.policy or src,
                "steps": p.steps,
                "step_split": p.step_split,
                "response": "".join(p.steps),
                "final_answer": p.final_answer,
                "is_correct": p.is_correct,
                "gold_first_error": p.gold_first_error,
            }
        )
    assert rows_in == len(rows) + len(rejects), (rows_in, len(rows), len(rejects))
    return ResponseLoad(rows, rejects, rows_in)
