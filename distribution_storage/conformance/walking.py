"""Conformance cases for ``walk``, which distribution's suite does not check.

The order is depth first with children in byte order (so ``/a`` and its subtree come before
``/a-b``, which a plain string sort gets wrong), directories can be pruned, a walk can stop
early and resume with ``start_after`` inside or outside the walked path, entries removed
during a walk do not break it, empty and missing directories behave, a directory of more
than 1,000 entries (a listing page boundary) is walked whole, and a walk without details
(``details=False``) yields the same paths and kinds.
"""

from __future__ import annotations

import contextlib
import itertools
import threading

import pytest

from distribution_storage.conformance.base import ConformanceBase
from distribution_storage.conformance.helpers import assert_names_driver, populate
from distribution_storage.conformance.options import SuiteOptions
from distribution_storage.driver.contract import FileInfo, StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.driver.paths import components, parent_of, walk_key

TREE_FILES = (
    "a/x",
    "a/y/z",
    "a/y-z",
    "a-b",
    "a.c/d",
    "a_d",
    "B",
    "0",
    "b/c/d/e",
)
"""Names chosen so that byte order, string order and depth-first order all differ."""

DEADLOCK_GUARD = 300.0
"""Seconds a thread of a test may take before the test fails as hung (never an outcome)."""


def expected_walk(root: str, files: list[str]) -> list[tuple[str, bool]]:
    """(path, is_dir) of every file and directory below ``root``, in walk order."""
    entries = {path: False for path in files}
    for path in files:
        parent = parent_of(path)
        while parent != root and len(parent) > len(root):
            entries[parent] = True
            parent = parent_of(parent)
    return sorted(entries.items(), key=lambda item: walk_key(item[0]))


def walked(entries: list[FileInfo]) -> list[tuple[str, bool]]:
    """(path, is_dir) of what a walk yielded."""
    return [(info.path, info.is_dir) for info in entries]


def make_tree(driver: StorageDriver, root: str) -> list[str]:
    """Write :data:`TREE_FILES` below ``root``; returns their paths (content = name)."""
    paths = [f"{root}/{name}" for name in TREE_FILES]
    populate(driver, {path: path.encode() for path in paths})
    return paths


