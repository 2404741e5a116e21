"""The benchmark registry: `@bench` functions return a markdown table."""

from __future__ import annotations

from collections.abc import Callable

BENCHMARKS: dict[str, Callable[[], str]] = {}


def bench(fn: Callable[[], str]) -> Callable[[], str]:
    BENCHMARKS[fn.__name__.removeprefix("bench_")] = fn
    return fn
