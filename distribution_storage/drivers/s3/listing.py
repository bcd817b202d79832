"""Flat S3 listings, and putting them into the contract's walk order.

S3 lists keys in plain byte order, where ``a-b/x`` and ``a.b/x`` sort before ``a/x``
(``-`` and ``.`` are below ``/``), while a walk yields ``/a`` and its whole subtree before
``/a-b``: the order of the paths' component tuples, which is byte order with ``/`` read as
the lowest character. :func:`walk_order` restores that order from one flat, paginated
listing with a small heap: a key leaves the heap as soon as no key still to come can sort
before it (the first ``-`` or ``.`` of the key just listed bounds what can). The heap only
holds keys that sit between a name and a longer sibling name (``a-b/...`` waiting for
``a/...``), so it stays small on a registry's layout. Directories are inferred from the
keys, and a pruned directory's subtree is skipped: :class:`FlatListing` starts its next page
past it rather than paging through it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from distribution_storage.driver.contract import FileInfo, WalkPrune
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


PAST_SUBTREE = "~"
"""Appended to ``dir/`` in a ``StartAfter``: above every character a path may hold."""


class FlatListing:
    """A flat, paginated ListObjectsV2 under ``prefix`` over byte ranges, in byte order.

    ``ranges`` are ``(start_after, stop_before)`` pairs of full keys (None: unbounded), in
    byte order; keys are yielded relative to ``prefix``. :meth:`skip_subtree` drops the rest
    of a directory's keys, and when a page ends inside it the next request starts past it
    (``StartAfter=dir/~``) instead of paging through it.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str,
        ranges: list[tuple[str | None, str | None]] | None = None,
        *,
        page_size: int = 1000,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.ranges = ranges if ranges is not None else [(None, None)]
        self.page_size = page_size
        self.requests = 0
        self.yielded = False
        self._skip: str | None = None

    def skip_subtree(self, relative_dir: str) -> None:
        """Leave out every key below ``relative_dir`` from here on."""
        self._skip = relative_dir + "/"

    def _skipped(self, relative: str) -> bool:
        if self._skip is None:
            return False
        if relative.startswith(self._skip):
            return True
        if relative > self._skip:
            self._skip = None
        return False

    def __iter__(self) -> Iterator[ListedKey]:
        for start_after, stop_before in self.ranges:
            yield from self._range(start_after, stop_before)

    def _range(self, start_after: str | None, stop_before: str | None) -> Iterator[ListedKey]:
        request: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": self.prefix,
            "MaxKeys": self.page_size,
        }
        if start_after:
            request["StartAfter"] = start_after
        while True:
            self.requests += 1
            page = self.client.list_objects_v2(**request)
            contents = page.get("Contents", ())
            for item in contents:
                key: str = item["Key"]
                if stop_before is not None and key >= stop_before:
                    return
                relative = key[len(self.prefix) :]
                if not self._skipped(relative):
                    self.yielded = True
                    yield ListedKey(relative, int(item["Size"]), item["LastModified"])
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            last = contents[-1]["Key"][len(self.prefix) :] if contents else ""
            if self._skip is not None and last.startswith(self._skip):
                request.pop("ContinuationToken", None)
                request["StartAfter"] = self.prefix + self._skip + PAST_SUBTREE
            else:
                request["ContinuationToken"] = token
                request.pop("StartAfter", None)


def list_objects(client: Any, bucket: str, prefix: str) -> Iterator[ListedKey]:
    """Every object under ``prefix`` in byte order, keys relative to ``prefix``."""
    return iter(FlatListing(client, bucket, prefix))


def start_after_ranges(relative_after: str) -> list[tuple[str, str | None]]:
    """The byte ranges ``(start_after, stop_before)`` holding every key walked after a path.

    For ``a/b/c`` that is the longer siblings of each ancestor (``a-x/...`` between ``a`` and
    ``a/``, ``a/b.y/...`` between ``a/b`` and ``a/b/``) and then everything after ``a/b/c``.
    Keys are relative; the ranges come in byte order.
    """
    ranges: list[tuple[str, str | None]] = []
    for index, char in enumerate(relative_after):
        if char == "/":
            ancestor = relative_after[:index]
            ranges.append((ancestor, ancestor + "/"))
    ranges.append((relative_after, None))
    return ranges


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
    names) are ignored.
    """
    after_key = sort_key(after) if after is not None else None
    heap: list[tuple[str, ListedKey]] = []
    emitter = _Emitter(base, after_key, prune, on_prune)
    for item in listing:
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
