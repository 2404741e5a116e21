"""Read raw records (one dict per row) from any supported input file or folder.

Every input format becomes the same stream of :class:`RawRecord`, so field mapping (``problems``,
``importers``) is written once. A row that cannot be read (bad UTF-8, truncated JSON, a CSV row with
the wrong number of cells) is *not* an exception: it comes out as a record with ``error`` set, so the
caller can reject it with its file and row number and the run goes on. Only problems with the input
as a whole (missing, empty, unknown type, a malformed ``.json`` document) raise :class:`InputError`,
whose message names the file and says what to do.

Row numbers are 1-based: the line number for JSONL and CSV (what an editor shows, so a reject can be
found), the record number for JSON arrays, Parquet and Arrow.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prmlabel.inputs.raw import BATCH_ROWS, RAW_LIMIT, InputError, RawRecord, jsonable

__all__ = ["DATA_SUFFIXES", "JSONL_SUFFIXES", "RAW_LIMIT", "InputError", "RawRecord", "read_records"]

JSONL_SUFFIXES = (".jsonl", ".ndjson")
DATA_SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet", ".csv", ".arrow")

# A JSON escape of a UTF-16 surrogate: valid JSON, but a lone one is not valid Unicode and later breaks
# UTF-8 encoding (Parquet write). Only lines containing such an escape are checked in depth.
_SURROGATE_ESCAPE_RE = re.compile(rb"\\u[dD][89a-fA-F]")
_CSV_FIELD_LIMIT = 2**31 - 1


def read_records(path: str | Path, split: str | None = None) -> Iterator[RawRecord]:
    """Records of a file (``.jsonl``/``.ndjson``, ``.json``, ``.parquet``, ``.csv``, ``.arrow``), folder,
    or Hub dataset (``hf://owner/name``, see :mod:`prmlabel.inputs.hub`; ``split`` picks its split).

    A folder is either a Hugging Face ``datasets`` folder written by ``save_to_disk`` (a ``DatasetDict``
    folder needs ``split`` when it holds several splits) or a folder of data files, read in sorted
    order. The input is checked up front, so a missing or empty file raises here, not mid-run; an
    input that turns out to hold no records at all raises when the iterator is exhausted.
    """
    if str(path).startswith("hf:/"):  # a dataset by its Hub name (prmlabel.inputs.hub)
        from prmlabel.inputs.hub import read_hub_records

        return read_hub_records(path, split)
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder; check the path (relative to {Path.cwd()})")
    if p.is_dir():
        files = _folder_files(p, split)
    else:
        _check_file(p)
        files = [p]
    return _nonempty(p, _chain(files))


def _chain(files: list[Path]) -> Iterator[RawRecord]:
    for f in files:
        yield from _read_file(f)


def _nonempty(source: Path, records: Iterator[RawRecord]) -> Iterator[RawRecord]:
    """Pass records through; raise if there were none (an empty input is a mistake, not an empty run)."""
    seen = False
    for rec in records:
        seen = True
        yield rec
    if not seen:
        raise InputError(f"{source}: holds no records; check that it is the right file")


def _check_file(p: Path) -> None:
    suffix = p.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise InputError(
            f"{p}: unsupported file type {suffix or '(no extension)'!r}; use .jsonl, .json, .parquet, .csv "
            "or a folder (a Hugging Face datasets folder, or a folder of such files)"
        )
    if p.stat().st_size == 0:
        raise InputError(f"{p}: the file is empty; check that it is the right file and was fully written")


def _read_file(p: Path) -> Iterator[RawRecord]:
    suffix = p.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return _read_jsonl(p)
    if suffix == ".json":
        return _read_json(p)
    if suffix == ".parquet":
        return _read_parquet(p)
    if suffix == ".csv":
        return _read_csv(p)
    return _read_arrow(p)


# ------------------------------------------------------------------------------------------------------
# Folders
# ------------------------------------------------------------------------------------------------------


def _folder_files(p: Path, split: str | None) -> list[Path]:
    """The data files a folder stands for, in a stable order."""
    if (p / "dataset_dict.json").is_file():
        return _folder_files(_dataset_dict_split(p, split), None)
    arrow = sorted(p.glob("data-*.arrow"))
    if arrow or (p / "state.json").is_file() or (p / "dataset_info.json").is_file():
        files = _hf_state_files(p) or arrow
        if not files:
            raise InputError(f"{p}: looks like a Hugging Face datasets folder but has no data-*.arrow files")
        for f in files:
            if not f.is_file():
                raise InputError(f"{p}: state.json lists {f.name}, which is missing; save the dataset again")
        return files
    files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in DATA_SUFFIXES)
    if not files:
        raise InputError(
            f"{p}: no data files in this folder (looked for {', '.join('*' + s for s in DATA_SUFFIXES)}, "
            "or a Hugging Face datasets folder); pass a file or a folder that holds some"
        )
    for f in files:
        _check_file(f)
    return files


def _hf_state_files(p: Path) -> list[Path]:
    """Arrow files in the order ``state.json`` lists them (their row order), or [] without one."""
    state = p / "state.json"
    if not state.is_file():
        return []
    try:
        listed = json.loads(state.read_text(encoding="utf-8")).get("_data_files") or []
        return [p / entry["filename"] for entry in listed]
    except (ValueError, AttributeError, KeyError, TypeError) as e:
        raise InputError(f"{state}: not a readable datasets state file ({e}); save the dataset again") from e


def _dataset_dict_split(p: Path, split: str | None) -> Path:
    """The split folder of a ``DatasetDict``; ambiguous without ``split`` when there are several."""
    try:
        splits = list(json.loads((p / "dataset_dict.json").read_text(encoding="utf-8"))["splits"])
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{p / 'dataset_dict.json'}: not a readable DatasetDict index ({e})") from e
    if split is None:
        if len(splits) != 1:
            raise InputError(
                f"{p}: a Hugging Face DatasetDict with splits {splits}; choose one by passing its folder "
                f"(e.g. {p / (splits[0] if splits else 'train')}) or split=NAME"
            )
        split = splits[0]
    if split not in splits or not (p / split).is_dir():
        raise InputError(f"{p}: no split {split!r} in this DatasetDict; its splits are {splits}")
    return p / split


# ------------------------------------------------------------------------------------------------------
# JSON Lines and JSON
# ------------------------------------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _cut(text: str) -> str:
    return text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT]


def _parse_json_line(file: str, row: int, line: bytes) -> RawRecord:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raw = _cut(line.decode("utf-8", errors="replace"))
        return RawRecord(file, row, None, f"invalid UTF-8 at byte {e.start} of the line", raw)
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as e:
        return RawRecord(file, row, None, f"invalid JSON: {e}", _cut(text))
    if not isinstance(value, dict):
        return RawRecord(file, row, None, f"expected a JSON object, got {_json_type(value)}", _cut(text))
    if _SURROGATE_ESCAPE_RE.search(line) and _has_lone_surrogate(value):
        return RawRecord(file, row, None, "invalid JSON: a \\u escape of a lone UTF-16 surrogate", _cut(text))
    return RawRecord(file, row, value)


def _read_jsonl(p: Path) -> Iterator[RawRecord]:
    """One record per non-blank line. Read as bytes and decoded line by line, so one bad line costs
    one reject instead of the whole file."""
    file = str(p)
    with open(p, "rb") as f:
        for lineno, line in enumerate(f, start=1):
            if lineno == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]  # a UTF-8 byte order mark, as some editors write
            if not line.strip():
                continue
            yield _parse_json_line(file, lineno, line.rstrip(b"\r\n"))


def _records_of_json_document(p: Path, doc: Any) -> list[Any]:
    """The list of records a ``.json`` document holds.

    Decision: an array is the records; an object whose only list is a non-empty list of objects (all
    other values scalars, as in ``{"version": 1, "data": [...]}``) or whose only key holds a list is a
    wrapper around them; any other object is one record (e.g. a single PRM800K record saved pretty).
    """
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        raise InputError(f"{p}: a .json file must hold an array of objects, not a {_json_type(doc)}")
    lists = [k for k, v in doc.items() if isinstance(v, list)]
    if len(doc) == 1 and lists:
        return doc[lists[0]]
    if len(lists) == 1:
        items = doc[lists[0]]
        others_scalar = all(not isinstance(v, (list, dict)) for k, v in doc.items() if k != lists[0])
        if items and others_scalar and all(isinstance(x, dict) for x in items):
            return items
    return [doc]


def _read_json(p: Path) -> Iterator[RawRecord]:
    data = p.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise InputError(f"{p}: invalid UTF-8 at byte {e.start}; re-save the file as UTF-8") from e
    except (ValueError, RecursionError) as e:
        raise InputError(
            f"{p}: not valid JSON ({e}); a .json file must hold one JSON document (an array of objects). "
            "For one object per line, name the file .jsonl"
        ) from e
    file = str(p)
    for i, item in enumerate(_records_of_json_document(p, doc), start=1):
        if not isinstance(item, dict):
            raw = _cut(json.dumps(item, ensure_ascii=False))
            yield RawRecord(file, i, None, f"expected a JSON object, got {_json_type(item)}", raw)
        elif _has_lone_surrogate(item):
            raw = _cut(json.dumps(item))
            yield RawRecord(file, i, None, "invalid JSON: a \\u escape of a lone UTF-16 surrogate", raw)
        else:
            yield RawRecord(file, i, item)


# ------------------------------------------------------------------------------------------------------
# CSV
# ------------------------------------------------------------------------------------------------------


def _read_csv(p: Path) -> Iterator[RawRecord]:
    """Rows as dicts of strings keyed by the header.

    The file is decoded with ``surrogateescape`` so an invalid byte does not stop the reader; a row
    holding one (a lone surrogate after decoding) becomes an error record instead.
    """
    csv.field_size_limit(_CSV_FIELD_LIMIT)  # the default (128 KiB per cell) rejects long solutions
    file = str(p)
    with open(p, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise InputError(f"{p}: unreadable CSV header ({e})") from e
        if any(_has_lone_surrogate(h) for h in header):
            raise InputError(f"{p}: invalid UTF-8 in the CSV header; re-save the file as UTF-8")
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise InputError(f"{p}: the CSV header repeats the column names {dupes}; rename them")
        yield from _csv_rows(file, header, reader)


def _csv_rows(file: str, header: list[str], reader: Any) -> Iterator[RawRecord]:
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield RawRecord(file, start, None, f"invalid CSV row: {e}", None)
            continue
        if not cells:
            continue  # a blank line
        raw = _cut(json.dumps(cells, ensure_ascii=False).encode("utf-8", "replace").decode("utf-8"))
        bad = [h for h, c in zip(header, cells, strict=False) if _has_lone_surrogate(c)]
        if bad or (len(cells) > len(header) and any(_has_lone_surrogate(c) for c in cells)):
            where = f" in column {bad[0]!r}" if bad else ""
            yield RawRecord(file, start, None, f"invalid UTF-8{where}; re-save the file as UTF-8", raw)
        elif len(cells) != len(header):
            reason = f"the row has {len(cells)} cells but the header has {len(header)}"
            yield RawRecord(file, start, None, reason, raw)
        else:
            yield RawRecord(file, start, dict(zip(header, cells, strict=True)))


# ------------------------------------------------------------------------------------------------------
# Parquet and Arrow
# ------------------------------------------------------------------------------------------------------


def _batches_to_records(file: str, batches: Iterable[Any]) -> Iterator[RawRecord]:
    row = 0
    for batch in batches:
        for item in batch.to_pylist():
            row += 1
            yield RawRecord(file, row, jsonable(item))


def _read_parquet(p: Path) -> Iterator[RawRecord]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{p}: not a readable Parquet file ({e}); check that it was fully written") from e
    try:
        yield from _batches_to_records(str(p), pf.iter_batches(batch_size=BATCH_ROWS))
    except pa.ArrowException as e:
        raise InputError(f"{p}: the Parquet file is damaged ({e})") from e
    finally:
        pf.close()


def _read_arrow(p: Path) -> Iterator[RawRecord]:
    """An Arrow IPC file: the *stream* format that ``datasets`` writes, else the random-access format."""
    import pyarrow as pa

    with pa.memory_map(str(p), "r") as source:
        try:
            reader = pa.ipc.open_stream(source)
        except pa.ArrowException:
            source.seek(0)
            try:
                reader = pa.ipc.open_file(source)
            except pa.ArrowException as e:
                raise InputError(f"{p}: not an Arrow IPC stream or file ({e})") from e
            batches: Iterable[Any] = (reader.get_batch(i) for i in range(reader.num_record_batches))
        else:
            batches = reader
        try:
            yield from _batches_to_records(str(p), batches)
        except pa.ArrowException as e:
            raise InputError(f"{p}: the Arrow file is damaged ({e})") from e
