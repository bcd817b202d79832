"""The errors every storage driver raises.

One base class, :class:`StorageDriverError`, carries the name of the driver that failed; the
typed errors also subclass the matching builtin, so ordinary Python code can catch a missing
path as :class:`FileNotFoundError` without importing this package. Drivers raise these with
an empty driver name; the validating wrapper (:mod:`distribution_storage.driver.wrapper`)
fills it in, so every message that reaches a caller names the driver.
"""

from __future__ import annotations

from typing import Any


class StorageDriverError(Exception):
    """Base class of every error a storage driver raises.

    ``driver`` is the registered name of the driver (filled in by the validating wrapper when
    the driver itself left it empty) and ``detail`` the cause in words. Any backend failure
    that has no typed error is raised as this class, with the original exception as its
    ``__cause__``.
    """

    def __init__(self, detail: str, *, driver: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.driver = driver

    def __str__(self) -> str:
        return f"{self.driver}: {self.detail}" if self.driver else self.detail

    def __reduce__(self) -> tuple[Any, ...]:
        # The typed errors take other arguments than their message, so pickle's default
        # (calling the class with ``args``) would rebuild them wrongly: restore the state.
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[StorageDriverError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """An error of ``cls`` with ``args`` and attributes ``state``, without its ``__init__``
    (for pickle: errors cross into other processes, e.g. with :mod:`multiprocessing`)."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class PathNotFoundError(StorageDriverError, FileNotFoundError):
    """The path does not exist in the storage."""

    def __init__(self, path: str, *, driver: str = "") -> None:
        super().__init__(f"path not found: {path}", driver=driver)
        self.path = path


class InvalidPathError(StorageDriverError, ValueError):
    """The path breaks the path rules of the driver contract."""

    def __init__(self, path: str, *, driver: str = "", reason: str = "") -> None:
        why = f" ({reason})" if reason else ""
        super().__init__(f"invalid path: {path!r}{why}", driver=driver)
        self.path = path


class InvalidOffsetError(StorageDriverError, ValueError):
    """A read was asked to start at a negative offset."""

    def __init__(self, path: str, offset: int, *, driver: str = "") -> None:
        super().__init__(f"invalid offset {offset} for path {path}", driver=driver)
        self.path = path
        self.offset = offset


class UnsupportedMethodError(StorageDriverError, NotImplementedError):
    """The backend cannot perform this verb."""

    def __init__(self, method: str, *, driver: str = "") -> None:
        super().__init__(f"unsupported method: {method}", driver=driver)
        self.method = method


class WriterClosedError(StorageDriverError, ValueError):
    """A file writer was used after it was closed, committed or cancelled."""

    def __init__(self, path: str, state: str, *, driver: str = "") -> None:
        super().__init__(f"writer for {path} is already {state}", driver=driver)
        self.path = path
        self.state = state


class ListingInconsistentError(StorageDriverError, RuntimeError):
    """A listing did not add up: keys out of order, a page that does not continue where the
    last ended, or two views of one prefix that disagree about what it holds.

    Raised instead of trusting the listing: a tool that would delete, or report a store
    whole or a copy complete, on the strength of it stops, naming ``prefix``.
    """

    def __init__(self, prefix: str, detail: str, *, driver: str = "") -> None:
        super().__init__(f"listing of {prefix} does not add up: {detail}", driver=driver)
        self.prefix = prefix


class ConfigurationError(StorageDriverError, ValueError):
    """A configuration or driver parameter is missing or wrong; ``key`` names the culprit."""

    def __init__(self, detail: str, *, key: str = "", driver: str = "") -> None:
        super().__init__(f"{key}: {detail}" if key else detail, driver=driver)
        self.key = key


class UnknownDriverError(ConfigurationError, LookupError):
    """No driver is registered under the requested name."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"unknown storage driver {name!r}; known drivers: {', '.join(sorted(known))}"
        )
        self.name = name
        self.known = sorted(known)
