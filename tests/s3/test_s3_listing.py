"""Listing, walking and deleting with the s3 driver: page boundaries, order, request counts.

Over 1,000 keys cross ListObjectsV2 and DeleteObjects page limits; the request counts pin
that ``walk`` is one flat paginated listing (not a list per directory) and that ``delete``
batches. Walk order is checked against the contract's generic walk (list + stat per entry)
on names where S3's byte order and walk order differ (``a-b``, ``a.b`` before ``a/``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from s3_support import RequestCounter, populate

from distribution_storage.driver.contract import FileInfo, StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.drivers.s3 import S3Driver

TRICKY = [
    "/t/a-b/y",
    "/t/a.b",
    "/t/a/x",
    "/t/a/b-c/z",
    "/t/a/b/z",
    "/t/a/b/z-1",
    "/t/a0/q",
    "/t/a-/w",
    "/t/b/deep/er/file",
    "/t/b.c",
]


@pytest.fixture
def driver(s3_params: Callable[..., dict[str, Any]]) -> S3Driver:
    return S3Driver.from_parameters(s3_params(rootdirectory="/root/"))


@pytest.fixture
def tricky(driver: S3Driver) -> S3Driver:
    for path in TRICKY:
        driver.put_content(path, path.encode())
    return driver


def paths(entries: list[FileInfo]) -> list[tuple[str, bool]]:
    return [(entry.path, entry.is_dir) for entry in entries]


def generic_walk(driver: S3Driver, path: str, **kwargs: Any) -> list[FileInfo]:
    return list(StorageDriver.walk(driver, path, **kwargs))


def test_walk_order_matches_the_generic_walk_where_byte_order_differs(tricky: S3Driver) -> None:
    counter = RequestCounter(tricky.client)
    flat = list(tricky.walk("/t"))
    assert counter.calls == {"ListObjectsV2": 1}
    assert paths(flat) == paths(generic_walk(tricky, "/t"))
    names = [p for p, _ in paths(flat)]
    assert names.index("/t/a/b/z-1") < names.index("/t/a-/w") < names.index("/t/a-b/y")


@pytest.mark.parametrize(
    "after",
    ["/t/a", "/t/a/b", "/t/a/b/z", "/t/a-b", "/t/a.b", "/t/a/x", "/t/b/deep", "/t/zz", "/s", "/u"],
)
def test_walk_start_after_matches_the_generic_walk(tricky: S3Driver, after: str) -> None:
    assert paths(list(tricky.walk("/t", start_after=after))) == paths(
        generic_walk(tricky, "/t", start_after=after)
    )


def test_walk_prune_skips_subtrees_like_the_generic_walk(tricky: S3Driver) -> None:
    def prune(info: FileInfo) -> bool:
        return info.path in ("/t/a", "/t/b/deep")

    flat = paths(list(tricky.walk("/", prune=prune)))
    assert flat == paths(generic_walk(tricky, "/", prune=prune))
    assert ("/t/a/x", False) not in flat
    assert ("/t/a-b/y", False) in flat


def test_walk_of_a_missing_directory_raises_path_not_found(driver: S3Driver) -> None:
    driver.put_content("/present/file", b"1")
    with pytest.raises(PathNotFoundError):
        list(driver.walk("/absent"))
    with pytest.raises(PathNotFoundError):
        list(driver.walk("/absent", start_after="/absent/x"))
    with pytest.raises(PathNotFoundError):
        list(driver.walk("/present/file"))
    assert list(driver.walk("/present", start_after="/present/zzz")) == []


@pytest.fixture
def many(driver: S3Driver, s3_admin: Any) -> S3Driver:
    keys = [f"root/many/d{i % 3}/f{i:04d}" for i in range(1200)] + ["root/many-sibling"]
    populate(s3_admin, driver.settings.bucket, keys)
    return driver


def test_list_walk_and_delete_over_1000_keys_page_and_batch(many: S3Driver, s3_admin: Any) -> None:
    counter = RequestCounter(many.client)
    children = many.list("/many/d0")
    assert len(children) == 400
    assert counter.calls == {"ListObjectsV2": 1}
    counter.reset()
    walked = list(many.walk("/many"))
    assert len(walked) == 1203
    assert counter.calls == {"ListObjectsV2": 2}
    assert [w.path for w in walked][:2] == ["/many/d0", "/many/d0/f0000"]

    # The same keys (one populated set keeps the test cheap): delete batches by 1,000.
    counter.reset()
    many.delete("/many")
    assert counter.calls["DeleteObjects"] == 2
    assert counter.calls["ListObjectsV2"] == 3
    left = s3_admin.list_objects_v2(Bucket=many.settings.bucket)["Contents"]
    assert [item["Key"] for item in left] == ["root/many-sibling"]
    with pytest.raises(PathNotFoundError):
        many.delete("/many")


def test_delete_many_shares_batches_and_reports_missing(driver: S3Driver) -> None:
    for index in range(5):
        driver.put_content(f"/blobs/b{index}/data", b"x")
    driver.put_content("/blobs/b1-keep", b"y")
    counter = RequestCounter(driver.client)
    missing = driver.delete_many(["/blobs/b0", "/blobs/b1", "/blobs/nope", "/blobs/b4/data"])
    assert missing == ["/blobs/nope"]
    assert counter.calls["DeleteObjects"] == 1
    assert driver.list("/blobs") == ["/blobs/b1-keep", "/blobs/b2", "/blobs/b3"]


@pytest.mark.parametrize(
    "pruned",
    [{"/t/a"}, {"/t/a/b"}, {"/t/a-b", "/t/b/deep"}, {"/t/a-"}, {"/t/b"}, {"/t/a/b", "/t/a0"}],
)
def test_prune_with_small_pages_jumps_and_still_matches_the_generic_walk(
    tricky: S3Driver, pruned: set[str]
) -> None:
    tricky.list_page_size = 2

    def prune(info: FileInfo) -> bool:
        return info.path in pruned

    for after in (None, "/t/a/b-c"):
        assert paths(list(tricky.walk("/t", start_after=after, prune=prune))) == paths(
            generic_walk(tricky, "/t", start_after=after, prune=prune)
        )


def test_a_pruned_subtree_is_not_paged_through(driver: S3Driver, s3_admin: Any) -> None:
    keys = [f"root/r/big/f{i:02d}" for i in range(30)] + ["root/r/small/x"]
    populate(s3_admin, driver.settings.bucket, keys)
    driver.list_page_size = 10
    counter = RequestCounter(driver.client)
    walked = [i.path for i in driver.walk("/r", prune=lambda info: info.path == "/r/big")]
    assert walked == ["/r/big", "/r/small", "/r/small/x"]
    assert counter.calls == {"ListObjectsV2": 2}  # without the jump: 4 pages
