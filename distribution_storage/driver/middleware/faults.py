"""The ``faults`` storage middleware: injects failures, latency and short reads on purpose.

For testing what a tool does when its backend misbehaves -- ours, or a user's own set-up.
Options (all optional; from ``config.yml`` as strings or YAML values, or as keywords):

- ``verbs``: which operations are affected (default: all). Driver verbs by name
  (``get_content``, ``put_content``, ``reader``, ``writer``, ``stat``, ``list``, ``move``,
  ``delete``, ``walk``, ``copy``, ``delete_many``...) and the stream operations ``read``,
  ``write``, ``commit`` and ``close``.
- ``failrate``: the fraction of affected calls that fail at random (``seed`` makes it
  repeatable).
- ``failon``: fail exactly the Nth affected call (1-based); ``failafter``: fail every affected
  call after the first N, as a backend that goes away does.
- ``latency``: a Go duration (``50ms``) slept before each affected call.
- ``stallafter``: every affected call after the first N stalls for ``stall`` (a Go duration,
  default ``1h``) before it goes on, as a backend that stops answering does; closing the
  driver releases stalled calls. Each stall is logged as a warning (logger
  ``distribution_storage.faults``) as it begins, so a rehearsal shows when the backend went
  quiet.
- ``truncatereads``: readers end (without error) after this many bytes, as a connection cut
  short does.
- Listing faults, on ``walk`` and ``list`` (each a share between 0 and 1, drawn anew for
  every listing, so two listings of one prefix differ as they do on a flaky service):
  ``listingdrop`` drops that share of the entries; ``listingreorder`` swaps that share of
  entries with the one after it; ``listingendearly`` makes that share of listings end,
  without an error, after fewer than ``listingpage`` entries (a lost continuation token);
  ``listinglosepage`` loses that share of the pages of ``listingpage`` entries (default
  1000) from the middle of a listing. None of them raises: the listing just comes back
  wrong, and ``listing_faults`` counts how often.

An injected failure raises :class:`InjectedFaultError`, a :class:`StorageDriverError` that is
also a :class:`ConnectionError`, so code treats it like a transient backend failure.
"""

from __future__ import annotations

import builtins
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeVar

from distribution_storage.driver.contract import FileInfo, FileWriter, StorageDriver, WalkPrune
from distribution_storage.driver.delegating import DelegatingDriver
from distribution_storage.driver.errors import ConfigurationError, StorageDriverError
from distribution_storage.driver.paths import ROOT
from distribution_storage.driver.streams import ReadableStream
from distribution_storage.durations import parse_duration

T = TypeVar("T")
log = logging.getLogger("distribution_storage.faults")
_LISTING_OPTIONS = ("listingdrop", "listingreorder", "listingendearly", "listinglosepage")
_OPTIONS = (
    "verbs",
    "failrate",
    "failon",
    "failafter",
    "latency",
    "stallafter",
    "stall",
    "truncatereads",
    "seed",
    *_LISTING_OPTIONS,
    "listingpage",
)
E = TypeVar("E")


