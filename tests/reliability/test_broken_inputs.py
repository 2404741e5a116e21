"""Part 3: broken input files through `prmlabel generate`, `prmlabel import` and `prmlabel label`.

Each bad file either stops the run with one clear error (exit 2, the file named, a next step, no
traceback, nothing written) or sends its bad rows to rejects/ with file, row and reason while the good
rows go on; in every case each shard's record says rows in = rows out + rows rejected, and the rows in
are every row of the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from prmlabel.cli import app
from tests.reliability.bad_inputs import GOOD_BYTES, PROBLEM_FILES, BadInput
from tests.reliability.harness import records

runner = CliRunner()


def rows_in_file(path: Path) -> int:
    if path.suffix == ".parquet":
        return pq.read_metadata(path).num_rows
    return sum(1 for line in path.read_bytes().split(b"\n") if line.strip())


def check_error(result, input_path: Path, output: Path, hint: str) -> None:
    assert result.exit_code == 2, result.output
    message = result.output.strip().splitlines()[-1]
    assert message.startswith("error: ") and str(input_path.name) in message, message
    assert hint.lower() in message.lower(), message
    assert "Traceback" not in result.output
    assert not (output / "manifest.json").exists() and not list(output.glob("part-*.parquet"))


def check_accounting(input_path: Path, output: Path, bad_rows: int, hint: str) -> None:
    recs = records(output)
    assert recs, "no shard was written"
    assert sum(r["rows_in"] for r in recs) == rows_in_file(input_path)
    for r in recs:
        assert r["rows_in"] == r["rows_out"] + r["rows_rejected"], r
    rejects = [row for p in sorted((output / "rejects").glob("*.parquet")) for row in pq.read_table(p).to_pylist()]
    assert len(rejects) == bad_rows == sum(r["rows_rejected"] for r in recs)
    for reject in rejects:
        assert reject["file"] == str(input_path) and reject["row"] >= 1 and reject["reason"], reject
    if hint and rejects:
        assert all(hint in (str(r["field"]) + " " + r["reason"]).lower() for r in rejects), rejects


@pytest.mark.parametrize("case", PROBLEM_FILES, ids=[c.name for c in PROBLEM_FILES])
def test_generate_on_a_broken_problem_file(case: BadInput, tmp_path: Path) -> None:
    path = tmp_path / case.name
    case.write(path)
    output = tmp_path / "rollouts"
    args = ["generate", "-i", str(path), "-o", str(output), "--backend", "synthetic", "--samples", "1"]
    result = runner.invoke(app, [*args, "--num-shards", "2", "--no-progress"])
    if case.expect == "error":
        check_error(result, path, output, case.hint)
    else:
        assert result.exit_code == 0, result.output
        check_accounting(path, output, case.bad_rows, case.hint)


def test_import_of_a_file_in_another_format(tmp_path: Path) -> None:
    """Problems (no steps) given to `import --preset processbench`: every row rejected, naming the field."""
    path = tmp_path / "problems.jsonl"
    path.write_bytes(GOOD_BYTES + b'{"truncated": ')
    output = tmp_path / "imported"
    result = runner.invoke(
        app, ["import", "-i", str(path), "--preset", "processbench", "-o", str(output), "--no-progress"]
    )
    if result.exit_code == 2:  # a whole-file refusal is fine too, if it is clear
        check_error(result, path, output, "")
    else:
        assert result.exit_code == 0, result.output
        check_accounting(path, output, rows_in_file(path), "")


def test_import_of_broken_response_rows(tmp_path: Path) -> None:
    good = {
        "problem": "What is 2 + 3?",
        "steps": ["2 + 3 = 5", "The answer is 5."],
        "label": -1,
        "final_answer_correct": True,
    }
    lines = [
        json.dumps({**good, "id": "ok-1"}).encode(),
        json.dumps({**good, "id": "steps-not-list", "steps": 7}).encode(),
        json.dumps({**good, "id": "no-problem", "problem": None}).encode(),
        b'{"id": "cut", "problem": "What',
        b"\xff\xfe not utf-8",
        json.dumps({**good, "id": "ok-2", "problem": "What is 1 + 1?", "steps": ["1 + 1 = 2"]}).encode(),
    ]
    path = tmp_path / "responses.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    output = tmp_path / "imported"
    result = runner.invoke(
        app, ["import", "-i", str(path), "--preset", "processbench", "-o", str(output), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    check_accounting(path, output, 4, "")


@pytest.mark.parametrize("what", ["no folder", "parquet without manifest", "problems file"])
def test_label_of_a_folder_prmlabel_did_not_write(what: str, tmp_path: Path) -> None:
    folder = tmp_path / "input"
    if what == "parquet without manifest":
        folder.mkdir()
        pq.write_table(pa.table({"id": [1], "text": ["x"]}), folder / "part-00000.parquet")
    elif what == "problems file":
        folder = tmp_path / "problems.jsonl"
        folder.write_bytes(GOOD_BYTES)
    output = tmp_path / "labels"
    result = runner.invoke(app, ["label", "-i", str(folder), "-o", str(output), "--method", "sympy", "--no-progress"])
    assert result.exit_code == 2, result.output
    message = result.output.strip().splitlines()[-1]
    assert str(folder) in message and "prmlabel generate" in message, message
    assert not output.exists() or not list(output.glob("part-*.parquet"))
