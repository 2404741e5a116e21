"""One input row, read field by field: named fields, problem ids, leftovers as ``meta``, and rejects.

Shared by the problem loader (``problems``) and the response importers (``importers``), so a bad row
is reported the same way everywhere: which file and row, which field (the user's name for it), why,
and what to do.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from prmlabel.inputs.records import RAW_LIMIT, RawRecord


class RowError(Exception):
    """One row cannot be used: which field (the user's name for it), why, and its problem id if known."""

    def __init__(self, field: str | None, reason: str, problem_id: str | None = None):
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.problem_id = problem_id


def make_problem_id(source: str, question: str, answer: str | None) -> str:
    """``<source>-<12 hex of sha256(question NUL answer)>``: stable under reordering and re-runs, and
    the same for every response to one question (so they group as one problem)."""
    digest = hashlib.sha256((question + "\x00" + (answer or "")).encode("utf-8")).hexdigest()
    return f"{source}-{digest[:12]}"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def meta_json(fields: dict[str, Any]) -> str:
    """JSON text of leftover fields: sorted keys (byte-stable), UTF-8 as is, NaN/inf as null (strict JSON,
    which DuckDB's JSON functions require)."""
    try:
        return json.dumps(fields, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(fields), sort_keys=True, ensure_ascii=False, allow_nan=False)


def raw_json(data: dict[str, Any]) -> str:
    """The row as JSON text for a reject, cut to ``RAW_LIMIT`` characters."""
    text = json.dumps(data, ensure_ascii=False, default=str)
    return text[:RAW_LIMIT]


def make_reject(rec: RawRecord, field: str | None, reason: str, problem_id: str | None = None) -> dict[str, Any]:
    """A reject row (the ``REJECTS`` schema's keys) for ``rec``."""
    raw = rec.raw if rec.data is None else raw_json(rec.data)
    return {
        "file": rec.file,
        "row": rec.row,
        "field": field,
        "reason": reason,
        "problem_id": problem_id,
        "raw": raw,
    }


def record_reject(rec: RawRecord) -> dict[str, Any]:
    """The reject of a row that could not even be read (bad UTF-8, truncated JSON, ...)."""
    return make_reject(rec, None, rec.error or "unreadable row")


def get_field(data: dict[str, Any], name: str) -> Any:
    """``data[name]``; a dotted name (``question.problem``) reaches into nested objects when no top-level
    key has that exact name."""
    if name in data:
        return data[name]
    value: Any = data
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def type_name(value: Any) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean"}
    return names.get(type(value), type(value).__name__)


def fields_hint(data: dict[str, Any]) -> str:
    names = ", ".join(repr(k) for k in list(data)[:20])
    return f"the row has fields {names}" if names else "the row has no fields"


def text_field(data: dict[str, Any], name: str, role: str, config_key: str | None = None) -> str:
    """A required non-empty string field, or a RowError saying what is wrong with it."""
    value = get_field(data, name)
    if value is None:
        how = f"; map it with {config_key}=NAME" if config_key else ""
        raise RowError(name, f"missing {role} field {name!r}{how} ({fields_hint(data)})")
    if not isinstance(value, str):
        raise RowError(name, f"{role} field {name!r} has type {type_name(value)}; expected a string")
    if not value.strip():
        raise RowError(name, f"empty {role} field {name!r}")
    return value


def scalar_text(data: dict[str, Any], name: str, role: str) -> str | None:
    """A string or number field as text (None when absent or blank); other types are a RowError."""
    value = get_field(data, name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        kind = type_name(value)
        raise RowError(name, f"{role} field {name!r} has type {kind}; expected a string or number")
    text = str(value).strip()
    return text or None


def source_name(path: str | Path) -> str:
    """The default ``source``: the file name without extension, or the folder name."""
    p = Path(path)
    return p.name if p.is_dir() else p.stem
