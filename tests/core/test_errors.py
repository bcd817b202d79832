"""The driver errors: typed, and intact after pickling (they cross into other processes)."""

from __future__ import annotations

import pickle

import pytest

from distribution_storage.driver.errors import (
    ConfigurationError,
    InvalidOffsetError,
    InvalidPathError,
    PathNotFoundError,
    StorageDriverError,
    UnknownDriverError,
    UnsupportedMethodError,
    WriterClosedError,
)
from distribution_storage.drivers.filesystem import OutsideRootError
from distribution_storage.gc import GarbageCollectionError
from distribution_storage.inventory import NotARegistryStoreError
from distribution_storage.migrate.report import MigrationError


@pytest.mark.parametrize(
    "error",
    [
        StorageDriverError("backend said no", driver="s3"),
        PathNotFoundError("/a/b", driver="gcs"),
        InvalidPathError("a//b", reason="empty component"),
        InvalidOffsetError("/a", -1),
        UnsupportedMethodError("redirect_url"),
        WriterClosedError("/a", "committed"),
        ConfigurationError("must be a number", key="storage.s3.chunksize"),
        UnknownDriverError("nope", ["s3", "gcs"]),
        OutsideRootError("/link/secret"),
        NotARegistryStoreError("filesystem"),
        GarbageCollectionError("cannot parse", repository="app", digest="sha256:ab"),
        MigrationError("the source holds no registry data"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_typed_error_survives_pickling(error: StorageDriverError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert copy.__dict__ == error.__dict__


def test_a_pickled_path_not_found_is_still_a_file_not_found_error() -> None:
    copy = pickle.loads(pickle.dumps(PathNotFoundError("/x", driver="azure")))
    with pytest.raises(FileNotFoundError, match="azure: path not found: /x"):
        raise copy
