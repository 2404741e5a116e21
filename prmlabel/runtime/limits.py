"""Run a function under a time and memory limit in persistent worker processes.

Why: parsers and verifiers run on text written by a model, and a hostile or merely unlucky string
(``9^9^9^9``, a pathological LaTeX nest) can hang sympy or eat all memory. Threads cannot be killed and
``signal.alarm`` does not interrupt C code, so the work goes to a child process that we can SIGKILL, with
``RLIMIT_AS`` set so a huge allocation fails as ``MemoryError`` inside the child instead of taking the
machine down. Workers are persistent because forking per call would dominate the cost of small checks.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import queue
import signal
import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_TIMEOUT = 5.0
DEFAULT_MEMORY_MB = 1024
_ERROR_CHARS = 300


@dataclass(frozen=True)
class Limited:
    """Outcome of a limited call: ``ok`` with ``value``, or not ok with an ``error`` string.

    ``error`` is ``"timeout"``, ``"memory"``, ``"crashed"`` or ``"error: <ExcType>: <msg>"``.
    """

    ok: bool
    value: Any = None
    error: str | None = None


def _vm_size_bytes() -> int:
    """Current virtual address-space size of this process (Linux), else 0.

    A forked worker inherits the parent's whole address space (a parent holding torch or vLLM can already
    map tens of GB), so the memory budget is added on top of what the worker starts with; an absolute
    RLIMIT_AS would make every allocation fail in such a child.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _set_memory_limit(memory_bytes: int | None) -> None:
    """Cap the worker's address space at (its current size + ``memory_bytes``)."""
    if not memory_bytes:
        return
    try:
        import resource
    except ImportError:  # not available on Windows: run without a memory cap
        return
    limit = _vm_size_bytes() + memory_bytes
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _worker_main(conn: Any, memory_bytes: int | None) -> None:
    """Worker loop: receive ``(fn, args)``, send back ``(status, payload)``; ``None`` means stop."""
    # Ctrl-C goes to the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _set_memory_limit(memory_bytes)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        fn, args = msg
        try:
            reply: tuple[str, Any] = ("ok", fn(*args))
        except MemoryError:
            reply = ("memory", None)
        except BaseException as exc:  # everything the function raises is reported as data
            reply = ("error", _format_error(exc))
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("memory", None))
        except Exception as exc:  # e.g. an unpicklable return value
            conn.send(("error", _format_error(exc)))


def _format_error(exc: BaseException) -> str:
    return f"error: {type(exc).__name__}: {exc}"[:_ERROR_CHARS]


def _context() -> Any:
    """Fork on Linux (cheap, no re-import), spawn elsewhere (fork is unsafe on macOS, absent on Windows)."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class _Worker:
    """One child process plus the parent's end of its pipe."""

    def __init__(self, ctx: Any, memory_bytes: int | None) -> None:
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child_conn, memory_bytes), daemon=True)
        self.proc.start()
        child_conn.close()
        self.conn = parent_conn

    def kill(self) -> None:
        """SIGKILL and reap; used for timeouts, where a polite stop would never be read."""
        try:
            self.proc.kill()
            self.proc.join(timeout=5)
        except (OSError, ValueError, AssertionError):
            pass
        try:
            self.conn.close()
        except OSError:
            pass

    def stop(self) -> None:
        """Ask an idle worker to exit, then make sure it did."""
        try:
            self.conn.send(None)
            self.proc.join(timeout=1)
        except (OSError, ValueError, AssertionError):
            pass
        self.kill()


_LIVE_POOLS: weakref.WeakSet[LimitedPool] = weakref.WeakSet()


class LimitedPool:
    """A small pool of persistent worker processes that run picklable top-level functions under limits.

    Thread-safe: each call borrows an idle worker, so with ``workers=n`` up to n calls run concurrently
    and further callers wait. A worker that times out or dies is replaced, so later calls keep working.
    """

    def __init__(
        self,
        workers: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int | None = DEFAULT_MEMORY_MB,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.timeout = timeout
        self.memory_bytes = memory_mb * 1024 * 1024 if memory_mb else None
        self._ctx = _context()
        self._owner_pid = os.getpid()
        self._lock = threading.Lock()
        self._closed = False
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        for _ in range(workers):
            w = _Worker(self._ctx, self.memory_bytes)
            self._all.append(w)
            self._idle.put(w)
        _LIVE_POOLS.add(self)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        with self._lock:
            if self._closed:
                raise RuntimeError("LimitedPool is closed")
            fresh = _Worker(self._ctx, self.memory_bytes)
            self._all = [fresh if w is worker else w for w in self._all]
        return fresh

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None) -> Limited:
        """Run ``fn(*args)`` in a worker; ``timeout=None`` means the pool's default timeout.

        Never raises for problems inside ``fn``: they come back as ``Limited(ok=False, error=...)``.
        """
        if self._closed:
            raise RuntimeError("LimitedPool is closed")
        limit = self.timeout if timeout is None else timeout
        worker = self._idle.get()
        try:
            if not worker.proc.is_alive():
                worker = self._replace(worker)
            try:
                worker.conn.send((fn, args))
            except (BrokenPipeError, ConnectionResetError, EOFError):
                worker = self._replace(worker)
                return Limited(False, None, "crashed")
            except Exception as exc:  # arguments or fn could not be pickled; nothing reached the worker
                return Limited(False, None, _format_error(exc))
            if not worker.conn.poll(limit):
                worker = self._replace(worker)
                return Limited(False, None, "timeout")
            try:
                status, payload = worker.conn.recv()
            except (EOFError, OSError):
                worker = self._replace(worker)
                return Limited(False, None, "crashed")
            except Exception as exc:  # the return value could not be unpickled here
                return Limited(False, None, _format_error(exc))
        finally:
            if not self._closed:
                self._idle.put(worker)
        if status == "ok":
            return Limited(True, payload, None)
        if status == "memory":
            return Limited(False, None, "memory")
        return Limited(False, None, payload)

    def close(self) -> None:
        """Stop all workers. Only the creating process may do this: a forked child shares the handles."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers, self._all = self._all, []
        if os.getpid() != self._owner_pid:
            return
        for w in workers:
            w.kill()

    def __enter__(self) -> LimitedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close_all() -> None:
    for pool in list(_LIVE_POOLS):
        pool.close()


atexit.register(_close_all)

_default: LimitedPool | None = None
_default_pid: int | None = None
_default_lock = threading.Lock()


def default_pool() -> LimitedPool:
    """Shared pool (1 worker, 5 s, 1024 MB), created lazily and recreated after a fork.

    After a fork the inherited pool's workers are the parent's children (their pipes are shared with the
    parent), so the child must not use or close them; it builds its own.
    """
    global _default, _default_pid
    with _default_lock:
        if _default is None or _default_pid != os.getpid() or _default._closed:
            _default = LimitedPool(workers=1, timeout=DEFAULT_TIMEOUT, memory_mb=DEFAULT_MEMORY_MB)
            _default_pid = os.getpid()
        return _default
