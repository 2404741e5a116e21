"""A corpus of broken problem and response files, each with what prmlabel must do with it.

``expect`` is ``"error"`` (the whole input is unusable: exit 2 with a message naming the file and the
next step, nothing written) or ``"rejects"`` (the bad rows go to rejects/ with file, row and reason; the
good rows are processed). ``bad_rows`` is how many rows must be rejected, ``hint`` a word the message
or the rejects' reasons must contain. Some odd rows are usable and must NOT be rejected (``bad_rows=0``):
a NaN answer is read as no reference, a lone surrogate escape is read, NUL and control characters in a
question are kept as text, a 10 MB question is processed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from prmlabel.synthetic.problems import make_problems

GOOD = [json.dumps(p) for p in make_problems(count=5, steps=(2, 3), seed=11)]
GOOD_BYTES = ("\n".join(GOOD) + "\n").encode()


def _good(n: int = 5) -> list[dict]:
    return [json.loads(line) for line in GOOD[:n]]


def _with(**changes: object) -> str:
    return json.dumps({**_good(1)[0], "problem_id": "bad-row", **changes})


@dataclass(frozen=True)
class BadInput:
    name: str  # file name (its suffix decides the reader)
    write: Callable[[Path], None]
    expect: str  # "error" | "rejects"
    bad_rows: int = 0
    hint: str = ""


def _text(content: str | bytes) -> Callable[[Path], None]:
    data = content.encode() if isinstance(content, str) else content

    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def _other_schema_parquet(path: Path) -> None:
    pq.write_table(pa.table({"id": [1, 2, 3], "text": ["a", "b", "c"], "score": [0.1, 0.2, 0.3]}), path)


def _mixed_parquet(path: Path) -> None:
    rows = _good(3) + [{**_good(1)[0], "problem_id": "p-null", "question": None}]
    pq.write_table(pa.Table.from_pylist(rows), path)


def _huge_question(path: Path) -> None:
    row = {**_good(1)[0], "problem_id": "huge", "question": "What is 1 + 1? " + "x" * 10_000_000}
    path.write_bytes(GOOD_BYTES + (json.dumps(row) + "\n").encode())


def _truncated_array(path: Path) -> None:
    path.write_text(json.dumps(_good())[:-40], encoding="utf-8")


PROBLEM_FILES: list[BadInput] = [
    BadInput("empty.jsonl", _text(b""), "error", hint="empty"),
    BadInput("blank_lines.jsonl", _text(b"\n\n   \n"), "error", hint="no records"),
    BadInput("notes.txt", _text(GOOD_BYTES), "error", hint="unsupported file type"),
    BadInput("truncated_array.json", _truncated_array, "error", hint="json"),
    BadInput("other_schema.parquet", _other_schema_parquet, "rejects", bad_rows=3, hint="question"),
    BadInput("truncated_line.jsonl", _text(GOOD_BYTES + GOOD[0][:30].encode()), "rejects", bad_rows=1),
    BadInput("invalid_utf8.jsonl", _text(GOOD_BYTES + b'{"question": "caf\xe9 \xff\xfe"}\n'), "rejects", 1, "utf"),
    BadInput(
        "wrong_types.jsonl",
        _text("\n".join([*GOOD, _with(question=12345), _with(question=["a", "b"]), _with(reference_answer={"x": 1})])),
        "rejects",
        bad_rows=3,
    ),
    BadInput(
        "missing_fields.jsonl",
        _text("\n".join([*GOOD, json.dumps({"problem_id": "no-question", "reference_answer": "3"})])),
        "rejects",
        bad_rows=1,
        hint="question",
    ),
    BadInput(
        "duplicate_ids.jsonl", _text("\n".join([*GOOD, GOOD[0], GOOD[1]])), "rejects", bad_rows=2, hint="duplicate"
    ),
    BadInput("not_objects.jsonl", _text("\n".join([*GOOD, "[1, 2, 3]", '"just a string"', "42"])), "rejects", 3),
    BadInput("lone_surrogate.jsonl", _text("\n".join([*GOOD, _with(question="bad \\ud800 escape")])), "rejects", 0),
    BadInput(
        "nul_and_control.jsonl",
        _text("\n".join([*GOOD, _with(problem_id="ctl", question="2 + 2 =\x00\x07\x1b[31m?")])),
        "rejects",
        0,
    ),
    BadInput("nan_answer.jsonl", _text("\n".join([*GOOD, _with(reference_answer=float("nan"))])), "rejects", 0),
    BadInput("mixed_types.parquet", _mixed_parquet, "rejects", bad_rows=1, hint="question"),
    BadInput("huge_question.jsonl", _huge_question, "rejects", bad_rows=0),
]
