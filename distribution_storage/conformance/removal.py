"""Conformance cases for ``move``, ``delete`` and the optional ``copy`` and ``delete_many``.

Distribution's move cases (move, overwrite, missing source, moving under a file) and delete
cases (a file, a missing path, one file of a folder then the folder, only true subpaths and
never a sibling sharing a string prefix), plus deleting a directory of more than 1,000
files. ``copy``, ``delete_many`` and ``delete_files`` have generic fallbacks, so they are
checked on every driver whatever capability it declares.
"""

from __future__ import annotations

import pytest

from distribution_storage.conformance.base import ConformanceBase
from distribution_storage.conformance.helpers import (
    assert_names_driver,
    check_bytes,
    populate,
    random_bytes,
)
from distribution_storage.conformance.options import SuiteOptions
from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import PathNotFoundError, StorageDriverError


class MoveCases(ConformanceBase):
    """Moves put the content at the destination and nowhere else."""

    def test_move(self, driver: StorageDriver, prefix: str) -> None:
        """Content moves to a destination in another directory; the source is gone."""
        source, dest = f"{prefix}/src/dir/file", f"{prefix}/dst/other/file"
        content = random_bytes(32)
        driver.put_content(source, content)
        driver.move(source, dest)
        check_bytes(driver.get_content(dest), content)
        with pytest.raises(PathNotFoundError):
            driver.get_content(source)

    def test_move_overwrite(self, driver: StorageDriver, prefix: str) -> None:
        """32 B moved over 64 B: the destination holds exactly the 32 B."""
        source, dest = f"{prefix}/src", f"{prefix}/dst"
        content = random_bytes(32)
        driver.put_content(source, content)
        driver.put_content(dest, random_bytes(64))
        driver.move(source, dest)
        check_bytes(driver.get_content(dest), content)
        assert driver.stat(dest).size == 32
        with pytest.raises(PathNotFoundError):
            driver.get_content(source)

    def test_move_nonexistent(self, driver: StorageDriver, prefix: str) -> None:
        """Moving a missing source raises PathNotFoundError and leaves the destination."""
        dest = f"{prefix}/dst"
        content = random_bytes(32)
        driver.put_content(dest, content)
        with pytest.raises(PathNotFoundError) as caught:
            driver.move(f"{prefix}/missing", dest)
        assert_names_driver(caught.value, driver)
        check_bytes(driver.get_content(dest), content)

    def test_move_invalid(self, driver: StorageDriver, prefix: str) -> None:
        """Moving a path under a file (which cannot be a directory) raises a driver error."""
        not_a_dir = f"{prefix}/notadir"
        content = random_bytes(32)
        driver.put_content(not_a_dir, content)
        with pytest.raises(StorageDriverError) as caught:
            driver.move(f"{not_a_dir}/foo", f"{not_a_dir}/bar")
        assert_names_driver(caught.value, driver)
        check_bytes(driver.get_content(not_a_dir), content)


