"""The rollout cache: one entry per sample of a prefix, keyed by what determines the sample.

Key = (model, sampling, run seed, prompt, reference, prefix) + the sample's index. A repeat of a
request, in the same labeler or in another one over the same rollouts, is answered without the
backend. :class:`PersistentRolloutCache` also keeps the samples on disk, so a killed labeling run
resumes without redrawing them and a second method over the same rollouts reuses the first's.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from prmlabel.engine.types import Rollout

CACHE_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("index", pa.int32()),
        ("text", pa.string()),
        ("correct", pa.bool_()),
        ("finish_reason", pa.string()),
        ("completion_tokens", pa.int64()),
        ("prompt_tokens", pa.int64()),
        ("terminal", pa.bool_()),  # one-step samples: the step ends the solution (null in older files: True)
    ]
)


def prefix_key(*parts: str) -> str:
    """A compact key for everything that determines a prefix's samples and their correctness."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


class RolloutCache:
    """In-memory sample store: ``(prefix key, sample index) -> Rollout``."""

    def __init__(self) -> None:
        self._samples: dict[tuple[str, int], Rollout] = {}

    def get(self, key: str, index: int) -> Rollout | None:
        return self._samples.get((key, index))

    def put(self, key: str, index: int, rollout: Rollout) -> None:
        self._samples[(key, index)] = rollout

    def flush(self, force: bool = False) -> None:
        """Nothing to keep for an in-memory cache."""

    def __len__(self) -> int:
        return len(self._samples)


class PersistentRolloutCache(RolloutCache):
    """A cache backed by a folder of Parquet files, one folder per (model key, shard).

    New samples are appended as new files (written atomically, never rewritten in place), so two
    labelers on one shard can share the folder; on open, many small files are compacted into one.
    """

    def __init__(self, folder: str | Path, flush_every: int = 2000, flush_seconds: float = 60.0) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.flush_every = flush_every
        self.flush_seconds = flush_seconds
        self._new: list[tuple[str, int, Rollout]] = []
        self._last_flush = time.monotonic()
        self.loaded = self._load()

    def _load(self) -> int:
        self._remove_orphaned_temp_files()
        files = sorted(self.folder.glob("*.parquet")) if self.folder.is_dir() else []
        for path in files:
            try:
                table = pq.read_table(path)
            except (pa.ArrowInvalid, OSError):
                continue  # a file cut short by a crash before its rename cannot exist; be safe anyway
            for row in table.to_pylist():
                self._samples[(row["key"], row["index"])] = Rollout(
                    row["text"],
                    row["correct"],
                    row["finish_reason"],
                    row["completion_tokens"],
                    row["prompt_tokens"],
                    terminal=row.get("terminal") is not False,  # files before one-step samples have none
                )
        if len(files) > 16:
            self._write(list((k, i, r) for (k, i), r in self._samples.items()))
            for path in files:
                path.unlink(missing_ok=True)
        return len(self._samples)

    def _remove_orphaned_temp_files(self) -> None:
        """Delete half-written files of killed runs. Another live labeler may share the folder, so only
        files whose writer (the pid in ``.NAME.tmp-PID``) no longer runs are removed."""
        if not self.folder.is_dir():
            return
        for path in self.folder.glob(".*.tmp-*"):
            pid_text = path.name.rpartition(".tmp-")[2]
            if pid_text.isdigit() and not _process_alive(int(pid_text)):
                path.unlink(missing_ok=True)

    def put(self, key: str, index: int, rollout: Rollout) -> None:
        super().put(key, index, rollout)
        self._new.append((key, index, rollout))

    def flush(self, force: bool = False) -> None:
        due = len(self._new) >= self.flush_every or time.monotonic() - self._last_flush >= self.flush_seconds
        if self._new and (force or due):
            self._write(self._new)
            self._new = []
            self._last_flush = time.monotonic()

    def _write(self, entries: list[tuple[str, int, Rollout]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        table = pa.table(
            {
                "key": [k for k, _, _ in entries],
                "index": [i for _, i, _ in entries],
                "text": [r.text for _, _, r in entries],
                "correct": [r.correct for _, _, r in entries],
                "finish_reason": [r.finish_reason for _, _, r in entries],
                "completion_tokens": [r.completion_tokens for _, _, r in entries],
                "prompt_tokens": [r.prompt_tokens for _, _, r in entries],
                "terminal": [r.terminal for _, _, r in entries],
            },
            schema=CACHE_SCHEMA,
        )
        name = f"{uuid.uuid4().hex}.parquet"
        tmp = self.folder / f".{name}.tmp-{os.getpid()}"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, self.folder / name)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True
