"""Second views of what the inventory listed, so GC deletes only what it proved unreachable.

A listing can come back incomplete without any error: a filesystem entry that vanished
between ``readdir`` and its ``stat`` once hid a whole directory, and S3-compatible services
have been seen to drop a key at a page boundary or omit a prefix. GC does not take a listing's
word for what is *absent* where that absence would delete something; it asks again, in a
way that costs little:

- a tag names a manifest the listing of revisions lacks, or a surviving index names a child
  it lacks: the revision link is stat'ed;
- a surviving manifest's blob is missing from the blob listing: the blob is stat'ed;
- between the inventory and the re-check, a repository, revision, tag or layer link that
  vanished is stat'ed, and one that appeared although it is older than the grace period was
  missed by the first listing (:func:`distribution_storage.inventory.compare_scans`).

What a second view finds where the listing had nothing is either young -- written since,
and protected by the grace period anyway, so it is taken in -- or old, in which case the
listing was incomplete: :class:`ListingInconsistentError` names the prefix, and GC stops
before deleting anything. Without a grace period every such find is a stop, since the
registry must then be read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.paths import parent_of
from distribution_storage.inventory import RepositoryInventory, look_again
from distribution_storage.layout import Digest, manifest_revision_link_path

IsYoung = Callable[[datetime], bool]


def missing_revision(
    driver: StorageDriver,
    repository: RepositoryInventory,
    digest: Digest,
    is_young: IsYoung,
    *,
    what: str,
) -> bool:
    """For a manifest ``what`` names that the listing of revisions lacks: True if its
    revision link is there after all (young: taken into ``repository``), False if absent;
    raises if it is old and the listing missed it."""
    path = manifest_revision_link_path(repository.name, digest)
    info = look_again(driver, path, is_young, listed=parent_of(parent_of(path)), what=what)
    if info is None:
        return False
    repository.revisions[digest] = info.mod_time
    return True
