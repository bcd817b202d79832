"""The Dynamic Large Objects of distribution's former swift driver, against a real Swift.

That driver wrote every large file as a DLO: segments ``<prefix>/segments/<3 hex>/<61 hex>/
<16-digit n>`` and an empty manifest object at the file's name whose ``X-Object-Manifest``
names ``<container>/<that segment prefix>``; moving a file re-created its manifest at the new
name, and deleting one deleted its segments. A store it wrote must not leak those segments
here either: deleting, overwriting or moving such a file takes its segments along, and a
manifest naming segments that are not one upload's of this store leaves them alone.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from urllib.parse import quote

import pytest

from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.drivers.swift import SwiftDriver

MakeDriver = Callable[..., SwiftDriver]
CHUNK = 1000


def legacy_segments_prefix(driver: SwiftDriver, path: str) -> str:
    """Where the former driver put a file's segments: a random hex name split after 3."""
    name = hashlib.sha256(path.encode() + os.urandom(8)).hexdigest()
    return f"{driver.store.base}segments/{name[:3]}/{name[3:]}"


def write_legacy_dlo(
    driver: SwiftDriver, path: str, data: bytes, *, manifest: str | None = None
) -> list[str]:
    """Store ``data`` at ``path`` as the former driver did; returns the segment names.

    ``manifest`` overrides the ``X-Object-Manifest`` value (the segments are still written
    under the file's own prefix).
    """
    store = driver.store
    prefix = legacy_segments_prefix(driver, path)
    names = []
    for number, start in enumerate(range(0, len(data), CHUNK), 1):
        name = f"{prefix}/{number:016d}"
        store.conn.put_object(store.container, name, data[start : start + CHUNK])
        names.append(name)
    header = manifest if manifest is not None else quote(f"{store.container}/{prefix}")
    store.conn.put_object(
        store.container, store.files_key(path), b"", headers={"X-Object-Manifest": header}
    )
    return names


def stored(driver: SwiftDriver) -> set[str]:
    """Every object in the driver's container."""
    return set(driver.walk_keys())


@pytest.fixture
def driver(make_swift_driver: MakeDriver) -> SwiftDriver:
    """A driver on a fresh container, under a prefix (so names carry the store's base)."""
    return make_swift_driver(prefix="/legacy")


DATA = bytes(range(256)) * 10  # 2,560 bytes: three segments of 1,000


def test_a_legacy_dlo_reads_as_its_segments_in_order(driver: SwiftDriver) -> None:
    write_legacy_dlo(driver, "/blobs/a/data", DATA)
    assert driver.get_content("/blobs/a/data") == DATA
    assert driver.stat("/blobs/a/data").size == len(DATA)


def test_delete_removes_a_legacy_dlo_with_its_segments_and_nothing_else(
    driver: SwiftDriver,
) -> None:
    segments = write_legacy_dlo(driver, "/blobs/a/data", DATA)
    other = write_legacy_dlo(driver, "/blobs/b/data", DATA[:1500])
    driver.put_content("/blobs/c/data", b"plain")
    before = stored(driver)
    driver.delete("/blobs/a/data")
    removed = before - stored(driver)
    assert removed == {driver.store.files_key("/blobs/a/data"), *segments}
    assert driver.get_content("/blobs/b/data") == DATA[:1500]
    assert set(other) <= stored(driver)


def test_deleting_a_directory_removes_the_segments_of_legacy_dlos_below_it(
    driver: SwiftDriver,
) -> None:
    first = write_legacy_dlo(driver, "/repo/x/one", DATA)
    second = write_legacy_dlo(driver, "/repo/x/deeper/two", DATA[:10])
    driver.put_content("/repo/x/empty", b"")  # an empty plain file is no DLO
    kept = write_legacy_dlo(driver, "/repo/y/three", DATA)
    driver.delete("/repo/x")
    left = stored(driver)
    assert not (set(first) | set(second)) & left
    assert set(kept) <= left
    assert not [k for k in left if k.startswith(driver.store.files_key("/repo/x"))]
    with pytest.raises(PathNotFoundError):
        driver.stat("/repo/x/empty")


def test_delete_files_removes_legacy_dlo_segments(driver: SwiftDriver) -> None:
    first = write_legacy_dlo(driver, "/blobs/a/data", DATA)
    second = write_legacy_dlo(driver, "/blobs/b/data", DATA)
    missing = driver.delete_files(["/blobs/a/data", "/blobs/b/data", "/blobs/gone/data"])
    assert missing == ["/blobs/gone/data"]
    assert stored(driver) & (set(first) | set(second)) == set()


def test_overwriting_a_legacy_dlo_removes_its_old_segments(driver: SwiftDriver) -> None:
    segments = write_legacy_dlo(driver, "/uploads/startedat", DATA)
    driver.put_content("/uploads/startedat", b"new content")
    assert driver.get_content("/uploads/startedat") == b"new content"
    assert not set(segments) & stored(driver)


def test_moving_a_legacy_dlo_moves_its_manifest_and_keeps_its_segments(
    driver: SwiftDriver,
) -> None:
    segments = write_legacy_dlo(driver, "/uploads/u1/data", DATA)
    driver.move("/uploads/u1/data", "/blobs/sha/data")
    with pytest.raises(PathNotFoundError):
        driver.stat("/uploads/u1/data")
    assert driver.get_content("/blobs/sha/data") == DATA
    assert set(segments) <= stored(driver)
    head = driver.store.head(driver.store.files_key("/blobs/sha/data"))
    assert head is not None and head.get("x-object-manifest")  # still a DLO: nothing copied
    driver.delete("/blobs/sha/data")
    assert not set(segments) & stored(driver)


@pytest.mark.parametrize(
    "manifest",
    [
        pytest.param("{container}-other/legacy/segments/abc/def", id="another-container"),
        pytest.param("{container}/legacy/segments/", id="all-segments"),
        pytest.param("{container}/legacy/segments/abc", id="one-level"),
        pytest.param("{container}/legacy/files/blobs", id="outside-segments"),
    ],
)
def test_a_dlo_naming_segments_it_cannot_own_leaves_them_alone(
    driver: SwiftDriver, manifest: str
) -> None:
    conn, container = driver.store.conn, driver.store.container
    other = f"{container}-other"
    conn.put_container(other)
    conn.put_object(other, "legacy/segments/abc/def/0000000000000001", b"not ours")
    segments = write_legacy_dlo(driver, "/blobs/a/data", DATA)
    bystander = write_legacy_dlo(driver, "/blobs/b/data", DATA)
    driver.put_content("/blobs/c/data", b"plain file")
    wide = write_legacy_dlo(
        driver, "/blobs/d/data", DATA, manifest=manifest.format(container=container)
    )
    driver.delete("/blobs/d/data")
    left = stored(driver)
    assert driver.store.files_key("/blobs/d/data") not in left
    assert set(segments) | set(bystander) | set(wide) <= left
    assert driver.get_content("/blobs/c/data") == b"plain file"
    assert [o["name"] for o in conn.get_container(other)[1]] == [
        "legacy/segments/abc/def/0000000000000001"
    ]
