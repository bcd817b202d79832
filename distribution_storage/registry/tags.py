"""Tags: names for manifests, stored as ``_manifests/tags/<tag>/current/link`` plus history.

Tagging writes the tag's ``index/<alg>/<hex>/link`` history entry, then its ``current/link``
(each a single ``put_content``, so two tags written at once never see each other's half
work, and the same tag written twice ends on one of the two). Untagging removes the tag's
directory; the manifest stays. Listing is sorted by name with ``n``/``last`` paging, and
:meth:`TagStore.lookup` finds the tags that name a digest.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterator

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import PathNotFoundError
from distribution_storage.layout import (
    Digest,
    check_tag,
    digest_of_link_dir,
    is_valid_tag,
    manifests_root,
    parse_link,
    repository_path,
    tag_current_link_path,
    tag_dir,
    tag_index_dir,
    tag_index_link_path,
    tag_index_root,
    tags_root,
)
from distribution_storage.registry.blobs import LinkedBlobStore
from distribution_storage.registry.errors import (
    ManifestUnknownError,
    NameUnknownError,
    TagUnknownError,
)


class TagStore:
    """One repository's tags."""

    def __init__(self, driver: StorageDriver, name: str, revisions: LinkedBlobStore) -> None:
        self.driver = driver
        self.name = name
        self.revisions = revisions

    def get(self, tag: str) -> Digest:
        """The digest of the manifest ``tag`` names; :class:`TagUnknownError` if none."""
        check_tag(tag)
        try:
            content = self.driver.get_content(tag_current_link_path(self.name, tag))
        except PathNotFoundError:
            raise TagUnknownError(tag, self.name) from None
        try:
            return parse_link(content)
        except ValueError:
            raise TagUnknownError(tag, self.name) from None

    def tag(self, tag: str, digest: Digest) -> None:
        """Point ``tag`` at a manifest of this repository; :class:`ManifestUnknownError` if none."""
        check_tag(tag)
        if not self.revisions.exists(digest):
            raise ManifestUnknownError(str(digest), self.name)
        link = str(digest).encode("ascii")
        self.driver.put_content(tag_index_link_path(self.name, tag, digest), link)
        self.driver.put_content(tag_current_link_path(self.name, tag), link)

    def untag(self, tag: str) -> None:
        """Remove ``tag`` (its history too); the manifest stays."""
        check_tag(tag)
        try:
            self.driver.delete(tag_dir(self.name, tag))
        except PathNotFoundError:
            raise TagUnknownError(tag, self.name) from None

    def history(self, tag: str) -> builtins.list[Digest]:
        """Every manifest the tag has named (its ``index/`` entries), in digest order."""
        check_tag(tag)
        root = tag_index_root(self.name, tag)
        try:
            return sorted(
                digest
                for info in self.driver.walk(root, details=False)
                if not info.is_dir and (digest := digest_of_link_dir(root, info.path)) is not None
            )
        except PathNotFoundError:
            return []

    def forget(self, tag: str, digest: Digest) -> None:
        """Remove one ``index/`` entry of the tag (as garbage collection does); missing is fine."""
        check_tag(tag)
        with contextlib.suppress(PathNotFoundError):
            self.driver.delete(tag_index_dir(self.name, tag, digest))

    def _names(self) -> list[str]:
        try:
            children = self.driver.list(tags_root(self.name))
        except PathNotFoundError:
            try:
                self.driver.stat(manifests_root(self.name))
            except PathNotFoundError:
                self._require_repository()
            return []
        names = (path.rsplit("/", 1)[1] for path in children)
        return sorted(name for name in names if is_valid_tag(name))

    def _require_repository(self) -> None:
        try:
            self.driver.stat(repository_path(self.name))
        except PathNotFoundError:
            raise NameUnknownError(self.name) from None

    def list(self, *, n: int | None = None, last: str | None = None) -> list[str]:
        """Tag names in byte order: those after ``last``, at most ``n`` of them.

        Raises :class:`NameUnknownError` when the repository does not exist.
        """
        names = self._names()
        if last is not None:
            names = [name for name in names if name > last]
        return names if n is None else names[: max(n, 0)]

    def __iter__(self) -> Iterator[str]:
        """Every tag name, sorted."""
        return iter(self._names())

    def all(self) -> dict[str, Digest]:
        """Every tag and the digest its ``current/link`` names (unreadable tags left out)."""
        result: dict[str, Digest] = {}
        for tag in self._names():
            try:
                result[tag] = self.get(tag)
            except TagUnknownError:
                continue
        return result

    def lookup(self, digest: Digest) -> builtins.list[str]:
        """The tags that currently name ``digest``, sorted."""
        return [tag for tag, target in self.all().items() if target == digest]
