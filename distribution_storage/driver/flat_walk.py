"""Putting a flat listing of an object store into the contract's walk order.

Object stores (S3, GCS) list keys in plain byte order, where ``a-b/x`` and ``a.b/x`` sort
before ``a/x`` (``-`` and ``.`` are below ``/``), while a walk yields ``/a`` and its whole
subtree before ``/a-b``: the order of the paths' component tuples, which is byte order with
``/`` read as the lowest character. :func:`walk_order` restores that order from one flat,
paginated listing with a small heap: a key leaves the heap as soon as no key still to come
can sort before it (the first ``-`` or ``.`` of the key just listed bounds what can). The heap
only holds keys that sit between a name and a longer sibling name (``a-b/...`` waiting for
``a/...``), so it stays small on a registry's layout, and the walk never holds the listing.
Directories are inferred from the keys; a pruned directory's subtree is dropped (and the
listing told, so that it can skip it).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from distribution_storage.driver.errors import ListingInconsistentError
from distribution_storage.driver.fileinfo import FileInfo, WalkPrune
from distribution_storage.driver.paths import is_valid_component, join

SEPARATOR_ORDER = "\0"
"""What ``/`` becomes in a sort key: below every character a component may hold."""


@dataclass(frozen=True, slots=True)
class ListedKey:
    """One object of a flat listing, its key relative to the listed prefix."""

    relative: str
    size: int
    mod_time: datetime


def sort_key(relative: str) -> str:
    """A string whose plain order is the walk order of relative keys."""
    return relative.replace("/", SEPARATOR_ORDER)


def lowest_key_to_come(relative: str) -> str:
    """A lower bound on the sort key of every key listed after ``relative``.

    A later key (in byte order) sorts before ``relative`` in walk order only where it has a
    ``/`` and ``relative`` a ``-`` or ``.``; the first such position gives the bound.
    """
    for index, char in enumerate(relative):
        if char in "-.":
            return sort_key(relative[:index]) + SEPARATOR_ORDER
    return sort_key(relative)


def walk_order(
    listing: Iterable[ListedKey],
    *,
    base: str,
    after: str | None = None,
    prune: WalkPrune | None = None,
    on_prune: Callable[[str], None] | None = None,
) -> Iterator[FileInfo]:
    """Files and inferred directories of a byte-ordered ``listing``, in walk order.

    ``base`` is the path the relative keys hang from; ``after`` (a relative key) drops
    everything up to it in walk order; ``prune`` may skip a yielded directory's subtree, and
    ``on_prune`` hears of it (with the directory's relative key) so the listing can skip it.
    Keys that are not valid relative paths (directory markers ending in ``/``, foreign
    names) are ignored. The listing must be in strictly increasing byte order, as the
    object stores promise: a key that is not raises :class:`ListingInconsistentError`
    rather than be walked out of place (a page that does not continue where the last ended
    shows as such a key).
    """
    after_key = sort_key(after) if after is not None else None
    heap: list[tuple[str, ListedKey]] = []
    emitter = _Emitter(base, after_key, prune, on_prune)
    previous: str | None = None
    for item in listing:
        if previous is not None and item.relative <= previous:
            raise ListingInconsistentError(
                base, f"key {item.relative!r} was listed after {previous!r}, out of byte order"
            )
        previous = item.relative
        parts = item.relative.split("/")
        if not all(is_valid_component(part) for part in parts):
            continue
        key = sort_key(item.relative)
        if after_key is not None and key <= after_key:
            continue
        heapq.heappush(heap, (key, item))
        bound = lowest_key_to_come(item.relative)
        while heap and heap[0][0] < bound:
            yield from emitter.emit(heapq.heappop(heap)[1])
    while heap:
        yield from emitter.emit(heapq.heappop(heap)[1])


class _Emitter:
    """Yields files in walk order with their not-yet-seen parent directories first."""

    def __init__(
        self,
        base: str,
        after_key: str | None,
        prune: WalkPrune | None,
        on_prune: Callable[[str], None] | None,
    ) -> None:
        self.base = base
        self.after_key = after_key
        self.prune = prune
        self.on_prune = on_prune
        self.entered: list[str] = []
        self.pruned: list[str] | None = None

    def _path(self, parts: list[str]) -> str:
        path = self.base
        for part in parts:
            path = join(path, part)
        return path

    def emit(self, item: ListedKey) -> Iterator[FileInfo]:
        parts = item.relative.split("/")
        if self.pruned is not None and parts[: len(self.pruned)] == self.pruned:
            return
        self.pruned = None
        dirs = parts[:-1]
        common = 0
        while common < min(len(dirs), len(self.entered)) and dirs[common] == self.entered[common]:
            common += 1
        self.entered = dirs[:common]
        for depth in range(common, len(dirs)):
            self.entered = dirs[: depth + 1]
            if self.after_key is not None and sort_key("/".join(self.entered)) <= self.after_key:
                continue
            info = FileInfo(self._path(self.entered), 0, item.mod_time, True)
            yield info
            if self.prune is not None and self.prune(info):
                self.pruned = list(self.entered)
                if self.on_prune is not None:
                    self.on_prune("/".join(self.entered))
                return
        yield FileInfo(self._path(parts), item.size, item.mod_time, False)
