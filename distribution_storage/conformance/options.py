"""Options of the conformance suite: sizes, counts and the quick mode.

:class:`SuiteOptions` is a frozen dataclass a driver's test class sets as its ``options``
attribute. Full mode uses distribution-like sizes (a 1 GiB large stream, 10 MiB append
chunks); quick mode keeps every case but shrinks the sizes, still large enough that a stream
spans several chunks plus a short tail. :meth:`SuiteOptions.effective` resolves the sizes a
run actually uses, given whether quick mode was asked for by the options, the pytest option
``--conformance-quick`` or the environment variable
``DISTRIBUTION_STORAGE_CONFORMANCE_QUICK``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from distribution_storage_pytest import quick_from_env

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


@dataclass(frozen=True)
class SuiteOptions:
    """Sizes and counts of the conformance cases; every field has a working default.

    ``large_size`` is the size of the large stream (compared by SHA-256); ``chunk_size`` the
    chunk of the "continue stream append large" case (10 MiB like distribution; Azure-like
    drivers may use 4 MiB). The ``quick_*`` fields are their quick-mode counterparts; ``None``
    derives them (a quick chunk of at most 2 MiB, a large stream of three quick chunks plus a
    short tail). ``many_entries`` is the directory size of the listing-page cases and must
    exceed 1,000. ``state_machine_examples`` and ``state_machine_steps`` bound the hypothesis
    model test; raise them for a longer run. ``mod_time_delay`` is how long the stat case
    waits before rewriting a file, since object stores keep modification times in seconds.
    """

    quick: bool = False
    large_size: int = 1 * GiB
    chunk_size: int = 10 * MiB
    concurrent_readers: int = 10
    concurrent_read_size: int = 64 * MiB
    concurrent_writers: int = 32
    concurrent_file_size: int = 4 * MiB
    concurrent_putters: int = 8
    concurrent_put_size: int = 1 * MiB
    many_entries: int = 1001
    state_machine_examples: int = 20
    state_machine_steps: int = 25
    state_machine_shrink: bool = False
    state_machine_derandomize: bool = False
    mod_time_delay: float = 1.1
    quick_large_size: int | None = None
    quick_chunk_size: int | None = None
    quick_concurrent_read_size: int = 4 * MiB
    quick_concurrent_file_size: int = 256 * KiB
    quick_concurrent_put_size: int = 128 * KiB
    quick_state_machine_examples: int = 8

    def __post_init__(self) -> None:
        if self.many_entries <= 1000:
            raise ValueError("many_entries must exceed 1,000 to cross a listing page")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"{field.name} must not be negative, got {value}")

    def effective(self, quick: bool = False) -> SuiteOptions:
        """The options a run uses: these, or their quick-mode sizes if any source asks.

        Quick mode is on when ``quick`` is true, when ``self.quick`` is, or when the
        environment variable ``DISTRIBUTION_STORAGE_CONFORMANCE_QUICK`` says so. The result
        has ``quick`` set accordingly and the quick sizes moved into the main fields.
        """
        if not (quick or self.quick or quick_from_env()):
            return self
        chunk = self.quick_chunk_size or min(self.chunk_size, 2 * MiB)
        large = self.quick_large_size or min(self.large_size, 3 * chunk + 1031)
        return dataclasses.replace(
            self,
            quick=True,
            large_size=large,
            chunk_size=chunk,
            concurrent_read_size=min(self.concurrent_read_size, self.quick_concurrent_read_size),
            concurrent_file_size=min(self.concurrent_file_size, self.quick_concurrent_file_size),
            concurrent_put_size=min(self.concurrent_put_size, self.quick_concurrent_put_size),
            state_machine_examples=min(
                self.state_machine_examples, self.quick_state_machine_examples
            ),
        )
