"""The checks every driver's server-side ``copy_from`` must pass."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from distribution_storage.driver import StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.migrate.copy import CopiesFrom


def check_copy_from(
    source: StorageDriver,
    target: StorageDriver,
    blobs: Mapping[str, bytes],
    *,
    after_copies: Callable[[], None] | None = None,
) -> None:
    """Copy each of ``blobs`` (source path -> content, already stored in ``source``) to
    ``/copied<path>`` of ``target`` and check the outcome: each copy accepted and equal, the
    source unchanged and without the copies, a missing source path PathNotFoundError that
    leaves nothing at its destination. ``after_copies`` runs between the copies and the
    checks, to inspect the requests the copies alone made."""
    assert isinstance(target, CopiesFrom)
    for path in blobs:
        assert target.copy_from(source, path, f"/copied{path}") is True
    if after_copies is not None:
        after_copies()
    for path, data in blobs.items():
        assert target.get_content(f"/copied{path}") == data
        assert source.get_content(path) == data
        with pytest.raises(PathNotFoundError):
            source.stat(f"/copied{path}")  # written where the target stores, not the source
    with pytest.raises(PathNotFoundError):
        target.copy_from(source, "/no/such/blob", "/copied/missing")
    with pytest.raises(PathNotFoundError):
        target.stat("/copied/missing")
