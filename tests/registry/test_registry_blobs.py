"""Blobs: the global store, each repository's links, mount, delete, enumeration."""

from __future__ import annotations

import pytest
from support.manifests import push_blob

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.layout import Digest, blob_data_path, layer_link_path
from distribution_storage.registry import BlobUnknownError, Registry


def test_committed_blob_is_linked_and_readable(registry: Registry, driver: StorageDriver) -> None:
    repo = registry.repository("app")
    data = bytes(range(256)) * 40
    digest = push_blob(repo, data)
    assert repo.blobs.stat(digest).size == len(data)
    assert registry.blobs.stat(digest).size == len(data)
    with repo.blobs.open(digest) as stream:
        assert stream.read() == data
    with repo.blobs.open(digest, offset=1000) as stream:
        assert stream.read() == data[1000:]
    assert driver.get_content(blob_data_path(digest)) == data


def test_link_file_holds_the_digest_without_newline(
    registry: Registry, driver: StorageDriver
) -> None:
    repo = registry.repository("app")
    digest = push_blob(repo, b"layer")
    assert driver.get_content(layer_link_path("app", digest)) == str(digest).encode()


def test_blob_is_invisible_in_a_repository_without_a_link(registry: Registry) -> None:
    digest = push_blob(registry.repository("one"), b"shared")
    other = registry.repository("two")
    with pytest.raises(BlobUnknownError) as info:
        other.blobs.stat(digest)
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(BlobUnknownError):
        other.blobs.open(digest)


def test_delete_unlinks_only_this_repository(registry: Registry, driver: StorageDriver) -> None:
    one, two = registry.repository("one"), registry.repository("two")
    digest = push_blob(one, b"shared")
    two.mount_blob(digest, "one")
    two.blobs.delete(digest)
    assert not two.blobs.exists(digest)
    assert one.blobs.exists(digest)
    assert registry.blobs.exists(digest)
    with pytest.raises(BlobUnknownError):
        two.blobs.delete(digest)


def test_mount_links_without_copying(registry: Registry, driver: StorageDriver) -> None:
    digest = push_blob(registry.repository("src"), b"mount me")
    descriptor = registry.repository("dst").mount_blob(digest, "src")
    assert descriptor.size == len(b"mount me")
    assert registry.repository("dst").blobs.stat(digest).size == 8
    assert [b.digest for b in registry.blobs] == [digest]


def test_mount_of_a_blob_the_source_lacks_fails(registry: Registry) -> None:
    digest = Digest.of(b"nowhere")
    with pytest.raises(BlobUnknownError):
        registry.repository("dst").mount_blob(digest, "src")
    assert not registry.repository("dst").blobs.exists(digest)


def test_link_to_missing_data_is_unknown(registry: Registry, driver: StorageDriver) -> None:
    repo = registry.repository("app")
    digest = push_blob(repo, b"gone")
    driver.delete(blob_data_path(digest))
    with pytest.raises(BlobUnknownError):
        repo.blobs.stat(digest)


def test_redirect_url_comes_from_the_driver(registry: Registry) -> None:
    repo = registry.repository("app")
    digest = push_blob(repo, b"data")
    assert repo.blobs.redirect_url(digest) is None
    with pytest.raises(BlobUnknownError):
        repo.blobs.redirect_url(Digest.of(b"other"))


def test_enumeration_lists_blobs_with_sizes_and_links(registry: Registry) -> None:
    repo = registry.repository("app")
    digests = {push_blob(repo, f"blob {i}".encode() * (i + 1)): 6 * (i + 1) for i in range(5)}
    assert {b.digest: b.size for b in registry.blobs} == digests
    assert sorted(repo.blobs) == sorted(digests)
    assert list(registry.repository("empty").blobs) == []


def test_enumeration_of_an_empty_store_is_empty(registry: Registry) -> None:
    assert list(registry.blobs) == []
    assert registry.catalog() == []
