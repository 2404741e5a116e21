"""Tests for prmlabel.runtime.limits: values, errors, timeouts and memory caps come back as data."""

from __future__ import annotations

import os
import threading
import time

import pytest

from prmlabel.runtime.limits import Limited, LimitedPool, default_pool


def _add(a: int, b: int) -> int:
    return a + b


def _boom(msg: str) -> None:
    raise ValueError(msg)


def _spin() -> None:
    while True:
        pass


def _allocate_huge() -> int:
    return len(bytearray(4 * 1024**3))


def _die() -> None:
    os._exit(3)


def _sleep_then(value: int, seconds: float) -> int:
    time.sleep(seconds)
    return value


@pytest.fixture()
def pool():
    with LimitedPool(workers=1, timeout=5, memory_mb=512) as p:
        yield p


def test_normal_value(pool: LimitedPool) -> None:
    assert pool.call(_add, 2, 3) == Limited(True, 5, None)


def test_exception_text(pool: LimitedPool) -> None:
    res = pool.call(_boom, "bad thing")
    assert not res.ok
    assert res.error == "error: ValueError: bad thing"


def test_error_text_truncated(pool: LimitedPool) -> None:
    res = pool.call(_boom, "x" * 5000)
    assert res.error is not None and len(res.error) == 300


def test_timeout_kills_and_pool_recovers(pool: LimitedPool) -> None:
    start = time.monotonic()
    res = pool.call(_spin, timeout=0.5)
    assert res == Limited(False, None, "timeout")
    assert time.monotonic() - start < 4
    assert pool.call(_add, 1, 1).value == 2


def test_memory_limit(pool: LimitedPool) -> None:
    res = pool.call(_allocate_huge)
    assert res == Limited(False, None, "memory")
    assert pool.call(_add, 1, 2).value == 3


def test_crash_reported_and_replaced(pool: LimitedPool) -> None:
    assert pool.call(_die).error == "crashed"
    assert pool.call(_add, 4, 4).value == 8


def test_unpicklable_function(pool: LimitedPool) -> None:
    res = pool.call(lambda: 1)
    assert not res.ok and res.error is not None and res.error.startswith("error:")
    assert pool.call(_add, 0, 1).value == 1


def test_threads_share_pool() -> None:
    results: list[int] = []
    with LimitedPool(workers=2, timeout=5) as p:

        def run(i: int) -> None:
            results.append(p.call(_sleep_then, i, 0.05).value)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == list(range(6))


def test_closed_pool_refuses() -> None:
    p = LimitedPool(workers=1)
    p.close()
    p.close()
    with pytest.raises(RuntimeError):
        p.call(_add, 1, 2)


def test_default_pool_shared() -> None:
    p = default_pool()
    assert p is default_pool()
    assert p.timeout == 5
    assert p.call(_add, 20, 22).value == 42


def _default_pool_in_child(queue) -> None:  # type: ignore[no-untyped-def]
    import prmlabel.runtime.limits as limits

    inherited = limits._default
    fresh = default_pool()
    queue.put((fresh is not inherited, fresh.call(_add, 5, 6).value))


def test_default_pool_recreated_after_fork() -> None:
    import multiprocessing

    parent = default_pool()
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    child = ctx.Process(target=_default_pool_in_child, args=(q,))
    child.start()
    recreated, value = q.get(timeout=30)
    child.join(timeout=30)
    assert recreated and value == 11
    # The child's exit must not have killed the parent's workers.
    assert parent.call(_add, 1, 1).value == 2
