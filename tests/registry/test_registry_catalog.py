"""The catalog: repository names in distribution's order, paged, from one pruned walk."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.manifests import image_manifest, push_blob

from distribution_storage import open_driver
from distribution_storage.driver.contract import StorageDriver
from distribution_storage.registry import NameInvalidError, Registry

NAMES = ["a", "a/0", "a/0/1", "a/b", "a-b", "b0", "library/alpine", "z9/x"]


def _create(registry: Registry, names: list[str]) -> None:
    for name in names:
        repo = registry.repository(name)
        repo.manifests.put(image_manifest(repo, seed=name))


def _ordered(names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: n.split("/"))


def test_catalog_is_in_component_order(registry: Registry) -> None:
    _create(registry, NAMES)
    assert registry.catalog() == _ordered(NAMES)
    assert list(registry.repositories()) == _ordered(NAMES)


def test_catalog_pages(registry: Registry) -> None:
    _create(registry, NAMES)
    expected = _ordered(NAMES)
    assert registry.catalog(n=3) == expected[:3]
    assert registry.catalog(last="a") == expected[1:]
    assert registry.catalog(n=2, last="a/0") == expected[2:4]
    assert registry.catalog(last="zz") == []
    assert registry.catalog(n=0) == []


def test_directories_without_manifests_are_not_repositories(
    registry: Registry, driver: StorageDriver
) -> None:
    push_blob(registry.repository("only/layers"), b"layer")
    with registry.repository("only/uploads").uploads.create() as upload:
        upload.write(b"x")
    _create(registry, ["real"])
    assert registry.catalog() == ["real"]


def test_walk_never_enters_repository_internals(registry: Registry) -> None:
    _create(registry, ["app"])
    seen: list[str] = []
    original = registry.driver.walk

    def spy(*args: object, **kwargs: object) -> object:
        for info in original(*args, **kwargs):  # type: ignore[arg-type]
            seen.append(info.path)
            yield info

    registry.driver.walk = spy  # type: ignore[method-assign]
    assert registry.catalog() == ["app"]
    assert not any("/_manifests/" in p or "/_layers/" in p for p in seen), seen


def test_invalid_last_is_rejected(registry: Registry) -> None:
    with pytest.raises(NameInvalidError):
        registry.catalog(last="../x")


@settings(max_examples=20, deadline=None)
@given(
    names=st.sets(
        st.lists(st.sampled_from(["a", "b", "0", "a-b", "c.d", "x_y"]), min_size=1, max_size=3).map(
            "/".join
        ),
        min_size=1,
        max_size=8,
    ),
    n=st.integers(min_value=1, max_value=4),
)
def test_paging_visits_every_repository_once_in_order(names: set[str], n: int) -> None:
    registry = Registry(open_driver("inmemory"))
    _create(registry, sorted(names))
    seen: list[str] = []
    last = None
    while page := registry.catalog(n=n, last=last):
        seen += page
        last = page[-1]
    assert seen == _ordered(list(names))
