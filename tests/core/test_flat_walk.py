"""Property test of the flat walk's ordering: byte-ordered keys in, walk order out.

``walk_order`` (the walk of S3 and GCS) receives keys the way those services list them
(plain byte order) and must yield files
and inferred directories in the contract's walk order, honour ``after`` and skip pruned
subtrees. Hypothesis draws key sets from names built of ``a``, ``b``, ``-`` and ``.`` (the
characters that sort below and around ``/``), and the result is compared with a direct
computation from the whole set. No server is involved: this is the pure ordering logic.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from distribution_storage.driver.contract import FileInfo
from distribution_storage.driver.flat_walk import ListedKey, walk_order
from distribution_storage.driver.paths import is_valid_component, walk_key
from distribution_storage.drivers.s3.listing import start_after_ranges

NOW = datetime(2026, 1, 1, tzinfo=UTC)
names = st.text(alphabet="ab-.", min_size=1, max_size=3).filter(is_valid_component)
keys = st.lists(names, min_size=1, max_size=4).map("/".join)


def consistent(relative_keys: set[str]) -> list[str]:
    """Drop keys that would make a path both a file and a directory."""
    directories = {
        "/".join(k.split("/")[:i]) for k in relative_keys for i in range(1, k.count("/") + 1)
    }
    return sorted(k for k in relative_keys if k not in directories)


def expected(files: list[str], after: str | None, pruned: set[str]) -> list[tuple[str, bool]]:
    entries: dict[str, bool] = {}
    for key in files:
        parts = key.split("/")
        for depth in range(1, len(parts)):
            entries["/" + "/".join(parts[:depth])] = True
        entries["/" + key] = False
    ordered = sorted(entries.items(), key=lambda item: walk_key(item[0]))
    if after is not None:
        ordered = [e for e in ordered if walk_key(e[0]) > walk_key("/" + after)]
    result = []
    for path, is_dir in ordered:
        if any(path.startswith(p + "/") for p in pruned if (p, True) in result):
            continue
        result.append((path, is_dir))
    return result


def listing(files: list[str]) -> list[ListedKey]:
    return [ListedKey(key, 1, NOW) for key in sorted(files)]  # S3's byte order


@settings(max_examples=300, deadline=None)
@given(st.sets(keys, min_size=1, max_size=25), st.one_of(st.none(), keys), st.sets(keys))
def test_walk_order_matches_a_sort_of_the_whole_tree(
    drawn: set[str], after: str | None, prune_paths: set[str]
) -> None:
    files = consistent(drawn)
    pruned = {"/" + p for p in prune_paths}

    def prune(info: FileInfo) -> bool:
        return info.path in pruned

    source = listing(files)
    if after is not None:
        # What the driver lists: only the byte ranges that can hold entries after `after`.
        source = [
            item
            for first, stop in start_after_ranges(after)
            for item in source
            if item.relative > first and (stop is None or item.relative < stop)
        ]
    got = [(i.path, i.is_dir) for i in walk_order(source, base="/", after=after, prune=prune)]
    assert got == expected(files, after, pruned)
