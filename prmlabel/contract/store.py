"""The shard store: one output folder of Parquet shards with a manifest, completion records and locks.

Layout of a stage's output folder::

    config.yaml                 the resolved config that wrote the folder
    manifest.json               stage, fingerprint, schema version, package version, seed, shard count
    part-00000.parquet          rows, with the stage's explicit Arrow schema
    rejects/part-00000.parquet  rows that could not be processed: file, row, field, reason
    _records/part-00000.json    completion record: rows in/out/rejected, bytes, seconds, cost

A shard is done when its record exists. Files are written to a temporary name and renamed, and
the record is written last, so a killed run leaves either a finished shard or nothing of it.
Shard bytes depend only on the rows (no timestamps in Parquet), so a resumed run writes what an
uninterrupted one would; wall-clock seconds live only in the records.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from prmlabel import __version__
from prmlabel.contract.config import config_diff, to_yaml
from prmlabel.contract.schema import REJECTS, SCHEMA_VERSION, table_from_rows

# Tables a stage may write beside its rows, one folder each, sharded like the rows.
SIDE_TABLES = ("nodes",)


class StoreError(RuntimeError):
    """A problem with an output folder that the user must resolve; the message says how."""


def shard_of(key: str, num_shards: int) -> int:
    """Stable shard of a key (``problem_id``): the same on every machine and Python process."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % num_shards


def parse_shard_spec(spec: str) -> tuple[int, int]:
    """``"3/8"`` -> (3, 8); shards count from 0."""
    try:
        index_text, total_text = spec.split("/")
        index, total = int(index_text), int(total_text)
    except ValueError:
        raise StoreError(f"--shard {spec!r} is not I/N (e.g. --shard 0/4 runs the first of 4 shards)") from None
    if total < 1 or not 0 <= index < total:
        raise StoreError(f"--shard {spec!r}: I must be in 0..N-1 and N >= 1")
    return index, total


def part_name(index: int) -> str:
    return f"part-{index:05d}"


@dataclass
class ShardRecord:
    shard: int
    rows_in: int
    rows_out: int
    rows_rejected: int
    rows_written: int
    bytes: int
    seconds: float
    cost: dict[str, Any]


