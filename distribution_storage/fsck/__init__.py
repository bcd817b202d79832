"""fsck: find damage in a registry store without changing it.

:func:`fsck` checks blobs against their digests, links against their names, manifests
against what they reference, and tags against the manifests they name; see
:mod:`distribution_storage.fsck.checks`.
"""

from distribution_storage.fsck.checks import fsck
from distribution_storage.fsck.report import Finding, FsckReport

__all__ = ["Finding", "FsckReport", "fsck"]
