"""distribution-storage: the storage layer of a container registry, for Python.

Drivers for seven backends behind one contract, distribution's on-storage layout, and the
tools operators run offline. Start with :func:`open_driver` (or :func:`open_storage` for a
distribution ``config.yml``).
"""

from distribution_storage.driver import (
    Capability,
    ConfigurationError,
    FileInfo,
    FileWriter,
    InvalidOffsetError,
    InvalidPathError,
    PathNotFoundError,
    StorageDriver,
    StorageDriverError,
    UnknownDriverError,
    UnsupportedMethodError,
    WriterClosedError,
)
from distribution_storage.drivers import known_drivers, open_driver

__version__ = "0.1.0"

__all__ = [
    "Capability",
    "ConfigurationError",
    "FileInfo",
    "FileWriter",
    "InvalidOffsetError",
    "InvalidPathError",
    "PathNotFoundError",
    "StorageDriver",
    "StorageDriverError",
    "UnknownDriverError",
    "UnsupportedMethodError",
    "WriterClosedError",
    "known_drivers",
    "open_driver",
]
