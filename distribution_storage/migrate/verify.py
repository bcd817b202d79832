"""What makes a migration complete: an independent listing of the target holds every object
an independent listing of the source shows.

The copy is planned from one listing of each side. A listing can come back incomplete
without an error (a key dropped at a page boundary, a listing that ended early), and an
object the plan never saw is never copied, so the copy's own count proves nothing. After
the copy both sides are listed again, afresh: every blob of the source must be in the
target with its size, and every repository file at its path. An object the source gained
meanwhile (a push to a live registry) shows as missing too, which is right: the target does
not hold the source yet, and running again copies it.
"""

from __future__ import annotations

from collections.abc import Iterable

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.layout import blob_data_path
from distribution_storage.migrate.plan import list_store


def missing_from_target(
    source: StorageDriver,
    target: StorageDriver,
    *,
    include_uploads: bool = False,
    excused: Iterable[str] = (),
) -> list[str]:
    """The paths of source objects that a fresh listing of the target lacks (a blob with
    another size counts as missing), in order; ``excused`` paths (objects that failed
    verification and were reported so) are left out."""
    source_listing = list_store(source, include_uploads=include_uploads)
    target_listing = list_store(target, include_uploads=include_uploads)
    skip = set(excused)
    missing = [
        blob_data_path(digest)
        for digest, record in source_listing.blobs.items()
        if (found := target_listing.blobs.get(digest)) is None or found.size != record.size
    ]
    missing.extend(path for path in source_listing.files if path not in target_listing.files)
    return sorted(path for path in missing if path not in skip)
