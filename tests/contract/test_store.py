from __future__ import annotations

import multiprocessing as mp
import time

import pyarrow.parquet as pq
import pytest

from prmlabel.contract.schema import PROBLEMS, table_from_rows
from prmlabel.contract.store import ShardStore, StoreError, parse_shard_spec, shard_of

CONFIG = {"stage": "t", "seed": 0, "samples": 2, "runtime": {"batch_size": 4}}


def _rows(n: int) -> list[dict]:
    return [{"problem_id": f"p{i}", "question": f"q{i}", "reference_answer": str(i)} for i in range(n)]


def test_shard_of_is_stable_and_spread():
    assert shard_of("gsm8k-1", 8) == shard_of("gsm8k-1", 8)
    counts = [0] * 4
    for i in range(4000):
        counts[shard_of(f"p{i}", 4)] += 1
    assert min(counts) > 850  # roughly uniform


def test_parse_shard_spec():
    assert parse_shard_spec("3/8") == (3, 8)
    for bad in ("8/8", "x/2", "1", "-1/3"):
        with pytest.raises(StoreError):
            parse_shard_spec(bad)


def test_write_shard_is_atomic_and_recorded(tmp_path):
    store = ShardStore(tmp_path / "out")
    with store.open("t", CONFIG, "fp1", num_shards=1):
        record = store.write_shard(
            0,
            table_from_rows(_rows(3), PROBLEMS),
            [],
            rows_in=3,
            rows_out=3,
            seconds=0.5,
            cost={"rollouts": 3},
        )
    assert record.rows_written == 3 and record.rows_rejected == 0
    assert store.is_done(0)
    assert pq.read_table(store.shard_path(0)).num_rows == 3
    assert pq.read_table(store.rejects_path(0)).num_rows == 0
    assert (tmp_path / "out" / "config.yaml").read_text().startswith("stage: t")
    assert not list((tmp_path / "out").glob(".*tmp*"))


def test_rows_must_add_up(tmp_path):
    store = ShardStore(tmp_path)
    with store.open("t", CONFIG, "fp1", 1), pytest.raises(AssertionError, match="rows in 5"):
        store.write_shard(0, table_from_rows(_rows(3), PROBLEMS), [], rows_in=5, rows_out=3, seconds=0, cost={})


def _one_shard(store: ShardStore) -> None:
    store.write_shard(0, table_from_rows(_rows(1), PROBLEMS), [], 1, 1, 0, {})


def test_a_run_that_wrote_nothing_leaves_no_claim(tmp_path):
    with ShardStore(tmp_path).open("t", CONFIG, "fp1", 1):
        pass  # e.g. the backend failed to start
    with ShardStore(tmp_path).open("t", {**CONFIG, "seed": 7}, "fp2", 1) as store:
        _one_shard(store)
    assert store.read_manifest()["fingerprint"] == "fp2"


def test_different_fingerprint_is_refused_with_the_differing_keys(tmp_path):
    with ShardStore(tmp_path).open("t", CONFIG, "fp1", 1) as store:
        _one_shard(store)
    other = {**CONFIG, "seed": 7}
    with pytest.raises(StoreError) as err, ShardStore(tmp_path).open("t", other, "fp2", 1):
        pass
    assert "seed: 0 -> 7" in str(err.value) and "--overwrite" in str(err.value)
    # runtime-only changes are not part of the diff the user sees
    assert "batch_size" not in str(err.value)


def test_overwrite_replaces(tmp_path):
    store = ShardStore(tmp_path)
    with store.open("t", CONFIG, "fp1", 1):
        store.write_shard(0, table_from_rows(_rows(1), PROBLEMS), [], 1, 1, 0, {})
    with store.open("t", {**CONFIG, "seed": 7}, "fp2", 1, overwrite=True):
        assert not store.is_done(0)
        _one_shard(store)
    assert store.read_manifest()["fingerprint"] == "fp2"


def _hold_lock(path, ready, release):
    with ShardStore(path).open("t", CONFIG, "fp1", 2):
        ready.set()
        release.wait(10)


def test_second_writer_is_refused_by_the_lock(tmp_path):
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(tmp_path, ready, release))
    proc.start()
    try:
        assert ready.wait(10)
        with (
            pytest.raises(StoreError, match="another prmlabel process"),
            ShardStore(tmp_path).open("t", CONFIG, "fp1", 2),
        ):
            pass
        # a single-shard task is refused too while a whole run holds the folder
        with pytest.raises(StoreError), ShardStore(tmp_path).open("t", CONFIG, "fp1", 2, only_shard=1):
            pass
    finally:
        release.set()
        proc.join(10)


def test_array_tasks_share_the_folder_but_not_a_shard(tmp_path):
    a = ShardStore(tmp_path)
    with a.open("t", CONFIG, "fp1", 2, only_shard=0):
        with ShardStore(tmp_path).open("t", CONFIG, "fp1", 2, only_shard=1):
            pass  # another shard of the same array runs beside it
        with pytest.raises(StoreError), ShardStore(tmp_path).open("t", CONFIG, "fp1", 2, only_shard=0):
            pass


def test_stale_temporary_files_are_removed(tmp_path):
    (tmp_path / ".part-00000.parquet.tmp-999").write_bytes(b"half")
    time.sleep(0.01)
    with ShardStore(tmp_path).open("t", CONFIG, "fp1", 1):
        pass
    assert not list(tmp_path.glob(".*tmp*"))
