"""The ``redirect`` storage middleware: every redirect goes to one base URL plus the path.

distribution's option ``baseurl`` (a URL with scheme and host, e.g. a CDN in front of the
storage): ``redirect_url("/docker/registry/v2/blobs/...")`` answers
``<baseurl>/docker/registry/v2/blobs/...`` whatever the driver below would have said.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.delegating import DelegatingDriver
from distribution_storage.driver.errors import ConfigurationError
from distribution_storage.driver.paths import check_path


class RedirectMiddleware(DelegatingDriver):
    """Answers ``redirect_url`` with ``baseurl`` joined to the path."""

    def __init__(self, inner: StorageDriver, baseurl: str) -> None:
        super().__init__(inner)
        parts = urlsplit(baseurl)
        if not parts.scheme or not parts.netloc:
            raise ConfigurationError(
                f"{baseurl!r} is not an absolute URL with a scheme and a host",
                key="middleware.storage.redirect.baseurl",
            )
        self._base = parts

    def redirect_url(self, path: str, *, method: str = "GET") -> str | None:
        """``baseurl`` with ``path`` appended to its own path."""
        check_path(path)
        joined = posixpath.join(self._base.path or "/", path.lstrip("/"))
        return urlunsplit(self._base._replace(path=joined))


def create(inner: StorageDriver, options: Mapping[str, Any]) -> StorageDriver:
    """Build the middleware from distribution's options (``baseurl``)."""
    unknown = set(options) - {"baseurl"}
    if unknown:
        raise ConfigurationError(
            f"unknown option {sorted(unknown)[0]!r}", key="middleware.storage.redirect"
        )
    baseurl = options.get("baseurl")
    if not baseurl:
        raise ConfigurationError("is required", key="middleware.storage.redirect.baseurl")
    return RedirectMiddleware(inner, str(baseurl))
