"""Conformance cases for whole-object content and for path rules.

Distribution's put/get cases (root exists, valid and invalid paths, write/read of ASCII,
UTF-8, random and 1 MiB content, non-UTF-8 bytes, truncation, missing paths, repeated puts)
and the path cases it lacks: every allowed character, deep nesting and long names. Every
case works under the test's private prefix.
"""

from __future__ import annotations

import string
from collections.abc import Callable

import pytest

from distribution_storage.conformance.base import ConformanceBase
from distribution_storage.conformance.helpers import assert_names_driver, check_bytes, random_bytes
from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import InvalidPathError, PathNotFoundError
from distribution_storage.driver.paths import ROOT

VALID_EXAMPLES = (
    "/a",
    "/2",
    "/a.a",
    "/0-9/abcdefg",
    "/abc/1.2.3.4.5-6_zyx/123.z/4",
    "/.abc",
    "/a--b",
    "/_.abc",
    "/Abc/Cba",
)
"""distribution's valid example paths; the suite puts them under the test's prefix."""

INVALID_RELATIVE = ("", "abc", "123.abc")
"""Invalid paths used as they are (they cannot be put under a prefix)."""

INVALID_SUFFIXES = ("/", "//bcd", "/abc_123/", "/a b", "/a:b", "/caf\u00e9", "/../x", "/./x")
"""Invalid paths once appended to the test's prefix."""

SAMPLES = {
    "ascii": b"a",
    "utf8": "\u00df".encode(),
    "random32": random_bytes(32, seed=32),
    "1MiB": random_bytes(1024 * 1024, seed=1024),
}
"""distribution's write/read 1-4 contents."""

NON_UTF8 = b"\x80\x80\x80\x80"
ALLOWED_CHARACTERS = string.ascii_letters + string.digits + "._-"
MAX_COMPONENT = 100
MAX_PATH = 200