def write_parquet_atomic(table: pa.Table, path: Path) -> int:
    """Write ``table`` to ``path`` through a temporary file in the same folder; return bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
    except BaseException:  # e.g. a full disk: leave no half-written file behind
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path.stat().st_size


def write_text_atomic(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


class ShardStore:
    """An output folder. Open it with :meth:`open`, which checks the fingerprint and takes the lock."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._lock_fds: list[int] = []
        self._pending_manifest: dict[str, Any] | None = None

    # -- paths -----------------------------------------------------------------------------
    def shard_path(self, index: int) -> Path:
        return self.root / f"{part_name(index)}.parquet"

    def rejects_path(self, index: int) -> Path:
        return self.root / "rejects" / f"{part_name(index)}.parquet"

    def side_path(self, name: str, index: int) -> Path:
        """Shard ``index`` of a side table (e.g. ``nodes/``) written beside the stage's rows."""
        if name not in SIDE_TABLES:
            raise ValueError(f"unknown side table {name!r}; known: {', '.join(SIDE_TABLES)}")
        return self.root / name / f"{part_name(index)}.parquet"

    def record_path(self, index: int) -> Path:
        return self.root / "_records" / f"{part_name(index)}.json"

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    # -- opening: fingerprint and locks -----------------------------------------------------
    @contextmanager
    def open(
        self,
        stage: str,
        config: dict[str, Any],
        fingerprint: str,
        num_shards: int,
        only_shard: int | None = None,
        overwrite: bool = False,
    ) -> Iterator[ShardStore]:
        """Check or write the manifest and hold the folder's lock for the duration.

        A whole run holds the folder lock exclusively; a single-shard run (a cluster array task)
        holds it shared and its shard exclusively, so the tasks of one array run side by side
        while a second whole run on the same folder is refused.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self._lock(self.root / ".lock", exclusive=only_shard is None or overwrite)
            if only_shard is not None:
                self._lock(self.root / "_locks" / f"{part_name(only_shard)}.lock", exclusive=True)
            self._check_manifest(stage, config, fingerprint, num_shards, overwrite)
            self._clean_temporary_files(only_shard)
            yield self
        finally:
            self._unlock()

    def _lock(self, path: Path, exclusive: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(
                f"{self.root} is being written by another prmlabel process (lock {path.name} is held). "
                "Wait for it to finish, or write to another --output folder."
            ) from None
        self._lock_fds.append(fd)

    def _unlock(self) -> None:
        for fd in reversed(self._lock_fds):
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        self._lock_fds.clear()

    def _check_manifest(
        self, stage: str, config: dict[str, Any], fingerprint: str, num_shards: int, overwrite: bool
    ) -> None:
        manifest = self.read_manifest()
        if manifest is not None and manifest.get("fingerprint") != fingerprint:
            if not overwrite:
                old_config = manifest.get("config", {})
                diff = config_diff(old_config, config) or ["(the fingerprinted settings differ)"]
                raise StoreError(
                    f"{self.root} holds output of a different config "
                    f"(fingerprint {manifest.get('fingerprint')}, this run {fingerprint}):\n  "
                    + "\n  ".join(diff)
                    + "\nWrite to a new --output folder, or pass --overwrite to replace it."
                )
            self.clear()
            manifest = None
        # Written with the first shard, so a run that fails before any work leaves no claim on the folder.
        self._pending_manifest = (
            None
            if manifest is not None
            else {
                "stage": stage,
                "fingerprint": fingerprint,
                "schema_version": SCHEMA_VERSION,
                "prmlabel_version": __version__,
                "num_shards": num_shards,
                "seed": config.get("seed"),
                "config": config,
            }
        )

    def _write_manifest(self) -> None:
        manifest = self._pending_manifest
        if manifest is None:
            if not (self.root / "config.yaml").exists() and (existing := self.read_manifest()) is not None:
                # A run killed between the manifest and config.yaml (older order) left no config.yaml.
                write_text_atomic(to_yaml(existing["config"]), self.root / "config.yaml")
            return
        # config.yaml first: the manifest is what a re-run trusts, so it is written last.
        write_text_atomic(to_yaml(manifest["config"]), self.root / "config.yaml")
        write_text_atomic(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n", self.manifest_path)
        self._pending_manifest = None

    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.exists():
            return None
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def clear(self) -> None:
        """Remove everything this store writes (``--overwrite``), keeping the locks."""
        for path in self.root.glob("part-*.parquet"):
            path.unlink()
        for sub in ("rejects", "_records", *SIDE_TABLES):
            shutil.rmtree(self.root / sub, ignore_errors=True)
        for name in ("manifest.json", "config.yaml"):
            (self.root / name).unlink(missing_ok=True)

    def _clean_temporary_files(self, only_shard: int | None) -> None:
        """Remove what a killed run left half-written (only our own shard's when others may run)."""
        pattern = f".{part_name(only_shard)}*.tmp-*" if only_shard is not None else ".*.tmp-*"
        for folder in (self.root, self.root / "rejects", self.root / "_records", *(self.root / n for n in SIDE_TABLES)):
            for path in folder.glob(pattern):
                path.unlink(missing_ok=True)

    # -- shards ----------------------------------------------------------------------------
    def is_done(self, index: int) -> bool:
        return self.record_path(index).exists()

    def read_record(self, index: int) -> ShardRecord | None:
        path = self.record_path(index)
        if not path.exists():
            return None
        return ShardRecord(**json.loads(path.read_text(encoding="utf-8")))

    def write_shard(
        self,
        index: int,
        table: pa.Table,
        rejects: list[dict[str, Any]],
        rows_in: int,
        rows_out: int,
        seconds: float,
        cost: dict[str, Any],
        side: dict[str, pa.Table] | None = None,
    ) -> ShardRecord:
        """Write one shard's rows, rejects and side tables, then its record (the commit point).

        Side tables (``nodes``: a tree method's search trees) are written before the record, so a
        killed run redoes the whole shard and every table of it comes out as an uninterrupted run's.

        ``rows_in``/``rows_out`` count input units (problems for generate), so the invariant
        rows in = rows out + rejected holds even where one input row becomes several output rows;
        ``rows_written`` is the number of Parquet rows.
        """
        if rows_in != rows_out + len(rejects):
            raise AssertionError(f"shard {index}: rows in {rows_in} != rows out {rows_out} + rejected {len(rejects)}")
        self._write_manifest()
        size = write_parquet_atomic(table, self.shard_path(index))
        size += write_parquet_atomic(table_from_rows(rejects, REJECTS), self.rejects_path(index))
        side_rows: dict[str, int] = {}
        for name, side_table in sorted((side or {}).items()):
            size += write_parquet_atomic(side_table, self.side_path(name, index))
            side_rows[name] = side_table.num_rows
        if side_rows:
            cost = {**cost, "side_rows": side_rows}
        record = ShardRecord(
            shard=index,
            rows_in=rows_in,
            rows_out=rows_out,
            rows_rejected=len(rejects),
            rows_written=table.num_rows,
            bytes=size,
            seconds=round(seconds, 3),
            cost=cost,
        )
        write_text_atomic(json.dumps(record.__dict__, indent=2, sort_keys=True) + "\n", self.record_path(index))
        return record

    def records(self) -> list[ShardRecord]:
        return [r for r in (self.read_record(i) for i in range(self._num_shards())) if r is not None]

    def _num_shards(self) -> int:
        manifest = self.read_manifest()
        return int(manifest["num_shards"]) if manifest else 0
