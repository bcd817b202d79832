"""Migrations between every ordered pair of distinct backends (filesystem, inmemory, S3 on
moto, GCS on fake-gcs-server, Azure on Azurite, Swift, OSS on its fake): 42 pairs. Each
migrates a filled source (uploads included), compares the target's tree with the source's
byte for byte, checks the target is consistent and a second run copies nothing, then
migrates the target into a fresh store of the source's backend and compares that with the
original byte for byte. On a cycle of seven of the pairs the store also holds a blob larger
than every driver's chunk, part or segment size, so each backend's multipart paths are
crossed twice as a target and twice as a source. Same-service pairs across two buckets are
in ``test_migrate_backends``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from migrate_support import check_consistent, fill, tree

from distribution_storage.driver import StorageDriver
from distribution_storage.migrate import migrate

Factory = Callable[[str], StorageDriver]
Filled = tuple[StorageDriver, dict[str, bytes]]
BACKENDS = ("filesystem", "inmemory", "s3", "gcs", "azure", "swift", "oss")
BIG_CYCLE = ("filesystem", "s3", "gcs", "azure", "swift", "oss", "inmemory")
BIG_PAIRS = frozenset(zip(BIG_CYCLE, BIG_CYCLE[1:] + BIG_CYCLE[:1], strict=True))
"""The pairs whose store holds a large blob: every backend once as source, once as target."""
BIG_BLOB = 6 * 2**20 + 5
"""Past every chunk, part and segment size of the drivers in these tests (at most 5 MiB)."""
PAIRS = [
    pytest.param(source, target, BIG_BLOB if (source, target) in BIG_PAIRS else 0)
    for source in BACKENDS
    for target in BACKENDS
    if source != target
]
PAIR_IDS = [f"{param.values[0]}-to-{param.values[1]}" for param in PAIRS]


@pytest.fixture(scope="module")
def filled_source(open_backend: Factory) -> Callable[[str, int], Filled]:
    """A store of the named backend filled with :func:`fill` (``big`` bytes of extra layer)
    and its tree, made once per backend and size: migrations only read their source."""
    made: dict[tuple[str, int], Filled] = {}

    def get(name: str, big: int) -> Filled:
        if (name, big) not in made:
            driver = open_backend(name)
            fill(driver, repositories=1, big=big)
            made[name, big] = (driver, tree(driver))
        return made[name, big]

    return get


@pytest.mark.parametrize(("source_name", "target_name", "big"), PAIRS, ids=PAIR_IDS)
def test_a_store_migrates_and_round_trips_byte_for_byte(
    filled_source: Callable[[str, int], Filled],
    open_backend: Factory,
    source_name: str,
    target_name: str,
    big: int,
) -> None:
    source, original = filled_source(source_name, big)
    assert any("/_uploads/" in path for path in original)  # so uploads are compared too
    assert not big or any(len(data) == big for data in original.values())

    target = open_backend(target_name)
    report = migrate(source, target, include_uploads=True)
    assert report.failed == 0, report.failures
    assert tree(target) == original
    assert check_consistent(target) > 0
    again = migrate(source, target, include_uploads=True)
    assert (again.copied, again.skipped, again.failed) == (0, report.copied, 0)

    final = open_backend(source_name)
    back = migrate(target, final, include_uploads=True)
    assert back.failed == 0, back.failures
    assert (back.copied, back.bytes) == (report.copied, report.bytes)
    assert tree(final) == original