class ContentCases(ConformanceBase):
    """put_content / get_content round trips, truncation, missing paths and path rules."""

    def test_driver_has_a_name(self, driver: StorageDriver) -> None:
        """The driver declares the non-empty name its errors carry."""
        assert isinstance(driver.name, str)
        assert driver.name, "the driver class sets no name"

    def test_root_exists(self, driver: StorageDriver, prefix: str) -> None:
        """``list("/")`` works, and shows a top-level directory that was written to."""
        driver.put_content(f"{prefix}/file", b"x")
        assert prefix in driver.list("/")

    def test_valid_paths(self, driver: StorageDriver, prefix: str) -> None:
        """64 bytes round-trip at each of distribution's valid example paths."""
        for example in VALID_EXAMPLES:
            path = prefix + example
            content = random_bytes(64)
            driver.put_content(path, content)
            check_bytes(driver.get_content(path), content, path)

    def test_invalid_paths(self, driver: StorageDriver, prefix: str) -> None:
        """Every verb rejects an invalid path with InvalidPathError naming the driver."""
        paths = [*INVALID_RELATIVE, *(prefix + suffix for suffix in INVALID_SUFFIXES)]
        for path in paths:
            for name, call in _verbs_on(driver, path):
                try:
                    call()
                except InvalidPathError as exc:
                    assert_names_driver(exc, driver)
                else:
                    pytest.fail(f"{name}({path!r}) raised no InvalidPathError")
        with pytest.raises(PathNotFoundError):
            driver.stat(prefix)

    def test_root_is_not_a_file(self, driver: StorageDriver, prefix: str) -> None:
        """The file verbs reject ``/`` with InvalidPathError; ``list("/")`` accepts it.

        ``delete("/")`` and moving ``/`` are left out on purpose: on a broken wrapper they
        would destroy the store the suite runs against.
        """
        calls: list[tuple[str, Callable[[], object]]] = [
            ("put_content", lambda: driver.put_content(ROOT, b"x")),
            ("get_content", lambda: driver.get_content(ROOT)),
            ("reader", lambda: driver.reader(ROOT)),
            ("writer", lambda: driver.writer(ROOT)),
            ("move to", lambda: driver.move(f"{prefix}/missing", ROOT)),
            ("redirect_url", lambda: driver.redirect_url(ROOT)),
        ]
        for name, call in calls:
            try:
                call()
            except InvalidPathError as exc:
                assert_names_driver(exc, driver)
            else:
                pytest.fail(f"{name}('/') raised no InvalidPathError")
        driver.put_content(f"{prefix}/file", b"x")
        assert prefix in driver.list(ROOT)

    @pytest.mark.parametrize("sample", sorted(SAMPLES))
    def test_write_read(self, driver: StorageDriver, prefix: str, sample: str) -> None:
        """put then get returns exactly the content (distribution's write/read 1-4)."""
        path = f"{prefix}/dir/{sample}"
        driver.put_content(path, SAMPLES[sample])
        assert driver.get_content(path) == SAMPLES[sample]

    def test_write_read_non_utf8(self, driver: StorageDriver, prefix: str) -> None:
        """Bytes that are not UTF-8 round-trip unchanged."""
        driver.put_content(f"{prefix}/non-utf8", NON_UTF8)
        assert driver.get_content(f"{prefix}/non-utf8") == NON_UTF8

    def test_truncate(self, driver: StorageDriver, prefix: str) -> None:
        """A 1 KiB put over 1 MiB leaves exactly the 1 KiB."""
        path = f"{prefix}/truncated"
        driver.put_content(path, random_bytes(1024 * 1024))
        small = random_bytes(1024)
        driver.put_content(path, small)
        assert driver.get_content(path) == small
        assert driver.stat(path).size == 1024

    def test_read_nonexistent(self, driver: StorageDriver, prefix: str) -> None:
        """get_content of a missing path raises PathNotFoundError naming the driver."""
        with pytest.raises(PathNotFoundError) as caught:
            driver.get_content(f"{prefix}/missing")
        assert_names_driver(caught.value, driver)
        assert caught.value.path == f"{prefix}/missing"

    def test_put_content_multiple_times(self, driver: StorageDriver, prefix: str) -> None:
        """4096 B then 2048 B at one path: get returns the 2048 B."""
        path = f"{prefix}/multiple"
        driver.put_content(path, random_bytes(4096))
        second = random_bytes(2048)
        driver.put_content(path, second)
        assert driver.get_content(path) == second
        assert driver.stat(path).size == 2048

    def test_empty_content(self, driver: StorageDriver, prefix: str) -> None:
        """A zero-byte put is a file of size 0 that reads back empty."""
        driver.put_content(f"{prefix}/empty", b"")
        assert driver.get_content(f"{prefix}/empty") == b""
        info = driver.stat(f"{prefix}/empty")
        assert (info.size, info.is_dir) == (0, False)

    def test_paths_with_every_allowed_character(self, driver: StorageDriver, prefix: str) -> None:
        """Components using every allowed character, and edge forms, round-trip and list."""
        names = [
            ALLOWED_CHARACTERS,
            ALLOWED_CHARACTERS[::-1],
            "-leading-dash",
            "_leading_underscore",
            ".hidden",
            "...",
            "a..b",
            "0",
            "UPPER",
            "upper",
        ]
        expected = {}
        for name in names:
            path = f"{prefix}/chars/{name}"
            expected[path] = random_bytes(16)
            driver.put_content(path, expected[path])
        for path, content in expected.items():
            check_bytes(driver.get_content(path), content, path)
        assert sorted(driver.list(f"{prefix}/chars")) == sorted(expected)
        nested = f"{prefix}/{ALLOWED_CHARACTERS}/{ALLOWED_CHARACTERS}"
        driver.put_content(nested, b"nested")
        assert driver.get_content(nested) == b"nested"

    def test_deep_nesting(self, driver: StorageDriver, prefix: str) -> None:
        """A file 20 directories deep round-trips; each level lists its one child."""
        levels = [f"{prefix}/d0"]
        for depth in range(1, 20):
            levels.append(f"{levels[-1]}/d{depth}")
        path = f"{levels[-1]}/file"
        driver.put_content(path, b"deep")
        assert driver.get_content(path) == b"deep"
        for parent, child in zip(levels, [*levels[1:], path], strict=True):
            assert driver.list(parent) == [child]
            assert driver.stat(parent).is_dir
        driver.delete(levels[0])
        with pytest.raises(PathNotFoundError):
            driver.get_content(path)

    def test_long_names(self, driver: StorageDriver, prefix: str) -> None:
        """Components of 100 characters in a path of 200 characters round-trip."""
        first = "n" * (MAX_COMPONENT - 1) + "1"
        rest = MAX_PATH - len(prefix) - len(first) - 2
        second = ("m" * (rest - 1) + "2")[:MAX_COMPONENT]
        path = f"{prefix}/{first}/{second}"
        assert len(path) <= MAX_PATH
        content = random_bytes(100)
        driver.put_content(path, content)
        check_bytes(driver.get_content(path), content)
        assert driver.list(f"{prefix}/{first}") == [path]
        assert driver.stat(path).size == 100


def _verbs_on(driver: StorageDriver, path: str) -> list[tuple[str, Callable[[], object]]]:
    """(name, zero-argument call) of every verb that takes a path, on ``path``."""
    return [
        ("put_content", lambda: driver.put_content(path, b"x")),
        ("get_content", lambda: driver.get_content(path)),
        ("reader", lambda: driver.reader(path)),
        ("writer", lambda: driver.writer(path)),
        ("stat", lambda: driver.stat(path)),
        ("list", lambda: driver.list(path)),
        ("delete", lambda: driver.delete(path)),
        ("move from", lambda: driver.move(path, "/conformance-never")),
        ("move to", lambda: driver.move("/conformance-never", path)),
        ("redirect_url", lambda: driver.redirect_url(path)),
        ("walk", lambda: list(driver.walk(path))),
    ]