class WalkCases(ConformanceBase):
    """Order, pruning, stopping, resuming and robustness of ``walk``."""

    def test_walk_order_is_depth_first_in_byte_order(
        self, driver: StorageDriver, prefix: str
    ) -> None:
        """Every entry comes once, depth first, children in byte order, with sizes and kinds."""
        files = make_tree(driver, prefix)
        entries = list(driver.walk(prefix))
        assert walked(entries) == expected_walk(prefix, files)
        for info in entries:
            assert info.size == (0 if info.is_dir else len(info.path.encode()))
        names = [info.path for info in entries]
        assert names.index(f"{prefix}/a/y-z") < names.index(f"{prefix}/a-b")

    def test_walk_without_details(self, driver: StorageDriver, prefix: str) -> None:
        """``details=False`` yields the same paths and kinds in the same order, and with a
        prune and ``start_after`` too; a size it reports is the real one or 0."""
        files = make_tree(driver, prefix)
        full = list(driver.walk(prefix))
        bare = list(driver.walk(prefix, details=False))
        assert walked(bare) == walked(full) == expected_walk(prefix, files)
        sizes = {info.path: info.size for info in full}
        assert all(info.size in (0, sizes[info.path]) for info in bare)
        pruned, start = f"{prefix}/b/c", f"{prefix}/a-b"
        expected = walked(
            list(driver.walk(prefix, start_after=start, prune=lambda i: i.path == pruned))
        )
        bare_resumed = driver.walk(
            prefix, start_after=start, prune=lambda i: i.path == pruned, details=False
        )
        assert walked(list(bare_resumed)) == expected

    def test_walk_of_a_subdirectory(self, driver: StorageDriver, prefix: str) -> None:
        """Walking a directory yields only what lies below it, never a prefix sibling."""
        files = make_tree(driver, prefix)
        below = [path for path in files if path.startswith(f"{prefix}/a/")]
        assert walked(list(driver.walk(f"{prefix}/a"))) == expected_walk(f"{prefix}/a", below)

    def test_walk_prunes_a_directory(self, driver: StorageDriver, prefix: str) -> None:
        """A directory the prune callback rejects is yielded, its subtree is not."""
        files = make_tree(driver, prefix)
        pruned = f"{prefix}/a"
        asked: list[str] = []

        def prune(info: FileInfo) -> bool:
            asked.append(info.path)
            return info.path == pruned

        entries = walked(list(driver.walk(prefix, prune=prune)))
        expected = [
            entry for entry in expected_walk(prefix, files) if not entry[0].startswith(pruned + "/")
        ]
        assert entries == expected
        assert pruned in asked
        assert all(driver.stat(path).is_dir for path in asked)

    def test_walk_stops_early(self, driver: StorageDriver, prefix: str) -> None:
        """Leaving the loop after three entries is clean, and they are the first three."""
        files = make_tree(driver, prefix)
        walk = driver.walk(prefix)
        first = walked(list(itertools.islice(walk, 3)))
        close = getattr(walk, "close", None)
        if close is not None:
            close()
        assert first == expected_walk(prefix, files)[:3]
        assert driver.get_content(files[0]) == files[0].encode()

    @pytest.mark.parametrize("after", ["a", "a/y", "a/y/z", "a-", "a.c/d", "a0", "B", "zzz"])
    def test_walk_start_after_inside(self, driver: StorageDriver, prefix: str, after: str) -> None:
        """``start_after`` resumes right after that path in walk order, existing or not."""
        files = make_tree(driver, prefix)
        start = f"{prefix}/{after}"
        expected = [
            entry for entry in expected_walk(prefix, files) if walk_key(entry[0]) > walk_key(start)
        ]
        assert walked(list(driver.walk(prefix, start_after=start))) == expected

    def test_walk_start_after_outside(self, driver: StorageDriver, prefix: str) -> None:
        """A ``start_after`` before the walked path keeps everything; after it, nothing."""
        files = make_tree(driver, prefix)
        root = f"{prefix}/a"
        below = expected_walk(root, [path for path in files if path.startswith(root + "/")])
        for before in ("/", prefix, f"{prefix}/0", f"{prefix}/Z"):
            assert walked(list(driver.walk(root, start_after=before))) == below, before
        for beyond in (f"{prefix}/a-b", f"{prefix}/b", f"{prefix}0"):
            assert walked(list(driver.walk(root, start_after=beyond))) == [], beyond

    def test_walk_survives_removal(self, driver: StorageDriver, prefix: str) -> None:
        """Deleting entries the walk has not reached yet does not break it."""
        files = make_tree(driver, prefix)
        removed_file, removed_dir = f"{prefix}/a_d", f"{prefix}/b"
        entries: list[FileInfo] = []
        for info in driver.walk(prefix):
            if not entries:
                driver.delete(removed_file)
                driver.delete(removed_dir)
            entries.append(info)
        gone = (removed_file, removed_dir)
        survivors = [
            entry
            for entry in expected_walk(prefix, files)
            if not any(entry[0] == g or entry[0].startswith(g + "/") for g in gone)
        ]
        seen = walked(entries)
        assert [entry for entry in seen if entry in survivors] == survivors
        assert len(seen) == len(set(seen)), "an entry came twice"
        assert [e[0] for e in seen] == sorted((e[0] for e in seen), key=walk_key)

    def test_walk_beside_a_deleter_passes_over_only_what_was_deleted(
        self, driver: StorageDriver, prefix: str
    ) -> None:
        """A thread deleting every other file while the walk runs costs the walk those
        files and nothing else: never a sibling, never the directory they were in.

        The deleter starts when the walk has yielded its first entry and deletes from the
        directories the walk has yet to list and the one it is in; whichever way the two
        interleave, every file that was not deleted must be walked, with its parents.
        """
        directories = [f"{prefix}/d{index}" for index in range(4)]
        files = [f"{directory}/f{index:03d}" for directory in directories for index in range(60)]
        populate(driver, dict.fromkeys(files, b"x"))
        doomed = files[1::2]
        started, done = threading.Event(), threading.Event()
        failures: list[BaseException] = []

        def deleter() -> None:
            try:
                started.wait(DEADLOCK_GUARD)
                for path in doomed:
                    driver.delete(path)
            except BaseException as exc:  # reported by the test thread
                failures.append(exc)
            finally:
                done.set()

        thread = threading.Thread(target=deleter, daemon=True)
        thread.start()
        entries: list[FileInfo] = []
        try:
            for info in driver.walk(prefix):
                entries.append(info)
                started.set()
        finally:
            started.set()
            assert done.wait(DEADLOCK_GUARD), "the deleter thread never finished"
            thread.join(DEADLOCK_GUARD)
        assert not failures, failures
        seen = walked(entries)
        expected = expected_walk(prefix, files)
        gone = set(doomed)
        survivors = [entry for entry in expected if entry[0] not in gone]
        assert [entry for entry in seen if entry in survivors] == survivors
        assert set(seen) <= set(expected), "the walk yielded a path that never existed"
        assert len(seen) == len(set(seen)), "an entry came twice"

    def test_walk_empty_directory(self, driver: StorageDriver, prefix: str) -> None:
        """A directory emptied of its files walks as nothing (or is gone altogether)."""
        directory = f"{prefix}/emptied"
        driver.put_content(f"{prefix}/keep", b"k")
        driver.put_content(f"{directory}/file", b"f")
        driver.delete(f"{directory}/file")
        with contextlib.suppress(PathNotFoundError):
            assert list(driver.walk(directory)) == []
        entries = walked(list(driver.walk(prefix)))
        assert (f"{prefix}/keep", False) in entries
        assert set(entries) <= {(f"{prefix}/keep", False), (directory, True)}

    def test_walk_missing_path(self, driver: StorageDriver, prefix: str) -> None:
        """Walking a path that does not exist raises PathNotFoundError naming the driver."""
        driver.put_content(f"{prefix}/present", b"x")
        with pytest.raises(PathNotFoundError) as caught:
            list(driver.walk(f"{prefix}/missing"))
        assert_names_driver(caught.value, driver)

    def test_walk_over_1000_entries(
        self, driver: StorageDriver, prefix: str, suite: SuiteOptions
    ) -> None:
        """More than 1,000 entries (a listing page) walk whole, and resume mid-way."""
        directory = f"{prefix}/many"
        files = [f"{directory}/f{i:05d}" for i in range(suite.many_entries)]
        populate(driver, dict.fromkeys(files, b"x"))
        driver.put_content(f"{prefix}/many-z", b"after")
        expected = expected_walk(prefix, [*files, f"{prefix}/many-z"])
        assert walked(list(driver.walk(prefix))) == expected
        resumed = walked(list(driver.walk(prefix, start_after=files[999])))
        assert resumed == expected[1001:]
        assert len(components(resumed[0][0])) == len(components(files[1000]))
