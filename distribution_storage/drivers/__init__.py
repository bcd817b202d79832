"""The driver factory: storage drivers registered by name, built-in or from entry points.

Built-in drivers are named here with the module that holds them, so that a cloud SDK is
imported only when its driver is asked for. Third-party packages add drivers through the
entry-point group ``distribution_storage.drivers`` (``name = "package.module:DriverClass"``).
:func:`open_driver` builds a driver from its parameters and puts it behind the validating
wrapper; an unknown name is an error that lists the known ones, never a silent fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import (
    ConfigurationError,
    StorageDriverError,
    UnknownDriverError,
)
from distribution_storage.driver.wrapper import validated

ENTRY_POINT_GROUP = "distribution_storage.drivers"

BUILTIN_DRIVERS: Mapping[str, tuple[str, str, str]] = {
    # name: (module, class, the extra that installs its SDK)
    "filesystem": ("distribution_storage.drivers.filesystem", "FilesystemDriver", ""),
    "inmemory": ("distribution_storage.drivers.inmemory", "InMemoryDriver", ""),
    "s3": ("distribution_storage.drivers.s3", "S3Driver", "s3"),
    "s3aws": ("distribution_storage.drivers.s3", "S3Driver", "s3"),
    "gcs": ("distribution_storage.drivers.gcs", "GCSDriver", "gcs"),
    "azure": ("distribution_storage.drivers.azure", "AzureDriver", "azure"),
    "swift": ("distribution_storage.drivers.swift", "SwiftDriver", "swift"),
    "oss": ("distribution_storage.drivers.oss", "OSSDriver", "oss"),
}


def known_drivers() -> list[str]:
    """The names of every driver that can be opened: built-in and from entry points."""
    names = set(BUILTIN_DRIVERS)
    names.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)


def driver_class(name: str) -> type[StorageDriver]:
    """The driver class registered under ``name``."""
    key = name.lower()
    if key in BUILTIN_DRIVERS:
        module_name, class_name, extra = BUILTIN_DRIVERS[key]
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                raise
            hint = f"pip install 'distribution-storage[{extra}]'" if extra else "reinstall"
            raise ConfigurationError(
                f"the {key} driver needs the package {exc.name!r}: {hint}"
            ) from exc
        cls: type[StorageDriver] = getattr(module, class_name)
        return cls
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == key:
            loaded = ep.load()
            if not (isinstance(loaded, type) and issubclass(loaded, StorageDriver)):
                raise ConfigurationError(
                    f"entry point {ep.value!r} for driver {key!r} is not a StorageDriver class"
                )
            return loaded
    raise UnknownDriverError(name, known_drivers())


def open_driver(name: str, **parameters: Any) -> StorageDriver:
    """Build the driver ``name`` from its distribution parameters, behind the wrapper.

    >>> driver = open_driver("inmemory")
    >>> driver.put_content("/hello", b"world")
    """
    return open_driver_from_parameters(name, parameters)


def open_driver_from_parameters(name: str, parameters: Mapping[str, Any]) -> StorageDriver:
    """Like :func:`open_driver`, with the parameters as a mapping (as a config holds them).

    Whatever building the driver raises becomes a :class:`StorageDriverError` naming the
    driver, with every value of a credential-like parameter scrubbed from its message.
    """
    cls = driver_class(name)
    try:
        driver = cls.from_parameters(parameters)
    except StorageDriverError as exc:
        exc.driver = exc.driver or cls.name or name
        exc.detail = _scrub(exc.detail, parameters)
        exc.args = (exc.detail,)
        raise
    except Exception as exc:  # an SDK refusing its arguments: still one clear line
        detail = _scrub(f"cannot open the driver: {type(exc).__name__}: {exc}", parameters)
        raise ConfigurationError(detail, driver=cls.name or name) from exc
    return validated(driver)


_SECRET_WORDS = ("secret", "password", "key", "token", "credential", "private")


def _secret_values(parameters: Mapping[str, Any], sensitive: bool = False) -> list[str]:
    values: list[str] = []
    for key, value in parameters.items():
        marked = sensitive or any(word in str(key).lower() for word in _SECRET_WORDS)
        if isinstance(value, Mapping):
            values += _secret_values(value, marked)
        elif marked and isinstance(value, str) and len(value) >= 4:
            values.append(value)
    return values


def _scrub(text: str, parameters: Mapping[str, Any]) -> str:
    for secret in sorted(_secret_values(parameters), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
