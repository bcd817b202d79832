"""The suite must fail drivers that break the contract: deliberately broken inmemory variants.

Each broken driver below differs from :class:`InMemoryDriver` by one bug a real backend
could have. The suite runs against it (quick mode, only the cases concerned, through
:func:`run_conformance`) and must report exactly those cases as failed, while the same
selection passes on the correct driver.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

import pytest

from distribution_storage.conformance import SuiteOptions, run_conformance
from distribution_storage.driver import FileInfo, FileWriter, PathNotFoundError, WalkPrune
from distribution_storage.driver.paths import ROOT, parent_of
from distribution_storage.drivers.inmemory import InMemoryDriver

SECRET = "s3cr3t-access-token-0123456789"
WRONG_RESUMES = ("a", "a/y", "a/y/z", "a-", "a.c/d", "B")
CONCURRENT_PUTTERS = 8  # SuiteOptions().concurrent_putters


class PrefixDeletingDriver(InMemoryDriver):
    """delete also removes the siblings whose name merely starts with the deleted name."""

    def delete(self, path: str) -> None:
        self.stat(path)
        for sibling in self.list(parent_of(path)):
            if sibling.startswith(path):
                super().delete(sibling)


class OffsetIgnoringDriver(InMemoryDriver):
    """reader always starts at the beginning."""

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        return super().reader(path, 0)


class OverwritingAppendDriver(InMemoryDriver):
    """writer(append=True) starts over instead of resuming."""

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        if append:
            self.stat(path)
        return super().writer(path)


class StringOrderWalkDriver(InMemoryDriver):
    """walk sorts by plain string, so ``/a-b`` comes before the subtree of ``/a``."""

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
        details: bool = True,
    ) -> Iterator[FileInfo]:
        entries = sorted(super().walk(path, prune=prune), key=lambda info: info.path)
        return iter([e for e in entries if start_after is None or e.path > start_after])


class FirstPageListingDriver(InMemoryDriver):
    """list returns only the first page of 1,000 entries."""

    def list(self, path: str) -> list[str]:
        return super().list(path)[:1000]


class DirectoryKeepingDriver(InMemoryDriver):
    """delete of a directory removes its files but leaves the (empty) directories."""

    def delete(self, path: str) -> None:
        if not self.stat(path).is_dir:
            super().delete(path)
            return
        for info in list(super().walk(path)):
            if not info.is_dir:
                super().delete(info.path)


class SecretLeakingDriver(InMemoryDriver):
    """A missing path's error chains a cause whose message holds the credential."""

    @property
    def secrets(self) -> tuple[str, ...]:
        return (SECRET,)

    def get_content(self, path: str) -> bytes:
        try:
            return super().get_content(path)
        except PathNotFoundError:
            raise PathNotFoundError(path) from RuntimeError(f"GET {path}?token={SECRET}: 404")


class MixingPutDriver(InMemoryDriver):
    """put_content writes in place piece by piece, so concurrent puts interleave."""

    PIECE = 16 * 1024

    def __init__(self) -> None:
        super().__init__()
        self._shared: dict[str, bytearray] = {}
        self._barrier = threading.Barrier(CONCURRENT_PUTTERS, timeout=30)

    def put_content(self, path: str, data: bytes) -> None:
        with self._lock:
            buffer = self._shared.setdefault(path, bytearray())
            buffer[:] = bytes(len(data))
        for start in range(0, len(data), self.PIECE):
            self._barrier.wait()
            buffer[start : start + self.PIECE] = data[start : start + self.PIECE]
        self._barrier.wait()
        super().put_content(path, bytes(buffer))


class PruneIgnoringDriver(InMemoryDriver):
    """walk never skips a subtree."""

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
        details: bool = True,
    ) -> Iterator[FileInfo]:
        return super().walk(path, start_after=start_after)


class FrozenClockDriver(InMemoryDriver):
    """stat reports the time of the first write forever."""

    def stat(self, path: str) -> FileInfo:
        info = super().stat(path)
        return FileInfo(info.path, info.size, datetime(2020, 1, 1, tzinfo=UTC), info.is_dir)


class _KeepingWriter(FileWriter):
    """A writer whose cancel only closes, so the bytes stay."""

    def __init__(self, inner: FileWriter) -> None:
        super().__init__(inner.path)
        self._inner = inner

    @property
    def size(self) -> int:
        return self._inner.size

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._inner.write(data)

    def _close(self) -> None:
        self._inner.close()

    def _commit(self) -> None:
        self._inner.commit()

    def _cancel(self) -> None:
        self._inner.close()


class CancelKeepingDriver(InMemoryDriver):
    """cancel keeps what was written."""

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        return _KeepingWriter(super().writer(path, append=append))


