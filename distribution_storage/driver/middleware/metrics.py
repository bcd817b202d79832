"""The ``metrics`` storage middleware: counts and times the driver operations.

GC and migration report how many operations of each verb they issued, which is what costs
time and money on object stores. A ``walk`` counts once however many listing pages it takes;
the driver's own request count may be higher.

Configured in ``config.yml`` (``middleware: storage: - name: metrics``) and with the optional
``prometheus-client`` installed (``distribution-storage[metrics]``), every call is also
exported, in distribution's names, to prometheus-client's default registry, which the
embedding process serves as it serves its other metrics:

- ``registry_storage_action_seconds`` (histogram; labels ``driver``, ``action``): the time of
  each call, as distribution's storage driver base measures it; its ``_count`` is the number
  of calls. A ``walk`` is timed until its last entry is read (or the caller stops reading);
  ``reader`` and ``writer`` until the stream is open.
- ``registry_storage_action_errors_total`` (counter; labels ``driver``, ``action``,
  ``error``, the error's class name, e.g. ``PathNotFoundError``): the calls that raised.
"""

from __future__ import annotations

import builtins
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO, TypeVar

from distribution_storage.driver.contract import FileInfo, FileWriter, StorageDriver, WalkPrune
from distribution_storage.driver.delegating import DelegatingDriver
from distribution_storage.driver.errors import ConfigurationError
from distribution_storage.driver.paths import ROOT

T = TypeVar("T")


class CountingDriver(DelegatingDriver):
    """Forwards to ``inner`` and counts every call by verb (thread-safe)."""

    def __init__(self, inner: StorageDriver) -> None:
        super().__init__(inner)
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _tally(self, verb: str) -> None:
        with self._lock:
            self._counts[verb] += 1

    def _count(self, verb: str, action: Callable[[], T]) -> T:
        self._tally(verb)
        return action()

    def snapshot(self) -> dict[str, int]:
        """The counts so far, by verb."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def get_content(self, path: str) -> bytes:
        return self._count("get_content", lambda: self.inner.get_content(path))

    def put_content(self, path: str, data: bytes) -> None:
        self._count("put_content", lambda: self.inner.put_content(path, data))

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        return self._count("reader", lambda: self.inner.reader(path, offset))

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        return self._count("writer", lambda: self.inner.writer(path, append=append))

    def stat(self, path: str) -> FileInfo:
        return self._count("stat", lambda: self.inner.stat(path))

    def list(self, path: str) -> builtins.list[str]:
        return self._count("list", lambda: self.inner.list(path))

    def move(self, source: str, dest: str) -> None:
        self._count("move", lambda: self.inner.move(source, dest))

    def delete(self, path: str) -> None:
        self._count("delete", lambda: self.inner.delete(path))

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
        details: bool = True,
    ) -> Iterator[FileInfo]:
        return self._count(
            "walk",
            lambda: self.inner.walk(path, start_after=start_after, prune=prune, details=details),
        )

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        return self._count("delete_many", lambda: self.inner.delete_many(paths))

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        return self._count("delete_files", lambda: self.inner.delete_files(paths))

    def copy(self, source: str, dest: str) -> None:
        self._count("copy", lambda: self.inner.copy(source, dest))


class _Exported:
    """The Prometheus metrics, made once per process in the default registry."""

    _lock = threading.Lock()
    _made: _Exported | None = None

    def __init__(self) -> None:
        from prometheus_client import Counter as PrometheusCounter
        from prometheus_client import Histogram

        self.seconds = Histogram(
            "registry_storage_action_seconds",
            "The number of seconds that the storage action takes",
            ["driver", "action"],
        )
        self.errors = PrometheusCounter(
            "registry_storage_action_errors",
            "The number of storage actions that raised an error",
            ["driver", "action", "error"],
        )

    @classmethod
    def get(cls) -> _Exported:
        """The process's metrics."""
        with cls._lock:
            if cls._made is None:
                cls._made = cls()
            return cls._made


class PrometheusDriver(CountingDriver):
    """A :class:`CountingDriver` that also exports each call's time and errors."""

    def __init__(self, inner: StorageDriver) -> None:
        super().__init__(inner)
        self._exported = _Exported.get()

    def _count(self, verb: str, action: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return super()._count(verb, action)
        except BaseException as exc:
            self._exported.errors.labels(self.name, verb, type(exc).__name__).inc()
            raise
        finally:
            self._exported.seconds.labels(self.name, verb).observe(time.perf_counter() - started)

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
        details: bool = True,
    ) -> Iterator[FileInfo]:
        self._tally("walk")
        started = time.perf_counter()
        try:
            yield from self.inner.walk(path, start_after=start_after, prune=prune, details=details)
        except BaseException as exc:
            if not isinstance(exc, GeneratorExit):
                self._exported.errors.labels(self.name, "walk", type(exc).__name__).inc()
            raise
        finally:
            self._exported.seconds.labels(self.name, "walk").observe(time.perf_counter() - started)


def prometheus_available() -> bool:
    """Tell whether ``prometheus-client`` is installed."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


def create(inner: StorageDriver, options: Mapping[str, Any]) -> StorageDriver:
    """Build the middleware; it takes no options. It exports to Prometheus where
    ``prometheus-client`` is installed, and only counts otherwise."""
    if options:
        raise ConfigurationError("takes no options", key="middleware.storage.metrics")
    return PrometheusDriver(inner) if prometheus_available() else CountingDriver(inner)
