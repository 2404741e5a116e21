"""What every input reader shares: one raw record (a row, or why it could not be read), the error for
an input that cannot be read at all, and turning Arrow values into JSON-compatible ones."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

RAW_LIMIT = 2000
"""Longest ``raw`` text kept for a reject (characters); a 10 MB row is cut, not copied whole."""

BATCH_ROWS = 1024  # rows per Arrow batch when reading Parquet, Arrow or a Hub dataset


class InputError(Exception):
    """The input as a whole cannot be read; the message names the file and says what to do."""


@dataclass(frozen=True)
class RawRecord:
    """One input row, or the reason it could not be read.

    ``data`` is the row as a JSON-compatible dict (None when ``error`` is set). ``raw`` is only kept
    for unreadable rows (the offending text, cut to :data:`RAW_LIMIT` characters), because a readable
    row is fully described by ``data`` and keeping both would double the memory of a large file.
    """

    file: str
    row: int
    data: dict[str, Any] | None
    error: str | None = None
    raw: str | None = None


def jsonable(value: Any) -> Any:
    """Arrow values that JSON has no type for become text, so every record can go into ``meta``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (dt.timedelta, decimal.Decimal)):
        return str(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(value).decode("ascii")
    return value
