"""The storage driver contract: verbs, writers, file info, errors, path rules, the wrapper.

Everything a backend author or a caller of drivers needs: subclass :class:`StorageDriver`,
raise the errors defined here, and let :func:`validated` (applied by ``open_driver``) check
arguments and name the driver in every error.
"""

from distribution_storage.driver.contract import (
    Capability,
    FileInfo,
    FileWriter,
    StorageDriver,
    WalkPrune,
)
from distribution_storage.driver.delegating import DelegatingDriver
from distribution_storage.driver.errors import (
    ConfigurationError,
    InvalidOffsetError,
    InvalidPathError,
    ListingInconsistentError,
    PathNotFoundError,
    StorageDriverError,
    UnknownDriverError,
    UnsupportedMethodError,
    WriterClosedError,
)
from distribution_storage.driver.parameters import ParameterReader
from distribution_storage.driver.paths import ROOT, check_path
from distribution_storage.driver.wrapper import ValidatingDriver, validated

__all__ = [
    "ROOT",
    "Capability",
    "ConfigurationError",
    "DelegatingDriver",
    "FileInfo",
    "FileWriter",
    "InvalidOffsetError",
    "InvalidPathError",
    "ListingInconsistentError",
    "ParameterReader",
    "PathNotFoundError",
    "StorageDriver",
    "StorageDriverError",
    "UnknownDriverError",
    "UnsupportedMethodError",
    "ValidatingDriver",
    "WalkPrune",
    "WriterClosedError",
    "check_path",
    "validated",
]
