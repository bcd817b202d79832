"""map_threaded: results in order; inline with one worker; a failure reaches the caller."""

from __future__ import annotations

import threading
import time

import pytest

from distribution_storage.threads import map_threaded


def test_one_worker_runs_every_call_in_the_callers_thread() -> None:
    caller = threading.get_ident()
    seen = list(map_threaded(lambda n: (n * n, threading.get_ident()), range(5), 1))
    assert [square for square, _ in seen] == [0, 1, 4, 9, 16]
    assert {ident for _, ident in seen} == {caller}


def test_several_workers_keep_the_order_of_the_items() -> None:
    def slow_first(n: int) -> tuple[int, int]:
        time.sleep(0.05 if n == 0 else 0)  # the first item finishes last
        return n, threading.get_ident()

    seen = list(map_threaded(slow_first, range(8), 4))
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
