"""Flat, paginated S3 listings for the driver's walk.

S3 lists keys in plain byte order; :func:`~distribution_storage.driver.flat_walk.walk_order`
puts such a listing into the contract's walk order. :class:`FlatListing` pages through one
prefix over byte ranges (for a walk resumed after a path, :func:`start_after_ranges`) and,
when the walk prunes a directory, starts its next page past that directory's subtree rather
than paging through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from distribution_storage.driver.flat_walk import ListedKey

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
