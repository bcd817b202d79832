"""Running one function over many items on a bounded number of threads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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
