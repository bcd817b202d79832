"""Conformance cases for ``list`` and ``stat``.

Distribution's list case (a missing directory, then 50 files: the listings of the root, the
parent and the directory are exact) and stat case (files, directories, a rewrite that moves
the modification time strictly later, the root), plus a listing of more than 1,000 entries,
which crosses the page size of every object store.
"""

from __future__ import annotations

import time

import pytest

from distribution_storage.conformance.base import ConformanceBase
from distribution_storage.conformance.helpers import assert_names_driver, populate, random_bytes
from distribution_storage.conformance.options import SuiteOptions
from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import PathNotFoundError


class ListingCases(ConformanceBase):
    """Directory listings and file information."""

    def test_list(self, driver: StorageDriver, prefix: str) -> None:
        """A missing directory raises; with 50 files, every level lists exactly."""
        parent = f"{prefix}/parent"
        with pytest.raises(PathNotFoundError) as caught:
            driver.list(parent)
        assert_names_driver(caught.value, driver)
        children = sorted(f"{parent}/file-{i:02d}" for i in range(50))
        populate(driver, {path: random_bytes(8) for path in children})
        assert prefix in driver.list("/")
        assert driver.list(prefix) == [parent]
        assert sorted(driver.list(parent)) == children

    def test_list_mixes_files_and_directories(self, driver: StorageDriver, prefix: str) -> None:
        """A listing holds direct children only: files and directories, once each."""
        populate(
            driver,
            {
                f"{prefix}/a": b"1",
                f"{prefix}/b/c": b"2",
                f"{prefix}/b/d/e": b"3",
                f"{prefix}/b-c": b"4",
            },
        )
        assert sorted(driver.list(prefix)) == [f"{prefix}/a", f"{prefix}/b", f"{prefix}/b-c"]
        assert sorted(driver.list(f"{prefix}/b")) == [f"{prefix}/b/c", f"{prefix}/b/d"]

    def test_list_over_1000_entries(
        self, driver: StorageDriver, prefix: str, suite: SuiteOptions
    ) -> None:
        """A directory of more than 1,000 files lists every one of them, once."""
        directory = f"{prefix}/many"
        expected = sorted(f"{directory}/f{i:05d}" for i in range(suite.many_entries))
        populate(driver, dict.fromkeys(expected, b"x"))
        listed = driver.list(directory)
        assert len(listed) == len(expected)
        assert sorted(listed) == expected

    def test_stat(self, driver: StorageDriver, prefix: str, suite: SuiteOptions) -> None:
        """Files, directories and rewrites report the right path, size, kind and time."""
        directory = f"{prefix}/dir"
        path = f"{directory}/file"
        with pytest.raises(PathNotFoundError) as caught:
            driver.stat(path)
        assert_names_driver(caught.value, driver)

        driver.put_content(path, random_bytes(4096))
        info = driver.stat(path)
        assert (info.path, info.size, info.is_dir) == (path, 4096, False)
        assert info.mod_time.tzinfo is not None, "mod_time must be timezone-aware"

        time.sleep(suite.mod_time_delay)
        driver.put_content(path, random_bytes(4096))
        later = driver.stat(path)
        assert later.mod_time > info.mod_time, "a rewrite must move mod_time strictly later"

        dir_info = driver.stat(directory)
        assert (dir_info.path, dir_info.size, dir_info.is_dir) == (directory, 0, True)

    def test_stat_root(self, driver: StorageDriver) -> None:
        """``stat("/")`` succeeds (a directory) or raises PathNotFoundError, nothing else."""
        try:
            info = driver.stat("/")
        except PathNotFoundError:
            return
        assert info.is_dir
        assert info.size == 0
