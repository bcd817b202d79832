"""A walk served by one delimiter listing per directory, for object-store drivers.

The contract's generic walk lists each directory and then stats every entry; object stores
already return each file's size and modification time in a delimiter listing, so
:func:`walk_by_listing` needs only one listing per directory. It keeps the contract's order
(depth first, children by name, so ``/a`` and its subtree come before ``/a-b``), resumes after
``start_after``, asks ``prune`` about each directory, and stays lazy: memory holds one
directory listing per level of depth, never the whole tree. The swift and oss drivers use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from distribution_storage.driver.contract import FileInfo, WalkPrune
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.driver.paths import walk_key

ChildrenOf = Callable[[str], list[FileInfo]]
"""The direct children of a directory (files with size and time, directories with size 0);
raises PathNotFoundError for a missing directory."""


def walk_by_listing(
    children_of: ChildrenOf,
    path: str,
    *,
    start_after: str | None = None,
    prune: WalkPrune | None = None,
) -> Iterator[FileInfo]:
    """Every file and directory below ``path`` in walk order; see the module docstring."""
    after = walk_key(start_after) if start_after is not None else None
    return _walk(children_of, path, after, prune, top=True)


def _walk(
    children_of: ChildrenOf,
    path: str,
    after: tuple[str, ...] | None,
    prune: WalkPrune | None,
    *,
    top: bool,
) -> Iterator[FileInfo]:
    try:
        children = sorted(children_of(path), key=lambda info: walk_key(info.path))
    except PathNotFoundError:
        if top:
            raise
        return  # removed while the walk ran
    for info in children:
        key = walk_key(info.path)
        resumes_inside = after is not None and after[: len(key)] == key
        if after is not None and key <= after and not resumes_inside:
            continue
        if after is None or key > after:
            yield info
            if info.is_dir and not (prune and prune(info)):
                yield from _walk(children_of, info.path, None, prune, top=False)
        elif info.is_dir:
            yield from _walk(children_of, info.path, after, prune, top=False)
