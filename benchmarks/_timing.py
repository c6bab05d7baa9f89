"""Timing helper shared by the benchmark scripts (imported from the script's own folder)."""

from __future__ import annotations

import time
from typing import Callable


def best_time(fn: Callable[[], object], repeats: int, warmup: bool = True) -> float:
    """Fastest wall time (s) of ``repeats`` calls of ``fn``, after one warm-up call if ``warmup``."""
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
