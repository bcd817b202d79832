"""Walking a tree one directory listing at a time, for drivers with delimiter listings.

Object stores list a "directory" with a prefix and a ``/`` delimiter, which returns its files
(with size and modification time) and its sub-prefixes in one paged call. :func:`walk_listed`
turns such a listing function into the contract's ``walk``: depth first, children in walk
order, lazily, so that a directory ``prune`` rejects is never listed, stopping early lists
nothing more, and ``start_after`` lists only the directories on the way to that path and after
it. The azure driver walks this way; the gcs driver does when a ``prune`` is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from distribution_storage.driver.contract import FileInfo, WalkPrune
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.driver.paths import ROOT, walk_key

ListChildren = Callable[[str], list[FileInfo]]
"""The direct children of a directory (files and directories), in any order."""


def walk_listed(
    path: str,
    list_children: ListChildren,
    *,
    start_after: str | None = None,
    prune: WalkPrune | None = None,
) -> Iterator[FileInfo]:
    """The contract's ``walk`` over ``list_children``; a missing ``path`` raises at once."""
    top = _sorted(list_children(path))
    if not top and path != ROOT:
        raise PathNotFoundError(path)
    after = walk_key(start_after) if start_after is not None else None
    return _descend(top, list_children, after, prune)


def _sorted(children: list[FileInfo]) -> list[FileInfo]:
    return sorted(children, key=lambda info: walk_key(info.path))


def _descend(
    children: list[FileInfo],
    list_children: ListChildren,
    after: tuple[str, ...] | None,
    prune: WalkPrune | None,
) -> Iterator[FileInfo]:
    for info in children:
        key = walk_key(info.path)
        on_the_way = after is not None and after[: len(key)] == key
        if after is not None and key <= after and not on_the_way:
            continue
        if after is None or key > after:
            yield info
            if not info.is_dir or (prune is not None and prune(info)):
                continue
            below: tuple[str, ...] | None = None
        elif info.is_dir:
            below = after  # an ancestor of start_after: enter it, but it was yielded before
        else:
            continue
        yield from _descend(_sorted(list_children(info.path)), list_children, below, prune)