@dataclass(frozen=True)
class ListingFaults:
    """How listings come back wrong: each field a share between 0 and 1 (see the module)."""

    drop: float = 0.0
    reorder: float = 0.0
    end_early: float = 0.0
    lose_page: float = 0.0
    page: int = 1000

    def __post_init__(self) -> None:
        for name, key in zip(
            ("drop", "reorder", "end_early", "lose_page"), _LISTING_OPTIONS, strict=True
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigurationError("must lie between 0 and 1", key=f"faults.{key}")
        if self.page < 1:
            raise ConfigurationError("must be at least 1", key="faults.listingpage")

    def __bool__(self) -> bool:
        return any((self.drop, self.reorder, self.end_early, self.lose_page))


class InjectedFaultError(StorageDriverError, ConnectionError):
    """A failure the ``faults`` middleware injected on purpose."""

    def __init__(self, verb: str, path: str, call: int, *, driver: str = "") -> None:
        super().__init__(f"injected fault in {verb} {path} (affected call {call})", driver=driver)
        self.verb = verb
        self.path = path
        self.call = call


class FaultInjectingDriver(DelegatingDriver):
    """Forwards to ``inner``, failing, delaying or truncating the affected calls."""

    def __init__(
        self,
        inner: StorageDriver,
        *,
        verbs: Iterable[str] | None = None,
        fail_rate: float = 0.0,
        fail_on: int | None = None,
        fail_after: int | None = None,
        latency: float = 0.0,
        stall_after: int | None = None,
        stall: float = 3600.0,
        truncate_reads: int | None = None,
        listing: ListingFaults | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(inner)
        if not 0.0 <= fail_rate <= 1.0:
            raise ConfigurationError("must lie between 0 and 1", key="faults.failrate")
        self.verbs = frozenset(verbs) if verbs is not None else None
        self.fail_rate = fail_rate
        self.fail_on = fail_on
        self.fail_after = fail_after
        self.latency = latency
        self.stall_after = stall_after
        self.stall = stall
        self._released = threading.Event()
        self.truncate_reads = truncate_reads
        self.listing = listing if listing is not None else ListingFaults()
        self.listing_faults = 0
        """How many entries were dropped or swapped, and listings ended or pages lost."""
        self.calls = 0
        self.injected = 0
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def affects(self, verb: str) -> bool:
        """Tell whether calls of ``verb`` are subject to faults."""
        return self.verbs is None or verb in self.verbs

    def check(self, verb: str, path: str) -> None:
        """Count one call of ``verb`` and fail or delay it as configured."""
        if not self.affects(verb):
            return
        with self._lock:
            self.calls += 1
            call = self.calls
            fail = (
                (self.fail_on is not None and call == self.fail_on)
                or (self.fail_after is not None and call > self.fail_after)
                or (self.fail_rate > 0 and self._random.random() < self.fail_rate)
            )
            if fail:
                self.injected += 1
        if self.latency:
            time.sleep(self.latency)
        if self.stall_after is not None and call > self.stall_after:
            log.warning("faults: %s call %d (%s) stalls for %gs", verb, call, path, self.stall)
            self._released.wait(self.stall)
        if fail:
            raise InjectedFaultError(verb, path, call, driver=self.name)

    def _run(self, verb: str, path: str, action: Callable[[], T]) -> T:
        self.check(verb, path)
        return action()

    def get_content(self, path: str) -> bytes:
        return self._run("get_content", path, lambda: self.inner.get_content(path))

    def put_content(self, path: str, data: bytes) -> None:
        self._run("put_content", path, lambda: self.inner.put_content(path, data))

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        stream = self._run("reader", path, lambda: self.inner.reader(path, offset))
        return _FaultyReader(self, stream, path)  # type: ignore[return-value]

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        inner = self._run("writer", path, lambda: self.inner.writer(path, append=append))
        return _FaultyWriter(self, inner)

    def stat(self, path: str) -> FileInfo:
        return self._run("stat", path, lambda: self.inner.stat(path))

    def list(self, path: str) -> builtins.list[str]:
        listed = self._run("list", path, lambda: self.inner.list(path))
        return builtins.list(self._misreport("list", listed))

    def move(self, source: str, dest: str) -> None:
        self._run("move", source, lambda: self.inner.move(source, dest))

    def delete(self, path: str) -> None:
        self._run("delete", path, lambda: self.inner.delete(path))

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
        details: bool = True,
    ) -> Iterator[FileInfo]:
        self.check("walk", path)
        walk = self.inner.walk(path, start_after=start_after, prune=prune, details=details)
        return self._misreport("walk", walk)

    def close(self) -> None:
        """Release stalled calls, then close the driver below."""
        self._released.set()
        super().close()

    def _misreport(self, verb: str, entries: Iterable[E]) -> Iterator[E]:
        """``entries`` as a misbehaving backend lists them (see :class:`ListingFaults`)."""
        faults = self.listing
        if not faults or not self.affects(verb):
            yield from entries
            return
        with self._lock:  # each listing draws from its own stream, seeded from the driver's
            rng = random.Random(self._random.random())
        end_after = rng.randrange(faults.page) if rng.random() < faults.end_early else None
        held: E | None = None
        lost_page = False
        for index, entry in enumerate(entries):
            if end_after is not None and index >= end_after:
                self._count_fault()
                break
            if index % faults.page == 0:
                lost_page = index > 0 and rng.random() < faults.lose_page
                if lost_page:
                    self._count_fault()
            if lost_page:
                continue
            if rng.random() < faults.drop:
                self._count_fault()
                continue
            if held is not None:
                yield entry
                yield held
                held = None
            elif rng.random() < faults.reorder:
                self._count_fault()
                held = entry
            else:
                yield entry
        if held is not None:
            yield held

    def _count_fault(self) -> None:
        with self._lock:
            self.listing_faults += 1

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        paths = builtins.list(paths)
        return self._run("delete_many", ROOT, lambda: self.inner.delete_many(paths))

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        paths = builtins.list(paths)
        return self._run("delete_files", ROOT, lambda: self.inner.delete_files(paths))

    def copy(self, source: str, dest: str) -> None:
        self._run("copy", source, lambda: self.inner.copy(source, dest))


class _FaultyReader(ReadableStream):
    def __init__(self, faults: FaultInjectingDriver, stream: BinaryIO, path: str) -> None:
        super().__init__(stream)
        self._faults = faults
        self._path = path
        self._left = faults.truncate_reads

    def _read(self, size: int) -> bytes:
        self._faults.check("read", self._path)
        if self._left is not None:
            if self._left <= 0:
                return b""
            size = self._left if size < 0 else min(size, self._left)
        data = super()._read(size)
        if self._left is not None:
            self._left -= len(data)
        return data


class _FaultyWriter(FileWriter):
    def __init__(self, faults: FaultInjectingDriver, inner: FileWriter) -> None:
        super().__init__(inner.path)
        self._faults = faults
        self._inner = inner

    @property
    def size(self) -> int:
        return self._inner.size

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._faults.check("write", self.path)
        self._inner.write(data)

    def _close(self) -> None:
        self._faults.check("close", self.path)
        self._inner.close()

    def _commit(self) -> None:
        self._faults.check("commit", self.path)
        self._inner.commit()

    def _cancel(self) -> None:
        self._inner.cancel()


def _optional_int(options: Mapping[str, Any], key: str) -> int | None:
    value = options.get(key)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"must be an integer, not {value!r}", key=f"faults.{key}"
        ) from None