class DeleteCases(ConformanceBase):
    """Deletes are recursive and never touch a sibling that shares a string prefix."""

    def test_delete(self, driver: StorageDriver, prefix: str) -> None:
        """After delete, get_content raises PathNotFoundError."""
        path = f"{prefix}/file"
        driver.put_content(path, random_bytes(32))
        driver.delete(path)
        with pytest.raises(PathNotFoundError):
            driver.get_content(path)

    def test_delete_nonexistent(self, driver: StorageDriver, prefix: str) -> None:
        """Deleting a missing path raises PathNotFoundError naming the driver."""
        driver.put_content(f"{prefix}/present", b"x")
        with pytest.raises(PathNotFoundError) as caught:
            driver.delete(f"{prefix}/missing")
        assert_names_driver(caught.value, driver)
        assert driver.get_content(f"{prefix}/present") == b"x"

    def test_delete_folder(self, driver: StorageDriver, prefix: str) -> None:
        """Deleting one file of three leaves two; deleting the folder removes them all."""
        folder = f"{prefix}/folder"
        files = [f"{folder}/one", f"{folder}/two", f"{folder}/sub/three"]
        populate(driver, {path: random_bytes(32) for path in files})
        driver.delete(files[0])
        with pytest.raises(PathNotFoundError):
            driver.get_content(files[0])
        for path in files[1:]:
            assert len(driver.get_content(path)) == 32
        driver.delete(folder)
        for path in files:
            with pytest.raises(PathNotFoundError):
                driver.get_content(path)
        with pytest.raises(PathNotFoundError):
            driver.list(folder)

    def test_delete_only_deletes_subpaths(self, driver: StorageDriver, prefix: str) -> None:
        """Deleting ``dir/file`` keeps ``dir/filesuffix``; ``dir/dir`` keeps ``dir/dirsuffix``."""
        base = f"{prefix}/dir"
        contents = {
            f"{base}/file": b"file",
            f"{base}/filesuffix": b"filesuffix",
            f"{base}/dir/file": b"dir/file",
            f"{base}/dirsuffix/file": b"dirsuffix/file",
            f"{base}/dir-x/file": b"dir-x/file",
        }
        populate(driver, contents)
        driver.delete(f"{base}/file")
        assert driver.get_content(f"{base}/filesuffix") == b"filesuffix"
        driver.delete(f"{base}/dir")
        assert driver.get_content(f"{base}/dirsuffix/file") == b"dirsuffix/file"
        assert driver.get_content(f"{base}/dir-x/file") == b"dir-x/file"
        with pytest.raises(PathNotFoundError):
            driver.get_content(f"{base}/dir/file")

    def test_delete_directory_over_1000_files(
        self, driver: StorageDriver, prefix: str, suite: SuiteOptions
    ) -> None:
        """Deleting a directory of more than 1,000 files removes every one of them."""
        directory = f"{prefix}/many"
        paths = [f"{directory}/f{i:05d}" for i in range(suite.many_entries)]
        populate(driver, dict.fromkeys(paths, b"x"))
        driver.put_content(f"{prefix}/many-sibling", b"kept")
        driver.delete(directory)
        with pytest.raises(PathNotFoundError):
            driver.list(directory)
        for path in (paths[0], paths[999], paths[-1]):
            with pytest.raises(PathNotFoundError):
                driver.stat(path)
        assert driver.list(prefix) == [f"{prefix}/many-sibling"]

    def test_delete_many(self, driver: StorageDriver, prefix: str) -> None:
        """``delete_many`` removes each path recursively and returns the missing ones."""
        populate(
            driver,
            {
                f"{prefix}/a": b"1",
                f"{prefix}/b/c": b"2",
                f"{prefix}/b/d": b"3",
                f"{prefix}/ab": b"4",
            },
        )
        missing = driver.delete_many([f"{prefix}/a", f"{prefix}/b", f"{prefix}/zzz"])
        assert missing == [f"{prefix}/zzz"]
        assert driver.list(prefix) == [f"{prefix}/ab"]

    def test_delete_files(self, driver: StorageDriver, prefix: str) -> None:
        """``delete_files`` removes exactly the named files, and a missing one is no error."""
        populate(
            driver,
            {
                f"{prefix}/blob/one/data": b"1",
                f"{prefix}/blob/two/data": b"2",
                f"{prefix}/blob/two/extra": b"3",
                f"{prefix}/link": b"4",
                f"{prefix}/linked": b"5",
            },
        )
        missing = driver.delete_files(
            [
                f"{prefix}/blob/one/data",
                f"{prefix}/blob/two/data",
                f"{prefix}/link",
                f"{prefix}/gone",
            ]
        )
        assert set(missing) <= {f"{prefix}/gone"}
        for path in (f"{prefix}/blob/one/data", f"{prefix}/blob/two/data", f"{prefix}/link"):
            with pytest.raises(PathNotFoundError):
                driver.stat(path)
        assert driver.get_content(f"{prefix}/blob/two/extra") == b"3"
        assert driver.get_content(f"{prefix}/linked") == b"5"


class CopyCases(ConformanceBase):
    """``copy`` duplicates content; the copies are independent afterwards."""

    def test_copy(self, driver: StorageDriver, prefix: str) -> None:
        """A copy reads the same, replaces the destination and survives a source rewrite."""
        source, dest = f"{prefix}/src/file", f"{prefix}/dst/file"
        content = random_bytes(100_000)
        driver.put_content(source, content)
        driver.put_content(dest, random_bytes(10))
        driver.copy(source, dest)
        check_bytes(driver.get_content(dest), content)
        driver.put_content(source, b"changed")
        check_bytes(driver.get_content(dest), content)

    def test_copy_nonexistent(self, driver: StorageDriver, prefix: str) -> None:
        """Copying a missing source raises PathNotFoundError and creates nothing."""
        driver.put_content(f"{prefix}/present", b"x")
        with pytest.raises(PathNotFoundError):
            driver.copy(f"{prefix}/missing", f"{prefix}/dst")
        with pytest.raises(PathNotFoundError):
            driver.stat(f"{prefix}/dst")
