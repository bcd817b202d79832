"""The contract's walk, computed from one directory listing at a time.

Every driver that walks directory by directory uses :func:`walk_listing`: the generic
fallback (``list`` plus a ``stat`` per entry), the filesystem (``scandir``), and the object
stores whose delimiter listings already carry each file's size and time. It keeps the
contract's order (depth first, children by name, so ``/a`` and its subtree come before
``/a-b``), resumes after ``start_after`` listing only the directories on the way to it and
after it, never lists a directory ``prune`` rejects, stops listing when the caller stops
iterating, and holds one listing per level of depth, never the whole tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.driver.fileinfo import FileInfo, WalkPrune
from distribution_storage.driver.paths import ROOT, walk_key

ListInfos = Callable[[str], list[FileInfo]]
"""The direct children of a directory with their file info, in any order; raises
:class:`PathNotFoundError` for a missing directory (or returns ``[]``, see
``missing_if_empty``)."""


def walk_listing(
    list_infos: ListInfos,
    path: str,
    *,
    start_after: str | None = None,
    prune: WalkPrune | None = None,
    missing_if_empty: bool = False,
) -> Iterator[FileInfo]:
    """Every entry below ``path`` in walk order; a missing ``path`` raises at once.

    ``missing_if_empty`` is for object stores, where a directory exists only through the
    objects below it: an empty listing of ``path`` (other than the root) means it is missing.
    A directory removed while the walk runs is passed over.
    """
    top = list_infos(path)
    if missing_if_empty and not top and path != ROOT:
        raise PathNotFoundError(path)
    after = walk_key(start_after) if start_after is not None else None
    return _walk(top, list_infos, after, prune)


def _by_name(info: FileInfo) -> str:
    # Siblings share their parent's path, so their paths compare as their names do: in
    # code point order, which is UTF-8 byte order.
    return info.path


def _walk(
    top: list[FileInfo],
    list_infos: ListInfos,
    after: tuple[str, ...] | None,
    prune: WalkPrune | None,
) -> Iterator[FileInfo]:
    """One loop over a stack of sorted listings, so an entry is handed straight to the
    caller rather than up through a generator per level. A level listed with ``after``
    (the walk key of ``start_after``) passes over what comes before it and enters, without
    yielding, the directories on the way to it."""
    stack = [(iter(sorted(top, key=_by_name)), after)]
    while stack:
        entries, after = stack[-1]
        for info in entries:
            below = None
            if after is not None and (key := walk_key(info.path)) <= after:
                if not (info.is_dir and after[: len(key)] == key):
                    continue  # before start_after
                below = after  # on the way to start_after: entered, yielded before
            else:
                yield info
                if not info.is_dir or (prune is not None and prune(info)):
                    continue
            try:
                listed = list_infos(info.path)
            except PathNotFoundError:
                continue  # removed while the walk ran
            stack.append((iter(sorted(listed, key=_by_name)), below))
            break
        else:
            stack.pop()
