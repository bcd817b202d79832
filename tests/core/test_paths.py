"""Path rules of the driver contract, checked through the validating wrapper."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from distribution_storage import InvalidPathError, open_driver
from distribution_storage.driver.paths import check_path, is_under, walk_key
from distribution_storage.layout import REPOSITORIES_ROOT, split_repository_path

VALID = [
    "/a",
    "/2",
    "/a.a",
    "/0-9/abcdefg",
    "/abc/1.2.3.4.5-6_zyx/123.z/4",
    "/.abc",
    "/a--b",
    "/_.abc",
    "/Abc/Cba",
    "/..a",
    "/a..",
    "/a/...",
    "/a/.b/c.",
]
INVALID = [
    "",
    "/",
    "abc",
    "123.abc",
    "//bcd",
    "/abc_123/",
    "/a/../b",
    "/..",
    "/a/./b",
    "/a b",
    "/./a",
    "/a/.",
    "/a/..",
]


@pytest.mark.parametrize("path", VALID)
def test_valid_paths_are_accepted(path: str) -> None:
    assert check_path(path) == path


@pytest.mark.parametrize("path", INVALID)
def test_invalid_paths_raise_invalid_path_error_naming_the_driver(path: str) -> None:
    driver = open_driver("inmemory")
    with pytest.raises(InvalidPathError) as caught:
        driver.put_content(path, b"x")
    assert caught.value.driver == "inmemory"
    assert str(caught.value).startswith("inmemory: invalid path")
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("path", ["/a/../b", "/..", "/a/./b", "/./a", "/a/."])
def test_a_dot_component_is_named_as_the_reason(path: str) -> None:
    with pytest.raises(
        InvalidPathError, match=re.escape("'.' and '..' components are not allowed")
    ):
        check_path(path)


def test_root_is_valid_only_where_a_verb_accepts_it() -> None:
    driver = open_driver("inmemory")
    assert driver.list("/") == []
    with pytest.raises(InvalidPathError):
        driver.get_content("/")
    with pytest.raises(InvalidPathError):
        driver.delete("/")


def test_walk_key_puts_a_subtree_before_its_prefix_siblings() -> None:
    paths = ["/a-b", "/a/x", "/a", "/a/x/y", "/ab"]
    assert sorted(paths, key=walk_key) == ["/a", "/a/x", "/a/x/y", "/a-b", "/ab"]


def test_is_under_ignores_sibling_prefixes() -> None:
    assert is_under("/dir/dir/file", "/dir/dir")
    assert not is_under("/dir/dirsuffix/file", "/dir/dir")
    assert not is_under("/dir", "/dir")
    assert is_under("/x", "/")


@given(st.text(max_size=40))
def test_check_path_raises_only_invalid_path_error(text: str) -> None:
    with contextlib.suppress(InvalidPathError):
        assert check_path(text) == text


@given(st.lists(st.from_regex(r"[A-Za-z0-9._-]{1,12}", fullmatch=True), min_size=1, max_size=6))
def test_every_path_built_from_allowed_components_is_valid(parts: list[str]) -> None:
    path = "/" + "/".join(parts)
    if any(part in (".", "..") for part in parts):
        with pytest.raises(InvalidPathError):
            check_path(path)
    else:
        assert check_path(path) == path


def test_split_repository_path_ends_the_name_at_its_first_reserved_component() -> None:
    root = REPOSITORIES_ROOT
    assert split_repository_path(f"{root}/a/b/_manifests/tags/_uploads/current") == (
        "a/b",
        ["_manifests", "tags", "_uploads", "current"],
    )
    assert split_repository_path(f"{root}/app/_uploads") == ("app", ["_uploads"])
    assert split_repository_path(f"{root}/app") is None
    assert split_repository_path(f"{root}/app/b") is None
    assert split_repository_path(f"{root}/_layers/x") is None  # no name before it
