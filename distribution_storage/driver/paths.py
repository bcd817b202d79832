"""Path rules of the driver contract, and helpers to split, join and order paths.

A valid path is absolute, has at least one component, no empty component and no trailing
slash, and every component is made of ``[A-Za-z0-9._-]``. ``/`` alone is valid only where a
verb accepts the root (``stat``, ``list``, ``walk``). Beyond distribution's rule, the
components ``.`` and ``..`` are rejected everywhere, so that no driver can be led outside its
root and a store keeps the same meaning on every backend.
"""

from __future__ import annotations

import re

from distribution_storage.driver.errors import InvalidPathError

ROOT = "/"
_PATH = re.compile(r"(?:/(?!\.\.?(?:/|\Z))[A-Za-z0-9._-]+)+")
"""A valid path other than the root; the look-ahead refuses `.` and `..` components in the
same match (GC checks every path it deletes)."""
_PATH_CHARACTERS = re.compile(r"(?:/[A-Za-z0-9._-]+)+")
_COMPONENT = re.compile(r"[A-Za-z0-9._-]+")


def is_valid_component(name: str) -> bool:
    """Tell whether ``name`` may be one component of a path."""
    return bool(_COMPONENT.fullmatch(name)) and name not in (".", "..")


def check_path(path: object, *, allow_root: bool = False) -> str:
    """Return ``path`` if it is valid, else raise :class:`InvalidPathError`."""
    if not isinstance(path, str):
        raise InvalidPathError(repr(path), reason="a path is a string")
    if path == ROOT:
        if allow_root:
            return path
        raise InvalidPathError(path, reason="the root is not a file")
    if not _PATH.fullmatch(path):
        if _PATH_CHARACTERS.fullmatch(path):
            raise InvalidPathError(path, reason="'.' and '..' components are not allowed")
        raise InvalidPathError(path)
    return path


def components(path: str) -> list[str]:
    """The components of a valid path; ``[]`` for the root."""
    return [] if path == ROOT else path[1:].split("/")


def join(parent: str, name: str) -> str:
    """The path of ``name`` inside directory ``parent``."""
    return f"/{name}" if parent == ROOT else f"{parent}/{name}"


def parent_of(path: str) -> str:
    """The directory that holds ``path`` (the root for a top-level path)."""
    head = path.rsplit("/", 1)[0]
    return head or ROOT


def is_under(path: str, ancestor: str) -> bool:
    """Tell whether ``path`` lies strictly below ``ancestor`` (sibling prefixes do not count)."""
    if ancestor == ROOT:
        return path != ROOT
    return path.startswith(ancestor + "/")


def walk_key(path: str) -> tuple[str, ...]:
    """Sort key that puts paths in walk order: depth first, children in byte order.

    Comparing by components puts ``/a`` and its whole subtree before ``/a-b``, which a plain
    string comparison would not (``-`` sorts before ``/``).
    """
    return tuple(components(path))
