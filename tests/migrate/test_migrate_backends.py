"""Migrations within one object-store service and its failures: a store copied between two
buckets of the same service (server-side), an unreachable source bucket, the same bucket
given twice; and a target that never stages blobs is not swept for a staging area.
Migrations between different backends are in ``test_migrate_pairs``."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from migrate_support import fill, tree
from support.backends import Service

from distribution_storage.driver import StorageDriver
from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.layout import ROOT
from distribution_storage.migrate import MigrationError, SameStoreError, migrate
from distribution_storage.migrate.copy import PUBLISH_ON_COMMIT, STAGING_ROOT, bottom
from distribution_storage.migrate.identity import store_identity

Factory = Callable[[str], StorageDriver]
SERVICES = ("s3", "gcs", "azure", "swift", "oss")


@pytest.mark.parametrize("name", SERVICES)
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


@pytest.mark.parametrize("name", sorted(PUBLISH_ON_COMMIT & set(SERVICES)))
def test_a_target_that_publishes_on_commit_is_not_swept_for_staging(
    open_service: Factory, fs_store: Factory, name: str
) -> None:
    source, target = fs_store("a"), open_service(name)
    fill(source)
    report = migrate(source, target, workers=4)
    assert report.failed == 0 and report.copied > 0
    # Blobs went straight to their final paths, so there is no staging area to list.
    assert "delete" not in report.operations["target"]
    assert tree(target, STAGING_ROOT) == {}


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


@pytest.mark.parametrize("name", SERVICES)
def test_the_same_bucket_through_two_drivers_is_refused(open_service: Factory, name: str) -> None:
    driver = open_service(name)
    twin = copy.copy(bottom(driver))  # another instance over the same bucket and root
    identity = store_identity(bottom(driver))
    assert identity is not None and sum(v is not None for v in identity) >= 3
    assert identity != store_identity(bottom(open_service(name)))  # another bucket differs
    with pytest.raises(SameStoreError, match="same store"):
        migrate(driver, twin)
