"""Decide an interleaving instead of waiting for it: a driver that holds a chosen call.

:class:`PausingDriver` forwards every verb to the driver it wraps. A test asks it to
:meth:`~PausingDriver.pause` the Nth call of some verbs (optionally only on matching paths);
the thread making that call stops before it reaches the backend, the test learns so from
:meth:`Pause.wait_until_reached`, does what must happen at that moment, and lets the call go
with :meth:`Pause.release`. With ``hold=True`` every later matching call, on any thread, stops
too, and the pause counts as reached only once no matching call is still under way -- so a
phase running on a thread pool is stopped as a whole.

:class:`InThread` runs a call on another thread and hands back its result or exception.

Every wait here has a generous limit that only guards against a deadlock: it fails the test
with a message naming what never happened, and never decides an outcome.
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from types import TracebackType
from typing import Any, BinaryIO, Generic, TypeVar

from distribution_storage.driver import DelegatingDriver, StorageDriver
from distribution_storage.driver.contract import FileInfo, FileWriter, WalkPrune
from distribution_storage.driver.paths import ROOT

T = TypeVar("T")

DEADLOCK_GUARD = 60.0
"""Seconds a test waits for something its own actions make happen before it fails."""

PathMatch = Callable[[str], bool]

VERBS = (
    "get_content",
    "put_content",
    "reader",
    "writer",
    "stat",
    "list",
    "move",
    "delete",
    "walk",
    "delete_many",
    "delete_files",
    "copy",
    "write",
    "commit",
)
"""Everything a pause can hold: the driver's verbs, and ``write`` and ``commit`` on the
streams its ``writer`` returns."""


def _everything(path: str) -> bool:
    return True


class Pause:
    """One place where a :class:`PausingDriver` holds calls until :meth:`release`."""

    def __init__(
        self, verbs: Collection[str], where: PathMatch, call: int, hold: bool, name: str
    ) -> None:
        self.verbs = frozenset(verbs)
        self.where = where
        self.call = call
        self.hold = hold
        self.name = name
        self.seen = 0
        """Matching calls so far, the held ones included."""
        self.paths: list[str] = []
        """The path of each held call, in the order they arrived."""
        self._in_flight = 0
        self._waiting = 0
        self._released = False
        self._reached = threading.Event()
        self._condition = threading.Condition()

    def __repr__(self) -> str:
        return f"Pause({self.name!r})"

    def matches(self, verb: str, paths: Iterable[str]) -> bool:
        """Whether a call of ``verb`` on ``paths`` is one this pause counts."""
        return verb in self.verbs and any(self.where(path) for path in paths)

    def enter(self, path: str) -> None:
        """Count a matching call; hold it if it is the chosen one (or later, with ``hold``)."""
        with self._condition:
            self.seen += 1
            if self._released or not (
                self.seen == self.call or (self.hold and self.seen > self.call)
            ):
                self._in_flight += 1
                return
            self._waiting += 1
            self.paths.append(path)
            self._update()
            while not self._released:
                self._condition.wait()
            self._waiting -= 1
            self._in_flight += 1

    def leave(self) -> None:
        """A matching call that went through has returned."""
        with self._condition:
            self._in_flight -= 1
            self._update()

    def _update(self) -> None:
        # Reached once the chosen call waits and no matching call is still at the backend.
        if self._waiting and self._in_flight == 0:
            self._reached.set()

    @property
    def reached(self) -> bool:
        """Whether the chosen call is being held (and, with ``hold``, nothing else runs)."""
        return self._reached.is_set()

    def wait_until_reached(
        self, timeout: float = DEADLOCK_GUARD, *, caller: InThread[Any] | None = None
    ) -> None:
        """Block until the pause holds its call; fail the test if it never does, or at once
        if ``caller`` (the thread expected to make the call) ends without reaching it."""
        deadline = time.monotonic() + timeout
        while not self._reached.wait(0.05 if caller is not None else timeout):
            ended = caller is not None and caller.finished and not self._reached.is_set()
            if ended or time.monotonic() >= deadline:
                why = f"{caller.name} ended first" if ended and caller else f"{timeout:.0f}s passed"
                raise AssertionError(
                    f"{self.name} was never reached: {why} ({self.seen} matching calls of "
                    f"{sorted(self.verbs)} seen, wanted call {self.call})"
                )

    def release(self) -> None:
        """Let the held calls go on, and every later matching call pass."""
        with self._condition:
            self._released = True
            self._condition.notify_all()


class PausingDriver(DelegatingDriver):
    """Forwards to ``inner``, holding the calls its pauses choose until they are released.

    Use it as a context manager: leaving the block releases every pause, so a failing test
    never leaves a thread held for ever.
    """

    def __init__(self, inner: StorageDriver) -> None:
        super().__init__(inner)
        self.pauses: list[Pause] = []

    def pause(
        self,
        *verbs: str,
        where: PathMatch = _everything,
        call: int = 1,
        hold: bool = False,
        name: str = "",
    ) -> Pause:
        """Hold the ``call``-th call (1-based) of any of ``verbs`` on a path ``where``
        accepts; with ``hold``, every later matching call as well. A call of
        ``delete_files`` or ``delete_many`` matches if any of its paths does."""
        if not verbs or not set(verbs) <= set(VERBS):
            raise ValueError(f"pause some of {', '.join(VERBS)}, not {verbs}")
        pause = Pause(verbs, where, call, hold, name or f"the pause of {', '.join(verbs)}")
        self.pauses.append(pause)
        return pause

    def release_all(self) -> None:
        """Release every pause."""
        for pause in self.pauses:
            pause.release()

    def __enter__(self) -> PausingDriver:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release_all()

    def _through(self, verb: str, paths: builtins.list[str], action: Callable[[], T]) -> T:
        entered = []
        try:
            for pause in self.pauses:
                if pause.matches(verb, paths):
                    pause.enter(paths[0] if paths else ROOT)
                    entered.append(pause)
            return action()
        finally:
            for pause in entered:
                pause.leave()

    def get_content(self, path: str) -> bytes:
        return self._through("get_content", [path], lambda: self.inner.get_content(path))

    def put_content(self, path: str, data: bytes) -> None:
        self._through("put_content", [path], lambda: self.inner.put_content(path, data))

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        return self._through("reader", [path], lambda: self.inner.reader(path, offset))

    def writer(self, path: str, *, append: bool = False) -> FileWriter:
        inner = self._through("writer", [path], lambda: self.inner.writer(path, append=append))
        return _PausingWriter(self, inner)

    def stat(self, path: str) -> FileInfo:
        return self._through("stat", [path], lambda: self.inner.stat(path))

    def list(self, path: str) -> builtins.list[str]:
        return self._through("list", [path], lambda: self.inner.list(path))

    def move(self, source: str, dest: str) -> None:
        self._through("move", [source, dest], lambda: self.inner.move(source, dest))

    def delete(self, path: str) -> None:
        self._through("delete", [path], lambda: self.inner.delete(path))

    def walk(
        self,
        path: str = ROOT,
        *,
        start_after: str | None = None,
        prune: WalkPrune | None = None,
        details: bool = True,
    ) -> Iterator[FileInfo]:
        return self._through(
            "walk",
            [path],
            lambda: self.inner.walk(path, start_after=start_after, prune=prune, details=details),
        )

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        listed = builtins.list(paths)
        return self._through("delete_many", listed, lambda: self.inner.delete_many(listed))

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        listed = builtins.list(paths)
        return self._through("delete_files", listed, lambda: self.inner.delete_files(listed))

    def copy(self, source: str, dest: str) -> None:
        self._through("copy", [source, dest], lambda: self.inner.copy(source, dest))


class _PausingWriter(FileWriter):
    """A writer whose ``write`` and ``commit`` pass through the driver's pauses."""

    def __init__(self, driver: PausingDriver, inner: FileWriter) -> None:
        super().__init__(inner.path)
        self._driver = driver
        self._inner = inner

    @property
    def size(self) -> int:
        return self._inner.size

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._driver._through("write", [self.path], lambda: self._inner.write(data))

    def _close(self) -> None:
        self._inner.close()

    def _commit(self) -> None:
        self._driver._through("commit", [self.path], self._inner.commit)

    def _cancel(self) -> None:
        self._inner.cancel()


class InThread(Generic[T]):
    """Runs ``call`` on a new thread at once; :meth:`result` joins it and returns or raises
    what the call did."""

    def __init__(self, call: Callable[[], T], *, name: str = "") -> None:
        self._call = call
        self._value: T | None = None
        self._error: BaseException | None = None
        self.name = name or getattr(call, "__name__", "the call")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    @property
    def finished(self) -> bool:
        """Whether the call has returned or raised."""
        return not self._thread.is_alive()

    def result(self, timeout: float = DEADLOCK_GUARD) -> T:
        """The call's return value (re-raising its exception); fails the test if the call
        has not ended within ``timeout`` seconds."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"{self.name} did not end in {timeout:.0f}s: a deadlock?")
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
