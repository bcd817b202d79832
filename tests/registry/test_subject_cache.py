"""SubjectCache: remembers what manifests refer to, forgets the least recently used."""

from __future__ import annotations

import pytest

from distribution_storage.layout import Digest
from distribution_storage.registry.mediatypes import OCI_MANIFEST, Descriptor
from distribution_storage.registry.subjects import UNKNOWN, Referrer, SubjectCache


def _digest(n: int) -> Digest:
    return Digest.of(str(n).encode())


def test_a_manifest_not_met_is_unknown_and_one_without_subject_is_none() -> None:
    cache = SubjectCache()
    assert cache.get(_digest(1)) is UNKNOWN
    cache.remember(_digest(1), None)
    assert cache.get(_digest(1)) is None
    referrer = Referrer(_digest(9), Descriptor(OCI_MANIFEST, _digest(2), 10))
    cache.remember(_digest(2), referrer)
    assert cache.get(_digest(2)) == referrer


def test_the_least_recently_used_is_forgotten_first() -> None:
    cache = SubjectCache(capacity=2)
    cache.remember(_digest(1), None)
    cache.remember(_digest(2), None)
    assert cache.get(_digest(1)) is None  # 1 is now the most recently used
    cache.remember(_digest(3), None)
    assert cache.get(_digest(2)) is UNKNOWN
    assert cache.get(_digest(1)) is None
    assert cache.get(_digest(3)) is None
    assert len(cache) == 2


def test_a_negative_capacity_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        SubjectCache(capacity=-1)
