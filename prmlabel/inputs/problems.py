"""Problems with reference answers, from any supported file, through a field map or a preset.

Every input row ends up either as a problem (exactly the ``PROBLEMS`` schema's keys) or as a reject
that says which field is at fault, in the user's own naming, and what to do; rows in = problems +
rejects, always. Fields that are not carried verbatim into the problem row stay in ``meta`` (JSON
text), so nothing from the input is lost: a GSM8K worked solution stays there after its ``####``
answer is taken out, FOLIO's FOL formulas stay there after the English premises become the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from prmlabel.contract.schema import PROBLEM_FIELDS
from prmlabel.inputs.records import RawRecord, read_records
from prmlabel.inputs.rows import (
    RowError,
    fields_hint,
    get_field,
    make_problem_id,
    make_reject,
    meta_json,
    record_reject,
    scalar_text,
    source_name,
    text_field,
    type_name,
)
from prmlabel.text.answers import last_boxed

PROBLEM_KEYS: tuple[str, ...] = tuple(f.name for f in PROBLEM_FIELDS)

ANSWER_FROM = ("field", "gsm8k", "boxed", "field_or_boxed", "folio_label", "option_letter")
QUESTION_FROM = ("field", "folio", "folio_formal", "context_question")

# Fixed field names the composite question/answer rules read (the layouts of FOLIO and Logic-LLM).
FOLIO_PREMISES, FOLIO_CONCLUSION = "premises", "conclusion"
CONTEXT_FIELD, OPTIONS_FIELD = "context", "options"

_FOLIO_LABELS = {"true": "True", "false": "False", "uncertain": "Unknown", "unknown": "Unknown"}
_OPTION_RE = re.compile(r"^\s*\(?([A-Za-z])\)\s*(.+?)\s*$", re.DOTALL)


@dataclass(frozen=True)
class FieldMap:
    """Which input fields hold the id, question and reference answer, and how the answer is read.

    ``answer_from``: ``field`` (as is, stripped), ``gsm8k`` (text after the last ``####``, commas
    removed), ``boxed`` (last ``\\boxed{}``), ``field_or_boxed`` (``answer`` if present, else the last
    ``\\boxed{}`` of ``solution``), ``folio_label`` (True/False/Uncertain -> True/False/Unknown),
    ``option_letter`` (a letter such as ``B`` -> its text in the ``options`` list, as in ProntoQA).
    ``question_from``: ``field``; ``folio`` (``premises`` + ``conclusion`` as one prompt);
    ``context_question`` (``context`` + blank line + the question field). ``answer=None`` means the
    problems have no reference answer; ``require_answer=False`` keeps a row whose answer is missing
    or unreadable (reference null) instead of rejecting it.
    """

    id: str | None = None
    question: str = "question"
    answer: str | None = "answer"
    answer_from: str = "field"
    domain: str = "math"
    source: str | None = None
    require_answer: bool = True
    question_from: str = "field"
    solution: str = "solution"
    # prmlabel's own problems format: domain, source and meta are taken from the row as they are.
    native: bool = False

    def __post_init__(self) -> None:
        if self.answer_from not in ANSWER_FROM:
            choices = ", ".join(ANSWER_FROM)
            raise ValueError(f"unknown answer_from {self.answer_from!r}; choose one of: {choices}")
        if self.question_from not in QUESTION_FROM:
            raise ValueError(f"unknown question_from {self.question_from!r}; choose one of: {', '.join(QUESTION_FROM)}")


def _logic_qa(source: str) -> FieldMap:
    """Logic-LLM's ProntoQA / ProofWriter layout: context + question, answer letter over ``options``."""
    return FieldMap(
        id="id",
        question="question",
        question_from="context_question",
        answer="answer",
        answer_from="option_letter",
        domain="logic",
        source=source,
    )


PRESETS: dict[str, FieldMap] = {
    "gsm8k": FieldMap(question="question", answer="answer", answer_from="gsm8k", source="gsm8k"),
    "math": FieldMap(id="unique_id", question="problem", answer_from="field_or_boxed", source="math"),
    "math500": FieldMap(id="unique_id", question="problem", answer_from="field_or_boxed", source="math500"),
    # ProcessBench gives no reference answer, only a human label of each solution's first error.
    "processbench": FieldMap(id="id", question="problem", answer=None, require_answer=False, source="processbench"),
    # FOLIO v0.0 validation rows have no id (the train rows have example_id): those get a hash id.
    "folio": FieldMap(
        id="example_id",
        question=FOLIO_PREMISES,
        question_from="folio",
        answer="label",
        answer_from="folio_label",
        domain="logic",
        source="folio",
    ),
    # prmlabel's own problems rows (`prmlabel synthetic problems`, or a problems table written back out).
    "prmlabel": FieldMap(id="problem_id", question="question", answer="reference_answer", native=True),
    "prontoqa": _logic_qa("prontoqa"),
    "proofwriter": _logic_qa("proofwriter"),
}
# FOLIO for the z3 verifier: the question lists the numbered FOL facts and asks for FoVer-style formal steps.
PRESETS["folio_formal"] = replace(PRESETS["folio"], question_from="folio_formal")


