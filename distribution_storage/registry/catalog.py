"""The catalog: repository names, in order, from one walk of ``repositories/``.

A repository is a directory that holds ``_manifests``; names may nest (``a`` and ``a/b`` can
both be repositories). The walk never descends into a directory whose name starts with ``_``
(``_manifests``, ``_layers``, ``_uploads``), so its cost grows with the number of
repositories, not with what they hold. Names come out in distribution's order, component by
component (``a`` < ``a/b`` < ``a-b``), and paging resumes the walk at ``last`` with
``start_after`` rather than walking from the top again.
"""

from __future__ import annotations

from collections.abc import Iterator

from distribution_storage.driver.contract import FileInfo, StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.layout import REPOSITORIES_ROOT, check_name

MANIFESTS_DIR = "_manifests"


def _name_key(name: str) -> tuple[str, ...]:
    return tuple(name.split("/"))


def skip_reserved(info: FileInfo) -> bool:
    """A walk's prune for ``repositories/``: stop at a repository's reserved directories
    (``_manifests``, ``_layers``, ``_uploads``), where its name has ended."""
    return info.path.rsplit("/", 1)[1].startswith("_")


class _Frame:
    """A directory being walked whose own repository status may not be known yet."""

    __slots__ = ("decided", "held", "rel")

    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.held: list[str] = []
        self.decided = False


def _in_name_order(entries: Iterator[FileInfo]) -> Iterator[str]:
    """Repository names from walk entries, put in name order.

    The walk visits a directory's children in byte order, where digits sort before
    ``_manifests``: a repository ``a/0`` is found before ``a`` itself. Names found below a
    directory whose ``_manifests`` has not been passed yet are held until it is.
    """
    stack: list[_Frame] = []
    out: list[str] = []

    def emit(names: list[str]) -> None:
        for frame in reversed(stack):
            if not frame.decided:
                frame.held.extend(names)
                return
        out.extend(names)

    prefix = REPOSITORIES_ROOT + "/"
    for info in entries:
        if not info.is_dir or not info.path.startswith(prefix):
            continue
        rel = info.path[len(prefix) :]
        parent, _, base = rel.rpartition("/")
        while stack and not rel.startswith(stack[-1].rel + "/"):
            frame = stack.pop()
            emit(frame.held)
        top = stack[-1] if stack and stack[-1].rel == parent else None
        if base == MANIFESTS_DIR:
            if top is not None:
                top.decided = True
                emit([parent, *top.held])
                top.held = []
            else:
                emit([parent])
        elif not base.startswith("_"):
            if top is not None and not top.decided and base > MANIFESTS_DIR:
                top.decided = True
                emit(top.held)
                top.held = []
            stack.append(_Frame(rel))
        yield from out
        out.clear()
    while stack:
        emit(stack.pop().held)
    yield from out


def repository_names(driver: StorageDriver, *, last: str | None = None) -> Iterator[str]:
    """Every repository name after ``last`` (all when None), in name order."""
    start_after = None
    if last is not None:
        check_name(last)
        start_after = f"{REPOSITORIES_ROOT}/{last}"
    try:
        entries = driver.walk(
            REPOSITORIES_ROOT, start_after=start_after, prune=skip_reserved, details=False
        )
        for name in _in_name_order(entries):
            if last is None or _name_key(name) > _name_key(last):
                yield name
    except PathNotFoundError:
        return


def catalog(driver: StorageDriver, *, n: int | None = None, last: str | None = None) -> list[str]:
    """At most ``n`` repository names after ``last``, in name order."""
    names: list[str] = []
    if n is not None and n <= 0:
        return names
    for name in repository_names(driver, last=last):
        names.append(name)
        if n is not None and len(names) >= n:
            break
    return names