def create(inner: StorageDriver, options: Mapping[str, Any]) -> StorageDriver:
    """Build the middleware from its ``config.yml`` options (see the module docstring)."""
    unknown = set(options) - set(_OPTIONS)
    if unknown:
        raise ConfigurationError(
            f"unknown option {sorted(unknown)[0]!r} (takes {', '.join(_OPTIONS)})",
            key="middleware.storage.faults",
        )
    verbs = options.get("verbs")
    if isinstance(verbs, str):
        verbs = [verb.strip() for verb in verbs.split(",") if verb.strip()]
    fail_rate = _share(options, "failrate")
    return FaultInjectingDriver(
        inner,
        verbs=verbs,
        fail_rate=fail_rate,
        fail_on=_optional_int(options, "failon"),
        fail_after=_optional_int(options, "failafter"),
        latency=parse_duration(options.get("latency") or 0, key="faults.latency"),
        stall_after=_optional_int(options, "stallafter"),
        stall=parse_duration(options.get("stall") or "1h", key="faults.stall"),
        truncate_reads=_optional_int(options, "truncatereads"),
        listing=ListingFaults(
            drop=_share(options, "listingdrop"),
            reorder=_share(options, "listingreorder"),
            end_early=_share(options, "listingendearly"),
            lose_page=_share(options, "listinglosepage"),
            page=_optional_int(options, "listingpage") or 1000,
        ),
        seed=_optional_int(options, "seed"),
    )


def _share(options: Mapping[str, Any], key: str) -> float:
    try:
        return float(options.get(key) or 0.0)
    except (TypeError, ValueError):
        raise ConfigurationError("must be a number", key=f"faults.{key}") from None
