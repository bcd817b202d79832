"""Migration of a registry store between storage backends: verified, resumable, incremental.

:func:`migrate` copies every blob (hashed while it streams, committed only when it matches
its digest), then every repository's links and tags, byte for byte, from one driver to
another -- any backend to any backend. Objects the target already holds with the right
content are skipped, so an interrupted run resumes and a second run copies nothing. See
``docs/migrate.md`` for the cut-over procedure.
"""

from distribution_storage.migrate.copy import STAGING_ROOT, CopiesFrom, VerificationError
from distribution_storage.migrate.report import (
    Failure,
    MigrationError,
    MigrationReport,
    SameStoreError,
)
from distribution_storage.migrate.runner import DEFAULT_WORKERS, migrate

__all__ = [
    "DEFAULT_WORKERS",
    "STAGING_ROOT",
    "CopiesFrom",
    "Failure",
    "MigrationError",
    "MigrationReport",
    "SameStoreError",
    "VerificationError",
    "migrate",
]
