"""Conformance cases for error reporting and for the optional capabilities.

Every error names the driver and never contains a credential the driver declares in
``secrets`` (not in its message, its arguments, nor the chained causes a traceback shows).
Redirect URLs are fetched over HTTP when the driver declares ``Capability.REDIRECT`` and
must be ``None`` otherwise; pending-upload cleanup is checked when the driver declares
``Capability.PENDING_UPLOADS``, and directory times when it declares
``Capability.DIRECTORY_TIMES``. These are the only cases that skip, and only by capability.
"""

from __future__ import annotations

import time
import traceback
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from distribution_storage.conformance.base import ConformanceBase, require
from distribution_storage.conformance.helpers import (
    assert_names_driver,
    check_bytes,
    random_bytes,
    write_all,
)
from distribution_storage.driver.contract import Capability, StorageDriver
from distribution_storage.driver.errors import PathNotFoundError, StorageDriverError

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
HTTP_TIMEOUT = 30


def fetch(url: str, method: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of an HTTP request to ``url`` (no proxy for loopback)."""
    host = urlsplit(url).hostname or ""
    handlers = [urllib.request.ProxyHandler({})] if host in LOOPBACK_HOSTS else []
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, method=method)
    with opener.open(request, timeout=HTTP_TIMEOUT) as response:
        headers = {key.lower(): value for key, value in response.headers.items()}
        return response.status, headers, response.read()


def failures(driver: StorageDriver, prefix: str) -> list[tuple[str, Callable[[], object]]]:
    """Calls that must each fail with a typed driver error."""
    missing = f"{prefix}/missing"
    closed = driver.writer(f"{prefix}/closed-writer")
    closed.cancel()
    return [
        ("get_content", lambda: driver.get_content(missing)),
        ("reader", lambda: driver.reader(missing)),
        ("reader offset", lambda: driver.reader(f"{prefix}/present", -1)),
        ("writer append", lambda: driver.writer(missing, append=True)),
        ("stat", lambda: driver.stat(missing)),
        ("list", lambda: driver.list(missing)),
        ("move", lambda: driver.move(missing, f"{prefix}/dest")),
        ("delete", lambda: driver.delete(missing)),
        ("walk", lambda: list(driver.walk(missing))),
        ("invalid path", lambda: driver.get_content(f"{prefix}//bad")),
        ("closed writer", lambda: closed.write(b"x")),
    ]


class ErrorCases(ConformanceBase):
    """Errors are typed, name the driver and never leak a credential."""

    def test_errors_name_the_driver_and_hide_credentials(
        self, driver: StorageDriver, prefix: str
    ) -> None:
        """Each failing verb raises a StorageDriverError naming the driver, without secrets."""
        driver.put_content(f"{prefix}/present", b"x")
        secrets = [secret for secret in driver.secrets if len(secret) >= 4]
        for name, call in failures(driver, prefix):
            try:
                call()
            except StorageDriverError as exc:
                assert_names_driver(exc, driver)
                shown = "".join(traceback.format_exception(exc)) + repr(exc.args)
                for secret in secrets:
                    assert secret not in shown, f"{name}: an error shows a credential"
            else:
                pytest.fail(f"{name} raised nothing")


class RedirectCases(ConformanceBase):
    """Redirect URLs serve the content directly, or the driver offers none."""

    def test_redirect_url(self, driver: StorageDriver, prefix: str) -> None:
        """GET on the URL returns the content, HEAD the right Content-Length; or None."""
        path = f"{prefix}/redirected"
        content = random_bytes(32)
        driver.put_content(path, content)
        if Capability.REDIRECT not in driver.capabilities:
            assert driver.redirect_url(path) is None
            assert driver.redirect_url(path, method="HEAD") is None
            return
        get_url = driver.redirect_url(path)
        assert isinstance(get_url, str), "a REDIRECT driver returned no URL for GET"
        status, _, body = fetch(get_url, "GET")
        assert status == 200
        check_bytes(body, content, "GET of the redirect URL")
        head_url = driver.redirect_url(path, method="HEAD")
        assert isinstance(head_url, str), "a REDIRECT driver returned no URL for HEAD"
        status, headers, body = fetch(head_url, "HEAD")
        assert status == 200
        assert headers.get("content-length") == str(len(content))
        assert body == b""


class PendingUploadCases(ConformanceBase):
    """``abort_pending_uploads`` removes old upload debris and nothing else."""

    def test_abort_pending_uploads_keeps_recent_and_committed(
        self, driver: StorageDriver, prefix: str
    ) -> None:
        """With a cutoff in the past, nothing is aborted: writers resume, content stays."""
        driver.put_content(f"{prefix}/committed", b"kept")
        writer = driver.writer(f"{prefix}/pending")
        write_all(writer, random_bytes(1024))
        writer.close()
        past = datetime.now(UTC) - timedelta(days=1)
        assert driver.abort_pending_uploads(prefix, older_than=past) == 0
        assert driver.get_content(f"{prefix}/committed") == b"kept"
        resumed = driver.writer(f"{prefix}/pending", append=True)
        assert resumed.size == 1024
        resumed.commit()
        assert len(driver.get_content(f"{prefix}/pending")) == 1024

    def test_abort_pending_uploads(self, driver: StorageDriver, prefix: str) -> None:
        """A closed, uncommitted writer is aborted by a later cutoff and cannot resume."""
        require(driver, Capability.PENDING_UPLOADS)
        driver.put_content(f"{prefix}/committed", b"kept")
        writer = driver.writer(f"{prefix}/pending")
        write_all(writer, random_bytes(1024))
        writer.close()
        later = datetime.now(UTC) + timedelta(days=1)
        assert driver.abort_pending_uploads(prefix, older_than=later) >= 1
        with pytest.raises(PathNotFoundError):
            driver.writer(f"{prefix}/pending", append=True)
        assert driver.abort_pending_uploads(prefix, older_than=later) == 0
        assert driver.get_content(f"{prefix}/committed") == b"kept"


class DirectoryTimeCases(ConformanceBase):
    """A driver declaring ``DIRECTORY_TIMES`` dates a directory by its latest change."""

    def test_a_directory_is_never_older_than_what_was_written_in_it(
        self, driver: StorageDriver, prefix: str
    ) -> None:
        """GC takes such a directory's time for its link's: it must not be older."""
        require(driver, Capability.DIRECTORY_TIMES)
        driver.put_content(f"{prefix}/dir/first", b"1")
        created = driver.stat(f"{prefix}/dir").mod_time
        time.sleep(0.05)
        driver.put_content(f"{prefix}/dir/second", b"2")
        written = driver.stat(f"{prefix}/dir/second").mod_time
        changed = driver.stat(f"{prefix}/dir").mod_time
        assert changed >= written > created
