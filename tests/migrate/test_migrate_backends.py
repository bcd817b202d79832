"""Round trips through every backend: a store hops filesystem -> S3 -> GCS -> Azure -> Swift
-> OSS -> filesystem (each backend once as target, once as source), and S3 -> S3 across
buckets; after every hop the target's tree equals the original byte for byte, and (on most
hops) a second run copies nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from migrate_backends import Service
from migrate_support import check_consistent, fill, tree

from distribution_storage.driver import StorageDriver
from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.layout import ROOT
from distribution_storage.migrate import MigrationError, SameStoreError, migrate
from distribution_storage.migrate.copy import bottom
from distribution_storage.migrate.identity import store_identity

Factory = Callable[[str], StorageDriver]
CHAIN = ("s3", "gcs", "azure", "swift", "oss")
SECOND_RUN = ("s3", "gcs", "azure", "filesystem")
"""Hops checked with a second run too (the local Swift and fake OSS are slow to read)."""


def test_a_store_through_every_backend(fs_store: Factory, open_service: Factory) -> None:
    source = fs_store("origin")
    fill(source, big=6 * 2**20 + 5)  # past the drivers' chunk sizes: multipart paths too
    expected = tree(source, ROOT)
    current = source
    for name in (*CHAIN, "filesystem"):
        target = fs_store("final") if name == "filesystem" else open_service(name)
        report = migrate(current, target, include_uploads=True)
        assert report.failed == 0, (name, report.failures)
        assert tree(target, ROOT) == expected, name
        if name in SECOND_RUN:
            again = migrate(current, target, include_uploads=True)
            assert (again.copied, again.skipped) == (0, report.copied), name
        check_consistent(target)
        current = target


@pytest.mark.parametrize("name", ["s3", "gcs", "azure", "swift", "oss"])
def test_one_service_across_buckets(open_service: Factory, name: str) -> None:
    source, target = open_service(name), open_service(name)
    fill(source)
    report = migrate(source, target, workers=4)
    assert report.failed == 0 and report.copied > 0
    assert tree(target, ROOT) == {
        path: data for path, data in tree(source, ROOT).items() if "/_uploads/" not in path
    }
    # One endpoint, one account: every blob was copied inside the service, none streamed.
    assert report.server_side_copies == report.copied_by_kind["blob"] > 0


def test_an_unreachable_source_bucket_is_an_error_not_an_empty_store(
    services: dict[str, Service], fs_store: Factory
) -> None:
    open_missing = services["s3"].open_missing
    assert open_missing is not None
    missing = open_missing()
    with pytest.raises(StorageDriverError) as caught:
        migrate(missing, fs_store("b"), delete_extraneous=True)
    assert not isinstance(caught.value, MigrationError)
    assert "migrate-secret" not in str(caught.value)
    assert "NoSuchBucket" in str(caught.value) or "bucket" in str(caught.value).lower()


@pytest.mark.parametrize("name", CHAIN)
def test_the_same_bucket_through_two_drivers_is_refused(open_service: Factory, name: str) -> None:
    driver = open_service(name)
    twin = copy.copy(bottom(driver))  # another instance over the same bucket and root
    identity = store_identity(bottom(driver))
    assert identity is not None and sum(v is not None for v in identity) >= 3
    assert identity != store_identity(bottom(open_service(name)))  # another bucket differs
    with pytest.raises(SameStoreError, match="same store"):
        migrate(driver, twin)