@dataclass
class ProblemLoad:
    """The problems read from one input, the rows that were rejected, and how many rows came in."""

    problems: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    rows_in: int


# ------------------------------------------------------------------------------------------------------
# Question and answer rules
# ------------------------------------------------------------------------------------------------------


def _folio_formal_question(data: dict[str, Any]) -> str:
    """The FOL facts numbered as the z3 verifier cites them, and FoVer's formal step instructions."""
    from prmlabel.verifiers.logic_steps import FORMAL_STEP_INSTRUCTIONS, formal_problem_text

    premises_fol = get_field(data, "premises-FOL")
    if not isinstance(premises_fol, list) or not premises_fol or not all(isinstance(p, str) for p in premises_fol):
        raise RowError("premises-FOL", "premises-FOL must be a non-empty list of formulas for the folio_formal preset")
    conclusion_fol = text_field(data, "conclusion-FOL", "conclusion-FOL")
    premises_en = get_field(data, FOLIO_PREMISES)
    english = premises_en if isinstance(premises_en, list) else None
    return formal_problem_text(premises_fol, conclusion_fol, english) + "\n\n" + FORMAL_STEP_INSTRUCTIONS


def _question(data: dict[str, Any], fm: FieldMap) -> str:
    if fm.question_from == "folio_formal":
        return _folio_formal_question(data)
    if fm.question_from == "folio":
        premises = get_field(data, FOLIO_PREMISES)
        if isinstance(premises, str):
            premises = [line for line in premises.splitlines() if line.strip()]
        if not isinstance(premises, list) or not premises or not all(isinstance(p, str) for p in premises):
            got = "missing" if premises is None else f"of type {type_name(premises)}"
            reason = f"premises field {FOLIO_PREMISES!r} is {got}; expected a list of strings"
            raise RowError(FOLIO_PREMISES, reason)
        conclusion = text_field(data, FOLIO_CONCLUSION, "conclusion")
        bullets = "\n".join(f"- {p.strip()}" for p in premises)
        return (
            f"Premises:\n{bullets}\n\nConclusion: {conclusion.strip()}\n\n"
            "Based only on the premises, is the conclusion True, False or Unknown?"
        )
    question = text_field(data, fm.question, "question", "fields.question")
    if fm.question_from == "context_question":
        context = text_field(data, CONTEXT_FIELD, "context")
        return f"{context.strip()}\n\n{question.strip()}"
    return question


def _missing_answer(data: dict[str, Any], name: str) -> RowError:
    hint = fields_hint(data)
    return RowError(name, f"missing answer field {name!r} ({hint}); map it with fields.answer=NAME")


def _answer_text(data: dict[str, Any], name: str, how: str) -> str:
    value = get_field(data, name)
    if value is None:
        raise _missing_answer(data, name)
    if not isinstance(value, str):
        kind = type_name(value)
        raise RowError(name, f"answer field {name!r} has type {kind}; answer_from={how} needs a string")
    return value


def _answer(data: dict[str, Any], fm: FieldMap) -> str | None:
    """The reference answer, or a RowError when it is missing or cannot be read."""
    name = fm.answer
    if name is None:
        return None
    how = fm.answer_from
    if how == "field":
        value = scalar_text(data, name, "answer")
        if value is None:
            raise _missing_answer(data, name)
        return value
    if how == "field_or_boxed":
        value = scalar_text(data, name, "answer")
        if value is not None:
            return value
        solution = get_field(data, fm.solution)
        boxed = last_boxed(solution) if isinstance(solution, str) else None
        if boxed is None or not boxed.strip():
            reason = f"missing answer: no field {name!r} and no \\boxed{{}} in field {fm.solution!r}"
            raise RowError(name, reason)
        return boxed.strip()
    if how == "folio_label":
        value = get_field(data, name)
        if isinstance(value, bool):
            return "True" if value else "False"
        label = _FOLIO_LABELS.get(str(value).strip().lower()) if isinstance(value, str) else None
        if label is None:
            reason = f"label field {name!r} is {value!r}; expected True, False, Uncertain or Unknown"
            raise RowError(name, reason)
        return label
    if how == "option_letter":
        return _option_answer(data, name)
    text = _answer_text(data, name, how)
    if how == "gsm8k":
        at = text.rfind("####")
        if at < 0:
            raise RowError(
                name,
                f"answer field {name!r} has no '#### <answer>' line; use answer_from=field "
                "if the field holds only the answer",
            )
        lines = text[at + 4 :].strip().splitlines()
        answer = lines[0].strip().replace(",", "") if lines else ""
        if not answer:
            raise RowError(name, f"answer field {name!r} has nothing after '####'")
        return answer
    boxed = last_boxed(text)  # how == "boxed"
    if boxed is None or not boxed.strip():
        raise RowError(name, f"no \\boxed{{}} answer in field {name!r}")
    return boxed.strip()


