"""map_threaded: results in order; inline with one worker; a failure reaches the caller.
even_batches: every item once, in order, no batch over the limit, every round full."""

from __future__ import annotations

import math
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.pausing import DEADLOCK_GUARD

from distribution_storage.threads import even_batches, map_threaded


def test_one_worker_runs_every_call_in_the_callers_thread() -> None:
    caller = threading.get_ident()
    seen = list(map_threaded(lambda n: (n * n, threading.get_ident()), range(5), 1))
    assert [square for square, _ in seen] == [0, 1, 4, 9, 16]
    assert {ident for _, ident in seen} == {caller}


def test_several_workers_keep_the_order_of_the_items() -> None:
    last_done = threading.Event()
    finished: list[int] = []

    def first_finishes_last(n: int) -> tuple[int, int]:
        if n == 0:  # held until every other item is done (the limit only guards a deadlock)
            assert last_done.wait(DEADLOCK_GUARD), "the other items never finished"
        finished.append(n)
        if len(finished) == 7:
            last_done.set()
        return n, threading.get_ident()

    seen = list(map_threaded(first_finishes_last, range(8), 4))
    assert finished[-1] == 0
    assert [n for n, _ in seen] == list(range(8))
    assert threading.get_ident() not in {ident for _, ident in seen}


@pytest.mark.parametrize("workers", [1, 3])
def test_a_failing_call_raises_in_the_caller_after_the_results_before_it(workers: int) -> None:
    def fail_on_three(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        return n

    results = map_threaded(fail_on_three, range(6), workers)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="three"):
        next(results)


@given(
    count=st.integers(min_value=0, max_value=5000),
    workers=st.integers(min_value=1, max_value=16),
    limit=st.integers(min_value=1, max_value=1000),
)
def test_even_batches_cover_the_items_within_the_limit(
    count: int, workers: int, limit: int
) -> None:
    items = list(range(count))
    batches = even_batches(items, workers, limit)
    assert [item for batch in batches for item in batch] == items
    assert all(0 < len(batch) <= limit for batch in batches)
    # No more rounds of ``workers`` threads than slicing by the limit would take.
    rounds = math.ceil(len(batches) / workers)
    assert rounds == math.ceil(math.ceil(count / limit) / workers)
    # Every batch but the last has the same size.
    assert len({len(batch) for batch in batches[:-1]}) <= 1


def test_even_batches_fill_every_round() -> None:
    """Ten thousand deletions on eight threads: two full rounds, not a third of two."""
    batches = even_batches(list(range(10_000)), 8, 1000)
    assert [len(batch) for batch in batches] == [625] * 16
    assert [len(batch) for batch in even_batches(list(range(20_000)), 8, 1000)] == [834] * 23 + [
        818
    ]
