"""distribution-storage: the storage layer of a container registry, for Python.

Drivers for seven backends behind one contract, distribution's on-storage layout (the
:class:`Registry` a Python registry embeds), and the tools operators run offline:
:func:`collect_garbage`, :func:`fsck`, :func:`migrate`. Start with :func:`open_driver`, or with
``distribution_storage.config.open_storage`` for a distribution ``config.yml``.
"""

from distribution_storage.driver import (
    Capability,
    ConfigurationError,
    FileInfo,
    FileWriter,
    InvalidOffsetError,
    InvalidPathError,
    ListingInconsistentError,
    PathNotFoundError,
    StorageDriver,
    StorageDriverError,
    UnknownDriverError,
    UnsupportedMethodError,
    WriterClosedError,
)
from distribution_storage.drivers import known_drivers, open_driver
from distribution_storage.fsck import FsckReport, fsck
from distribution_storage.gc import GarbageCollectionError, GCReport, collect_garbage
from distribution_storage.migrate import MigrationReport, migrate
from distribution_storage.registry import Registry, RegistryError, Repository

__version__ = "0.1.0"

__all__ = [
    "Capability",
    "ConfigurationError",
    "FileInfo",
    "FileWriter",
    "FsckReport",
    "GCReport",
    "GarbageCollectionError",
    "InvalidOffsetError",
    "InvalidPathError",
    "ListingInconsistentError",
    "MigrationReport",
    "PathNotFoundError",
    "Registry",
    "RegistryError",
    "Repository",
    "StorageDriver",
    "StorageDriverError",
    "UnknownDriverError",
    "UnsupportedMethodError",
    "WriterClosedError",
    "collect_garbage",
    "fsck",
    "known_drivers",
    "migrate",
    "open_driver",
]