def _option_answer(data: dict[str, Any], name: str) -> str:
    letter = scalar_text(data, name, "answer")
    if letter is None:
        raise RowError(name, f"missing answer field {name!r} ({fields_hint(data)})")
    options = get_field(data, OPTIONS_FIELD)
    if not isinstance(options, list):
        raise RowError(
            OPTIONS_FIELD,
            f"options field {OPTIONS_FIELD!r} is missing or not a list; answer_from=option_letter needs it",
        )
    table: dict[str, str] = {}
    for option in options:
        m = _OPTION_RE.match(option) if isinstance(option, str) else None
        if m:
            table[m.group(1).upper()] = m.group(2)
    key = letter.strip().strip("()").strip().upper()
    if key not in table:
        raise RowError(
            name,
            f"answer {letter!r} is not one of the option letters {sorted(table)} in field {OPTIONS_FIELD!r}",
        )
    return table[key]


def _verbatim_fields(fm: FieldMap, data: dict[str, Any]) -> set[str]:
    """Top-level fields carried unchanged into the problem row; every other field goes into ``meta``."""
    out: set[str] = set()
    if fm.id and fm.id in data:
        out.add(fm.id)
    if fm.question_from == "field":
        out.add(fm.question)
    if fm.answer and fm.answer_from in ("field", "field_or_boxed") and data.get(fm.answer) not in (None, ""):
        out.add(fm.answer)
    return out


def problem_from_row(data: dict[str, Any], fm: FieldMap, source: str) -> dict[str, Any]:
    """One input row -> a problem dict with exactly the PROBLEM keys, or a RowError."""
    pid = scalar_text(data, fm.id, "id") if fm.id else None
    try:
        question = _question(data, fm)
        try:
            answer = _answer(data, fm)
        except RowError:
            if fm.require_answer:
                raise
            answer = None
    except RowError as e:
        e.problem_id = e.problem_id or pid
        raise
    keep = _verbatim_fields(fm, data)
    meta = {k: v for k, v in data.items() if k not in keep}
    if fm.native:
        return {
            "problem_id": pid or make_problem_id(source, question, answer),
            "question": question,
            "reference_answer": answer,
            "domain": scalar_text(data, "domain", "domain") or fm.domain,
            "source": scalar_text(data, "source", "source") or source,
            "meta": data["meta"] if isinstance(data.get("meta"), str) else meta_json(meta),
        }
    return {
        "problem_id": pid or make_problem_id(source, question, answer),
        "question": question,
        "reference_answer": answer,
        "domain": fm.domain,
        "source": source,
        "meta": meta_json(meta),
    }


def load_problems(
    path: str | Path, fieldmap: FieldMap, source: str | None = None, split: str | None = None
) -> ProblemLoad:
    """Read problems from a file or folder; rows that cannot be used become rejects with the reason.

    ``source`` defaults to the field map's (a preset's name), else the file stem. Duplicate problem
    ids keep the first row and reject the later ones. ``split`` picks a ``DatasetDict`` split.
    """
    src = source or fieldmap.source or source_name(path)
    problems: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    rows_in = 0
    first_seen: dict[str, tuple[str, int]] = {}
    for rec in read_records(path, split):
        rows_in += 1
        if rec.data is None:
            rejects.append(record_reject(rec))
            continue
        try:
            problem = problem_from_row(rec.data, fieldmap, src)
        except RowError as e:
            rejects.append(make_reject(rec, e.field, e.reason, e.problem_id))
            continue
        pid = problem["problem_id"]
        if pid in first_seen:
            reason = duplicate_reason(pid, first_seen[pid], rec)
            rejects.append(make_reject(rec, fieldmap.id or fieldmap.question, reason, pid))
            continue
        first_seen[pid] = (rec.file, rec.row)
        problems.append(problem)
    assert rows_in == len(problems) + len(rejects), (rows_in, len(problems), len(rejects))
    return ProblemLoad(problems, rejects, rows_in)


def duplicate_reason(pid: str, first: tuple[str, int], rec: RawRecord) -> str:
    where = f"row {first[1]}" if first[0] == rec.file else f"{first[0]} row {first[1]}"
    return f"duplicate problem_id {pid} (first seen at {where}); the first one is kept"
