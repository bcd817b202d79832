"""Filesystem driver specifics: confinement to the root, atomic writes, resumption."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from support.pausing import DEADLOCK_GUARD, InThread

from distribution_storage import (
    ConfigurationError,
    InvalidPathError,
    PathNotFoundError,
    StorageDriverError,
    open_driver,
)
from distribution_storage.driver import StorageDriver
from distribution_storage.driver.contract import UNKNOWN_TIME
from distribution_storage.drivers import filesystem


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret").write_bytes(b"do not touch")
    return path


@pytest.fixture
def driver(root: Path) -> StorageDriver:
    return open_driver("filesystem", rootdirectory=str(root))


def test_dot_dot_components_cannot_escape(driver: StorageDriver, outside: Path) -> None:
    for path in ("/../outside/secret", "/a/../../outside/secret", "/.."):
        with pytest.raises(InvalidPathError):
            driver.get_content(path)
        with pytest.raises(InvalidPathError):
            driver.put_content(path, b"overwritten")
    assert (outside / "secret").read_bytes() == b"do not touch"


def test_symlinks_planted_inside_the_root_are_never_followed_out(
    driver: StorageDriver, root: Path, outside: Path
) -> None:
    os.symlink(outside, root / "dirlink")
    os.symlink(outside / "secret", root / "filelink")
    (root / "real" / "nested").mkdir(parents=True)
    os.symlink(outside, root / "real" / "dirlink")
    os.symlink(outside, root / "real" / "nested" / "dirlink")
    attempts = [
        lambda: driver.get_content("/dirlink/secret"),
        lambda: driver.get_content("/filelink"),
        lambda: driver.reader("/filelink").read(),
        lambda: driver.put_content("/dirlink/secret", b"overwritten"),
        lambda: driver.put_content("/dirlink/new", b"created"),
        lambda: driver.writer("/dirlink/w").write(b"x"),
        lambda: driver.writer("/filelink", append=True).write(b"x"),
        lambda: driver.delete("/dirlink/secret"),
        lambda: driver.delete_files(["/dirlink/secret"]),
        lambda: driver.delete_files(["/real/nested/dirlink/secret"]),
        lambda: driver.delete_many(["/real/dirlink/secret"]),
        lambda: driver.get_content("/real/nested/dirlink/secret"),
        lambda: driver.move("/dirlink/secret", "/stolen"),
        lambda: driver.list("/dirlink"),
        lambda: driver.stat("/dirlink/secret"),
    ]
    for attempt in attempts:
        with pytest.raises(StorageDriverError) as caught:
            attempt()
        assert isinstance(caught.value, PermissionError)
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_bytes() == b"do not touch"


@pytest.mark.parametrize(("before", "after"), [(b"a" * (4 << 20), b"b"), (b"b", b"a" * (4 << 20))])
def test_put_content_is_atomic_and_leaves_no_temporary_files(
    driver: StorageDriver, root: Path, monkeypatch: pytest.MonkeyPatch, before: bytes, after: bytes
) -> None:
    """A rewrite held with its new content written in full but not yet in place: readers
    and listings see the old content whole; once in place, the new one, and no other file."""
    driver.put_content("/f", before)
    filesystem = driver.unwrap()
    written = threading.Event()
    go_on = threading.Event()
    replace = filesystem._replace  # type: ignore[attr-defined]

    def held_replace(temp: str, full: str, path: str) -> None:
        written.set()
        assert go_on.wait(DEADLOCK_GUARD), "the test never let the rewrite go on"
        replace(temp, full, path)

    monkeypatch.setattr(filesystem, "_replace", held_replace)
    rewrite = InThread(lambda: driver.put_content("/f", after), name="the rewrite")
    assert written.wait(DEADLOCK_GUARD), "the rewrite never got its content written"
    assert len(os.listdir(root)) == 2  # the new content is on disk, under another name
    assert driver.get_content("/f") == before
    assert driver.list("/") == ["/f"]
    assert driver.stat("/f").size == len(before)
    go_on.set()
    rewrite.result()
    assert driver.get_content("/f") == after
    assert os.listdir(root) == ["f"]
    assert driver.list("/") == ["/f"]


def test_temporary_names_are_hidden_from_listings(driver: StorageDriver, root: Path) -> None:
    driver.put_content("/d/real", b"1")
    (root / "d" / "~tmp~real.abc").write_bytes(b"partial")
    assert driver.list("/d") == ["/d/real"]
    assert [info.path for info in driver.walk("/d")] == ["/d/real"]


def test_a_closed_writer_resumes_in_a_new_driver_instance(root: Path) -> None:
    first = open_driver("filesystem", rootdirectory=str(root))
    writer = first.writer("/upload/data")
    writer.write(b"x" * 100)
    writer.close()
    second = open_driver("filesystem", rootdirectory=str(root))
    resumed = second.writer("/upload/data", append=True)
    assert resumed.size == 100
    resumed.write(b"y" * 50)
    resumed.commit()
    assert second.get_content("/upload/data") == b"x" * 100 + b"y" * 50


def test_append_to_a_missing_path_is_path_not_found(driver: StorageDriver) -> None:
    with pytest.raises(PathNotFoundError):
        driver.writer("/nothing", append=True)


def test_a_root_that_is_a_file_is_a_configuration_error(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_bytes(b"")
    with pytest.raises(ConfigurationError, match="rootdirectory"):
        open_driver("filesystem", rootdirectory=str(afile))


def test_an_unwritable_root_gives_a_clear_error() -> None:
    # /proc refuses new directories even to root, so this holds whoever runs the tests.
    driver = open_driver("filesystem", rootdirectory="/proc/registry-store")
    with pytest.raises(StorageDriverError) as caught:
        driver.put_content("/a", b"x")
    assert "cannot create /a under the root directory /proc/registry-store" in str(caught.value)
    assert str(caught.value).startswith("filesystem: ")


def test_writing_under_a_file_is_an_error_and_changes_nothing(driver: StorageDriver) -> None:
    driver.put_content("/file", b"content")
    with pytest.raises(StorageDriverError, match="parent is a file"):
        driver.put_content("/file/child", b"x")
    assert driver.get_content("/file") == b"content"


def test_maxthreads_has_distributions_minimum() -> None:
    with pytest.raises(ConfigurationError, match="at least 25"):
        open_driver("filesystem", rootdirectory="/tmp/x", maxthreads="10")


def test_delete_files_removes_the_empty_directory_of_a_missing_file(
    driver: StorageDriver, root: Path
) -> None:
    # distribution deletes a link by its file and leaves the directory behind.
    (root / "links" / "empty").mkdir(parents=True)
    driver.put_content("/links/full/link", b"x")
    driver.put_content("/links/full/other", b"y")
    missing = driver.delete_files(["/links/empty/link", "/links/full/link", "/links/none/link"])
    assert missing == ["/links/empty/link", "/links/none/link"]
    assert not (root / "links" / "empty").exists()
    assert sorted(os.listdir(root / "links" / "full")) == ["other"]


def test_delete_files_refuses_a_symlinked_directory_within_a_batch(
    driver: StorageDriver, root: Path, outside: Path
) -> None:
    paths = [f"/blobs/ab/{number:02d}/data" for number in range(5)]
    for path in paths:
        driver.put_content(path, b"x")
    os.symlink(outside, root / "blobs" / "ab" / "evil")
    assert driver.delete_files([*paths, "/blobs/ab/gone/data"]) == ["/blobs/ab/gone/data"]
    assert os.listdir(root / "blobs" / "ab") == ["evil"]
    with pytest.raises(StorageDriverError) as caught:
        driver.delete_files(["/blobs/ab/other/data", "/blobs/ab/evil/secret"])
    assert isinstance(caught.value, PermissionError)
    assert (outside / "secret").read_bytes() == b"do not touch"


def test_delete_files_refuses_files_below_a_symlinked_grandparent(
    driver: StorageDriver, root: Path, outside: Path
) -> None:
    for number in range(5):
        (outside / f"{number:02d}").mkdir()
        (outside / f"{number:02d}" / "data").write_bytes(b"outside")
    (root / "blobs").mkdir()
    os.symlink(outside, root / "blobs" / "ab")
    with pytest.raises(StorageDriverError) as caught:
        driver.delete_files([f"/blobs/ab/{number:02d}/data" for number in range(5)])
    assert isinstance(caught.value, PermissionError)
    assert all((outside / f"{number:02d}" / "data").exists() for number in range(5))


def test_a_walk_without_details_stats_nothing(driver: StorageDriver) -> None:
    """``details=False`` takes kinds from ``scandir`` alone: no entry is stat'ed, so sizes
    are 0 and times unknown, while a walk with details reports both."""
    driver.put_content("/a/b/data", b"12345")
    driver.put_content("/a/c", b"xy")
    full = {info.path: info for info in driver.walk("/a")}
    assert full["/a/b/data"].size == 5 and full["/a/b/data"].mod_time > UNKNOWN_TIME
    bare = list(driver.walk("/a", details=False))
    assert [(i.path, i.is_dir, i.size, i.mod_time) for i in bare] == [
        ("/a/b", True, 0, UNKNOWN_TIME),
        ("/a/b/data", False, 0, UNKNOWN_TIME),
        ("/a/c", False, 0, UNKNOWN_TIME),
    ]


def test_reading_a_directory_is_not_found_and_leaks_no_descriptor(
    driver: StorageDriver, root: Path
) -> None:
    driver.put_content("/dir/file", b"x")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        with pytest.raises(PathNotFoundError):
            driver.reader("/dir")
        with pytest.raises(PathNotFoundError):
            driver.get_content("/dir")
    assert len(os.listdir("/proc/self/fd")) == before
    with driver.reader("/dir/file", 0) as stream:
        assert stream.read() == b"x"


class _ScandirThatLosesAnEntry:
    """``os.scandir`` whose directory listing is read whole, after which ``victim`` is
    deleted before any entry is stat'ed: the window between ``readdir`` and ``stat`` that a
    concurrent delete falls into, decided rather than waited for."""

    def __init__(self, real: Any, victim: Path) -> None:
        self.real = real
        self.victim = victim

    def __call__(self, path: str) -> Any:
        with self.real(path) as entries:
            listed = list(entries)
        if Path(path) == self.victim.parent and self.victim.exists():
            (self.victim / "link").unlink()
            self.victim.rmdir()
        return contextlib.nullcontext(iter(listed))


def test_an_entry_deleted_between_readdir_and_stat_costs_the_walk_only_that_entry(
    driver: StorageDriver, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"/repo/revisions/sha256/{index:04d}/link" for index in range(20)]
    for name in names:
        driver.put_content(name, b"x")
    driver.put_content("/repo/tags/v1/link", b"t")
    victim = root / "repo/revisions/sha256/0007"  # listed, then gone before its stat
    monkeypatch.setattr(filesystem.os, "scandir", _ScandirThatLosesAnEntry(os.scandir, victim))
    walked = {info.path for info in driver.walk("/repo") if not info.is_dir}
    assert walked == {*names[:7], *names[8:], "/repo/tags/v1/link"}
