"""Telling whether two drivers lead to the same store, which a migration must refuse.

The same driver object, the same (or nested) filesystem roots, or, for the object stores,
the same endpoint or service, bucket or container, and root directory: copying such a store
onto itself would at best do nothing and, with ``delete_extraneous``, could delete data.
The attributes compared are read from the drivers below every wrapper.
"""

from __future__ import annotations

import os

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.drivers.filesystem import FilesystemDriver
from distribution_storage.migrate.copy import bottom
from distribution_storage.migrate.report import SameStoreError

STORE_IDENTITY: dict[str, tuple[str, ...]] = {
    "s3": (
        "settings.regionendpoint",
        "settings.region",
        "settings.bucket",
        "settings.rootdirectory",
    ),
    "gcs": ("parameters.bucket", "parameters.rootdirectory"),
    "azure": (
        "parameters.serviceurl",
        "parameters.accountname",
        "parameters.container",
        "parameters.rootdirectory",
    ),
    "swift": ("store.params.authurl", "store.container", "store.params.prefix"),
    "oss": ("params.endpoint_url", "params.bucket", "params.rootdirectory"),
}
"""The driver attributes that together name one store (endpoint, bucket, root), by driver."""


def _attribute(obj: object, dotted: str) -> object:
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj.strip("/") if isinstance(obj, str) else obj


def store_identity(driver: StorageDriver) -> tuple[object, ...] | None:
    """What names the store behind ``driver`` (service, bucket, root), or None if unknown."""
    fields = STORE_IDENTITY.get(driver.name)
    if fields is None:
        return None
    values = tuple(_attribute(driver, field) for field in fields)
    if driver.name == "s3" and values[0]:
        values = (values[0], None, *values[2:])  # an endpoint makes the region irrelevant
    return (driver.name, *values)


def check_distinct(source: StorageDriver, target: StorageDriver) -> None:
    """Raise :class:`SameStoreError` when both drivers lead to the same store."""
    src, dst = bottom(source), bottom(target)
    if src is dst:
        raise SameStoreError("source and target are the same store (the same driver)")
    if isinstance(src, FilesystemDriver) and isinstance(dst, FilesystemDriver):
        a, b = src.root, dst.root
        if a == b or a.startswith(b + os.sep) or b.startswith(a + os.sep):
            raise SameStoreError(
                f"source and target are the same filesystem store (or nested): {a} and {b}"
            )
        return
    identity = store_identity(src)
    if identity is not None and identity == store_identity(dst):
        raise SameStoreError(f"source and target are the same store: {src!r}")
