"""Running one function over many items on a bounded number of threads, and cutting the
items into batches for it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_threaded(
    function: Callable[[Item], Result], items: Iterable[Item], workers: int
) -> Iterator[Result]:
    """``function`` over ``items``, results in order, on ``workers`` threads at once.

    With one worker the calls run in the caller's thread, one after the other: a pool of
    one thread would add a future and two thread switches to every call (measured on a
    filesystem store: 20,000 stats took 0.76 s through such a pool and 0.3 s inline).
    """
    if workers <= 1:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(function, items)


def even_batches(items: Sequence[Item], workers: int, limit: int) -> list[Sequence[Item]]:
    """``items`` cut into batches of at most ``limit``, as many as fill every round of
    ``workers`` threads: 10,000 deletions on 8 threads make 16 batches of 625, not ten of
    1,000 of which the last two would run on two threads while six wait."""
    if not items:
        return []
    workers = max(1, workers)
    rounds = math.ceil(math.ceil(len(items) / limit) / workers)
    size = math.ceil(len(items) / (rounds * workers))
    return [items[i : i + size] for i in range(0, len(items), size)]
