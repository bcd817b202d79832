"""Tags: get, tag, untag, sorted paged listing, lookup by digest, concurrent writes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.manifests import image_manifest
from support.pausing import InThread, PausingDriver

from distribution_storage import open_driver
from distribution_storage.driver import StorageDriver
from distribution_storage.layout import Digest, tag_current_link_path, tag_index_link_path
from distribution_storage.registry import (
    ManifestUnknownError,
    NameUnknownError,
    Registry,
    TagInvalidError,
    TagUnknownError,
)


def test_tag_untag_and_lookup(registry: Registry) -> None:
    repo = registry.repository("app")
    one = repo.manifests.put(image_manifest(repo, seed="1")).digest
    two = repo.manifests.put(image_manifest(repo, seed="2")).digest
    repo.tags.tag("latest", one)
    repo.tags.tag("v1", one)
    repo.tags.tag("v2", two)
    assert repo.tags.lookup(one) == ["latest", "v1"]
    repo.tags.tag("latest", two)
    assert repo.tags.get("latest") == two
    assert repo.tags.lookup(two) == ["latest", "v2"]
    assert repo.tags.all() == {"latest": two, "v1": one, "v2": two}
    repo.tags.untag("v1")
    assert repo.tags.list() == ["latest", "v2"]
    with pytest.raises(TagUnknownError):
        repo.tags.get("v1")
    with pytest.raises(TagUnknownError):
        repo.tags.untag("v1")
    assert repo.manifests.exists(one)


def test_tagging_an_unknown_manifest_fails(registry: Registry) -> None:
    repo = registry.repository("app")
    repo.manifests.put(image_manifest(repo))
    with pytest.raises(ManifestUnknownError):
        repo.tags.tag("latest", Digest.of(b"nothing"))
    assert repo.tags.list() == []


@pytest.mark.parametrize("tag", ["", "-x", "a/b", "x" * 129])
def test_invalid_tags_are_typed_errors(registry: Registry, tag: str) -> None:
    repo = registry.repository("app")
    with pytest.raises(TagInvalidError):
        repo.tags.get(tag)
    with pytest.raises(TagInvalidError):
        repo.tags.tag(tag, Digest.of(b""))


def test_list_pages_with_n_and_last(registry: Registry) -> None:
    repo = registry.repository("app")
    digest = repo.manifests.put(image_manifest(repo)).digest
    names = ["b", "a", "C", "1.0", "_z", "a-b", "a.b"]
    for name in names:
        repo.tags.tag(name, digest)
    assert repo.tags.list() == sorted(names)
    assert repo.tags.list(n=2) == sorted(names)[:2]
    assert repo.tags.list(last="a") == [t for t in sorted(names) if t > "a"]
    assert repo.tags.list(n=2, last="C") == [t for t in sorted(names) if t > "C"][:2]
    assert repo.tags.list(n=0) == []


def test_tags_of_unknown_repository_is_name_unknown(registry: Registry) -> None:
    with pytest.raises(NameUnknownError) as info:
        registry.repository("ghost").tags.list()
    assert info.value.code == "NAME_UNKNOWN"


@pytest.mark.parametrize("step", ["history entry", "current link"])
def test_two_tags_written_at_once_both_land(
    registry: Registry, driver: StorageDriver, step: str
) -> None:
    """One writer is held before it writes a step of a shared tag while the other tags
    whole: both own tags land, the shared tag names the writer that finished last, and its
    history names both."""
    repo = registry.repository("app")
    first, second = (repo.manifests.put(image_manifest(repo, seed=str(i))).digest for i in range(2))
    held_path = {
        "history entry": tag_index_link_path("app", "shared", first),
        "current link": tag_current_link_path("app", "shared"),
    }[step]
    with PausingDriver(driver) as pausing:
        held = pausing.pause("put_content", where=held_path.__eq__, name=f"the {step}")
        held_repo = Registry(pausing).repository("app")

        def tag_first() -> None:
            held_repo.tags.tag("t0", first)
            held_repo.tags.tag("shared", first)

        tagging = InThread(tag_first, name="the first writer")
        held.wait_until_reached(caller=tagging)
        repo.tags.tag("t1", second)
        repo.tags.tag("shared", second)
        held.release()
        tagging.result()
    assert {"t0": first, "t1": second, "shared": first}.items() <= repo.tags.all().items()
    assert repo.tags.history("shared") == sorted([first, second])


@settings(max_examples=30, deadline=None)
@given(
    tags=st.sets(st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,8}", fullmatch=True), max_size=12),
    n=st.integers(min_value=1, max_value=5),
)
def test_paging_visits_every_tag_once(tags: set[str], n: int) -> None:
    registry = Registry(open_driver("inmemory"))
    repo = registry.repository("prop")
    digest = repo.manifests.put(image_manifest(repo)).digest
    for tag in tags:
        repo.tags.tag(tag, digest)
    seen: list[str] = []
    last = None
    while page := repo.tags.list(n=n, last=last):
        seen += page
        last = page[-1]
    assert seen == sorted(tags)


def test_history_lists_every_manifest_a_tag_named(registry: Registry) -> None:
    repo = registry.repository("app")
    one = repo.manifests.put(image_manifest(repo, seed="1"), tag="t").digest
    two = repo.manifests.put(image_manifest(repo, seed="2"), tag="t").digest
    assert repo.tags.history("t") == sorted([one, two])
    repo.tags.forget("t", one)
    assert repo.tags.history("t") == [two]
    assert repo.tags.get("t") == two
    assert repo.tags.history("never") == []