class Outcomes:
    """A pytest plugin recording each case's outcome (a failed teardown counts as failed)."""

    def __init__(self) -> None:
        self.by_case: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        case = report.nodeid.rsplit("::", 1)[-1]
        if report.failed:
            self.by_case[case] = "failed"
        elif report.skipped:
            self.by_case.setdefault(case, "skipped")
        elif report.when == "call":
            self.by_case.setdefault(case, "passed")

    def failed(self) -> set[str]:
        return {case for case, outcome in self.by_case.items() if outcome == "failed"}


def run_cases(
    driver: InMemoryDriver, selection: str, options: SuiteOptions | None = None
) -> tuple[int, Outcomes]:
    """Run the cases matching the ``-k`` expression ``selection`` on ``driver``.

    Quick mode unless ``options`` are given.
    """
    outcomes = Outcomes()
    code = run_conformance(
        lambda: driver,
        quick=options is None,
        options=options,
        extra_pytest_args=["-q", "-k", selection],
        plugins=[outcomes],
    )
    return code, outcomes


BROKEN = [
    pytest.param(
        PrefixDeletingDriver,
        "test_delete_only_deletes_subpaths or test_delete_many or test_walk_prunes",
        {"test_delete_only_deletes_subpaths", "test_delete_many"},
        id="delete-removes-prefix-siblings",
    ),
    pytest.param(
        OffsetIgnoringDriver,
        "test_reader_with_offset or test_concurrent_stream_reads or test_stream_round_trip",
        {"test_reader_with_offset", "test_concurrent_stream_reads"},
        id="reader-ignores-offset",
    ),
    pytest.param(
        OverwritingAppendDriver,
        "continue_stream_append or resumed_writer or zero_byte or test_write_read",
        {
            "test_continue_stream_append_large",
            "test_continue_stream_append_small",
            "test_resumed_writer_in_new_instance",
        },
        id="append-overwrites",
    ),
    pytest.param(
        StringOrderWalkDriver,
        "test_walk_order or test_walk_start_after_inside or test_walk_of_a_subdirectory",
        {
            "test_walk_order_is_depth_first_in_byte_order",
            "test_walk_of_a_subdirectory",
            *(f"test_walk_start_after_inside[{a}]" for a in WRONG_RESUMES),
        },
        id="walk-in-string-order",
    ),
    pytest.param(
        FirstPageListingDriver,
        "over_1000 or test_list",
        {"test_list_over_1000_entries", "test_walk_over_1000_entries"},
        id="listing-stops-at-one-page",
    ),
    pytest.param(
        DirectoryKeepingDriver,
        "test_delete_folder or test_move_overwrite",
        {"test_delete_folder", "test_move_overwrite"},
        id="delete-keeps-directories",
    ),
    pytest.param(
        SecretLeakingDriver,
        "test_errors_name_the_driver or test_read_nonexistent",
        {"test_errors_name_the_driver_and_hide_credentials"},
        id="error-leaks-credential",
    ),
    pytest.param(
        PruneIgnoringDriver,
        "test_walk",
        {"test_walk_prunes_a_directory"},
        id="walk-ignores-prune",
    ),
    pytest.param(
        FrozenClockDriver,
        "test_stat",
        {"test_stat"},
        id="mod-time-never-changes",
    ),
    pytest.param(
        CancelKeepingDriver,
        "test_cancel or test_write_after or test_continue_stream_append_small",
        {"test_cancel_leaves_nothing", "test_write_after_cancel_raises"},
        id="cancel-keeps-bytes",
    ),
    pytest.param(
        MixingPutDriver,
        "test_concurrent_put_content_to_one_path",
        {"test_concurrent_put_content_to_one_path"},
        id="concurrent-puts-mix",
    ),
]


@pytest.mark.parametrize(("broken", "selection", "expected"), BROKEN)
def test_suite_fails_a_broken_driver(
    broken: type[InMemoryDriver], selection: str, expected: set[str]
) -> None:
    """The selected cases pass on the correct driver and exactly ``expected`` fail on the bug."""
    code, control = run_cases(InMemoryDriver(), selection)
    assert code == 0, control.by_case
    assert expected <= set(control.by_case), "the selection misses an expected case"
    assert control.failed() == set()

    code, outcomes = run_cases(broken(), selection)
    assert code == pytest.ExitCode.TESTS_FAILED
    assert outcomes.failed() == expected, outcomes.by_case


def test_model_test_finds_a_prefix_deleting_driver() -> None:
    """The hypothesis state machine alone finds the sibling-deleting bug."""
    options = SuiteOptions(state_machine_examples=300, state_machine_derandomize=True)
    code, outcomes = run_cases(PrefixDeletingDriver(), "test_random_operations", options)
    assert code == pytest.ExitCode.TESTS_FAILED
    assert outcomes.failed() == {"test_random_operations_match_a_dict_model"}
