"""The fixtures every conformance case uses: the driver, its options and a private prefix.

:class:`ConformanceBase` is the root of the case mixins. A driver's test class provides one
fixture, ``driver_factory`` (a zero-argument callable returning a *new* driver instance over
the same store at each call); the base builds ``driver`` from it behind the validating
wrapper, resolves ``suite`` (the effective :class:`SuiteOptions`) and gives each test a
unique random ``prefix`` to work under. After the test the prefix is deleted and the base
asserts that nothing the test wrote remains. Cases skip only through :func:`require`, which
names the missing :class:`Capability`.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest

from distribution_storage.conformance.options import SuiteOptions
from distribution_storage.driver.contract import Capability, StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.driver.wrapper import validated
from distribution_storage_pytest import quick_requested

DriverFactory = Callable[[], StorageDriver]
"""What a driver's test class provides: each call returns a new driver over the same store."""

PREFIX_STEM = "/conformance-"


def require(driver: StorageDriver, capability: Capability) -> None:
    """Skip the running case unless ``driver`` declares ``capability``."""
    if capability not in driver.capabilities:
        pytest.skip(f"driver declares no Capability.{capability.name}")


def skip_reason_capability(reason: str) -> str | None:
    """The capability name in a skip reason written by :func:`require`, else None."""
    marker = "driver declares no Capability."
    if marker not in reason:
        return None
    return reason.split(marker, 1)[1].split()[0].strip("'\")")


class ConformanceBase:
    """Fixtures shared by every conformance mixin; subclasses provide ``driver_factory``."""

    options: ClassVar[SuiteOptions] = SuiteOptions()
    """The suite's sizes and counts; a driver's test class may replace it."""

    @pytest.fixture
    def driver_factory(self) -> DriverFactory:
        """Override this fixture: return a callable making a new driver over the same store."""
        pytest.fail(
            f"{type(self).__name__} must define a driver_factory fixture returning a "
            "zero-argument callable that makes a new driver instance over the same store",
            pytrace=False,
        )

    @pytest.fixture
    def suite(self, request: pytest.FixtureRequest) -> SuiteOptions:
        """The effective options of this run (quick sizes when quick mode is asked for)."""
        return self.options.effective(quick_requested(request.config))

    @pytest.fixture
    def driver(self, driver_factory: DriverFactory) -> Iterator[StorageDriver]:
        """A new driver from the factory behind the validating wrapper; closed afterwards."""
        made = driver_factory()
        if not isinstance(made, StorageDriver):
            pytest.fail(
                f"driver_factory returned {type(made).__name__}, not a StorageDriver",
                pytrace=False,
            )
        wrapped = validated(made)
        yield wrapped
        wrapped.close()

    @pytest.fixture
    def prefix(self, driver: StorageDriver) -> Iterator[str]:
        """A unique random directory (``/conformance-<hex>``) that is gone after the test."""
        path = PREFIX_STEM + secrets.token_hex(8)
        with pytest.raises(PathNotFoundError):
            driver.stat(path)
        yield path
        remove_tree(driver, path)
        try:
            info = driver.stat(path)
        except PathNotFoundError:
            return
        pytest.fail(f"{path} still exists after the test deleted it: {info}", pytrace=False)


def remove_tree(driver: StorageDriver, path: str) -> None:
    """Delete ``path`` if it exists, and abort the upload debris a driver may keep below it."""
    if Capability.PENDING_UPLOADS in driver.capabilities:
        later = datetime.now(UTC) + timedelta(days=1)
        driver.abort_pending_uploads(path, older_than=later)
    with contextlib.suppress(PathNotFoundError):
        driver.delete(path)
