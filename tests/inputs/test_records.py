"""Tests for prmlabel.inputs.records: every format, broken rows as error records, whole-input errors raised."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prmlabel.inputs.records import RAW_LIMIT, InputError, read_records


def _write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def _arrow_stream(path: Path, table: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=2)


def _hf_folder(folder: Path, rows: list[dict]) -> Path:
    """A folder shaped like ``Dataset.save_to_disk``: Arrow stream shards plus the two JSON files."""
    folder.mkdir(parents=True)
    half = len(rows) // 2
    names = ["data-00000-of-00002.arrow", "data-00001-of-00002.arrow"]
    for name, part in zip(names, [rows[:half], rows[half:]], strict=True):
        _arrow_stream(folder / name, pa.Table.from_pylist(part))
    (folder / "dataset_info.json").write_text(json.dumps({"features": {}}))
    (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": n} for n in names]}))
    return folder


# ------------------------------------------------------------------------------------------------------
# JSON Lines
# ------------------------------------------------------------------------------------------------------


def test_jsonl_bad_lines_become_error_records_and_the_run_goes_on(tmp_path: Path) -> None:
    lines = [
        b'{"q": "one"}',
        b"",  # blank: skipped, but still counts as a line
        b'{"q": "two", "a": ',  # truncated
        b'{"q": "caf\xe9"}',  # Latin-1 byte, not UTF-8
        b"[1, 2]",
        b'"just a string"',
        b'{"q": "lone \\ud800 surrogate"}',
        b'{"q": "pair \\ud83d\\ude00 ok"}',
        b'{"q": "crlf"}\r',
    ]
    recs = list(read_records(_write(tmp_path / "in.jsonl", b"\n".join(lines) + b"\n")))
    assert [r.row for r in recs] == [1, 3, 4, 5, 6, 7, 8, 9]
    by_row = {r.row: r for r in recs}
    assert by_row[1].data == {"q": "one"} and by_row[1].error is None and by_row[1].raw is None
    assert by_row[3].error.startswith("invalid JSON:") and by_row[3].raw == '{"q": "two", "a": '
    assert by_row[4].error == "invalid UTF-8 at byte 10 of the line" and by_row[4].data is None
    assert "caf" in by_row[4].raw
    assert by_row[5].error == "expected a JSON object, got list"
    assert by_row[6].error == "expected a JSON object, got string"
    assert "surrogate" in by_row[7].error
    assert by_row[8].data == {"q": "pair \U0001f600 ok"}
    assert by_row[9].data == {"q": "crlf"}
    assert all(r.file == str(tmp_path / "in.jsonl") for r in recs)


def test_jsonl_bom_and_ndjson(tmp_path: Path) -> None:
    recs = list(read_records(_write(tmp_path / "x.ndjson", b'\xef\xbb\xbf{"a": 1}\n{"a": 2}')))
    assert [r.data for r in recs] == [{"a": 1}, {"a": 2}]


def test_large_values_do_not_crash_and_raw_is_cut(tmp_path: Path) -> None:
    big = "x" * (10 * 1024 * 1024)
    body = json.dumps({"q": big}) + "\n" + '{"q": "' + big + "\n"  # second line truncated
    recs = list(read_records(_write(tmp_path / "big.jsonl", body)))
    assert len(recs[0].data["q"]) == len(big)
    assert recs[1].error.startswith("invalid JSON") and len(recs[1].raw) == RAW_LIMIT


# ------------------------------------------------------------------------------------------------------
# JSON documents
# ------------------------------------------------------------------------------------------------------


def test_json_array_and_wrappers(tmp_path: Path) -> None:
    arr = _write(tmp_path / "a.json", json.dumps([{"q": 1}, 5, {"q": 3}]))
    recs = list(read_records(arr))
    assert [r.row for r in recs] == [1, 2, 3]
    assert recs[1].error == "expected a JSON object, got number" and recs[2].data == {"q": 3}
    wrapped = _write(tmp_path / "w.json", json.dumps({"data": [{"q": 1}, {"q": 2}]}))
    assert [r.data for r in read_records(wrapped)] == [{"q": 1}, {"q": 2}]
    versioned = _write(tmp_path / "v.json", json.dumps({"version": "1.1", "rows": [{"q": 1}]}))
    assert [r.data for r in read_records(versioned)] == [{"q": 1}]
    single = {"question": {"problem": "p"}, "label": {"steps": []}, "tags": ["a", "b"]}
    one = _write(tmp_path / "one.json", json.dumps(single, indent=2))
    assert [r.data for r in read_records(one)] == [single]


def test_malformed_json_raises_a_clear_input_error(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.json", '[{"q": 1}, {"q": ')
    with pytest.raises(InputError, match=r"bad\.json: not valid JSON.*\.jsonl"):
        list(read_records(bad))
    scalar = _write(tmp_path / "scalar.json", "42")
    with pytest.raises(InputError, match="array of objects"):
        list(read_records(scalar))
    empty_list = _write(tmp_path / "none.json", "[]")
    with pytest.raises(InputError, match="holds no records"):
        list(read_records(empty_list))


# ------------------------------------------------------------------------------------------------------
# CSV
# ------------------------------------------------------------------------------------------------------


def test_csv_rows_line_numbers_and_bad_rows(tmp_path: Path) -> None:
    body = (
        b"question,answer\r\n"
        b"what is 1+1,2\r\n"
        b'"multi\nline question",3\r\n'
        b"bad \xff byte,4\r\n"
        b"\r\n"
        b"too,many,cells\r\n"
        b"short\r\n"
        b'"big",' + b"9" * 200_000 + b"\r\n"
    )
    recs = list(read_records(_write(tmp_path / "p.csv", body)))
    assert [r.row for r in recs] == [2, 3, 5, 7, 8, 9]
    assert recs[0].data == {"question": "what is 1+1", "answer": "2"}
    assert recs[1].data == {"question": "multi\nline question", "answer": "3"}
    assert recs[2].error.startswith("invalid UTF-8 in column 'question'")
    assert recs[3].error == "the row has 3 cells but the header has 2"
    assert recs[4].error == "the row has 1 cells but the header has 2"
    assert len(recs[5].data["answer"]) == 200_000


def test_csv_duplicate_header_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="repeats"):
        list(read_records(_write(tmp_path / "d.csv", "a,a\n1,2\n")))


# ------------------------------------------------------------------------------------------------------
# Parquet, Arrow and folders
# ------------------------------------------------------------------------------------------------------


def test_parquet_rows_with_non_json_types(tmp_path: Path) -> None:
    table = pa.table(
        {
            "q": ["a", "b", "c"],
            "when": [dt.date(2024, 1, 2)] * 3,
            "blob": [b"ok", b"\xff\x00", None],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=2)
    recs = list(read_records(tmp_path / "t.parquet"))
    assert [r.row for r in recs] == [1, 2, 3]
    assert recs[0].data == {"q": "a", "when": "2024-01-02", "blob": "ok"}
    assert recs[1].data["blob"].startswith("base64:")
    json.dumps([r.data for r in recs])  # all JSON-compatible


def test_damaged_parquet_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a readable Parquet file"):
        list(read_records(_write(tmp_path / "x.parquet", b"PAR1 nope")))


def test_hf_datasets_folder(tmp_path: Path) -> None:
    rows = [{"question": f"q{i}", "answer": str(i)} for i in range(5)]
    folder = _hf_folder(tmp_path / "ds", rows)
    recs = list(read_records(folder))
    assert [r.data for r in recs] == rows
    assert [r.row for r in recs] == [1, 2, 1, 2, 3]  # record number within each shard file
    assert recs[2].file.endswith("data-00001-of-00002.arrow")


def test_hf_dataset_dict_needs_a_split_when_ambiguous(tmp_path: Path) -> None:
    root = tmp_path / "dd"
    _hf_folder(root / "train", [{"q": "t1"}, {"q": "t2"}])
    _hf_folder(root / "test", [{"q": "s1"}, {"q": "s2"}])
    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    with pytest.raises(InputError, match=r"splits \['train', 'test'\].*split=NAME"):
        read_records(root)
    assert [r.data["q"] for r in read_records(root, split="test")] == ["s1", "s2"]
    assert [r.data["q"] for r in read_records(root / "train")] == ["t1", "t2"]
    with pytest.raises(InputError, match="no split 'dev'"):
        read_records(root, split="dev")
    single = tmp_path / "single"
    _hf_folder(single / "test", [{"q": "only"}, {"q": "two"}])
    (single / "dataset_dict.json").write_text(json.dumps({"splits": ["test"]}))
    assert [r.data["q"] for r in read_records(single)] == ["only", "two"]


def test_folder_of_data_files_in_sorted_order(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    pq.write_table(pa.table({"q": ["p1", "p2"]}), folder / "b.parquet")
    _write(folder / "a.jsonl", '{"q": "j1"}\n')
    _write(folder / "c.json", '[{"q": "c1"}]')
    _write(folder / "notes.txt", "ignored")
    recs = list(read_records(folder))
    assert [r.data["q"] for r in recs] == ["j1", "p1", "p2", "c1"]


def test_missing_empty_and_unknown_inputs_raise_with_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.jsonl: no such file or folder"):
        read_records(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match=r"empty\.jsonl: the file is empty"):
        read_records(_write(tmp_path / "empty.jsonl", b""))
    with pytest.raises(InputError, match=r"x\.txt: unsupported file type '\.txt'.*\.jsonl"):
        read_records(_write(tmp_path / "x.txt", "hi"))
    (tmp_path / "void").mkdir()
    with pytest.raises(InputError, match="no data files"):
        read_records(tmp_path / "void")
    with pytest.raises(InputError, match="holds no records"):
        list(read_records(_write(tmp_path / "blank.jsonl", "\n\n  \n")))
