"""The ``rewrite`` storage middleware: edits the redirect URLs the driver produces.

distribution's options: ``scheme`` and ``host`` replace those parts of the URL, and
``trimprefix`` removes a leading part of its path -- for a proxy in front of the storage
service that serves the same objects under another name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.delegating import DelegatingDriver
from distribution_storage.driver.errors import ConfigurationError

_OPTIONS = ("scheme", "host", "trimprefix")


class RewriteMiddleware(DelegatingDriver):
    """Replaces scheme and host of, and trims a prefix from, the driver's redirect URLs."""

    def __init__(
        self, inner: StorageDriver, *, scheme: str = "", host: str = "", trimprefix: str = ""
    ) -> None:
        super().__init__(inner)
        self.scheme = scheme
        self.host = host
        self.trimprefix = trimprefix

    def redirect_url(self, path: str, *, method: str = "GET") -> str | None:
        """The driver's URL with the configured parts replaced; None if it has none."""
        url = self.inner.redirect_url(path, method=method)
        if url is None:
            return None
        parts = urlsplit(url)
        if self.scheme:
            parts = parts._replace(scheme=self.scheme)
        if self.host:
            parts = parts._replace(netloc=self.host)
        if self.trimprefix and parts.path.startswith(self.trimprefix):
            parts = parts._replace(path=parts.path[len(self.trimprefix) :] or "/")
        return urlunsplit(parts)


def create(inner: StorageDriver, options: Mapping[str, Any]) -> StorageDriver:
    """Build the middleware from distribution's options (``scheme``, ``host``, ``trimprefix``)."""
    unknown = set(options) - set(_OPTIONS)
    if unknown:
        raise ConfigurationError(
            f"unknown option {sorted(unknown)[0]!r} (takes {', '.join(_OPTIONS)})",
            key="middleware.storage.rewrite",
        )
    values = {key: str(options.get(key) or "") for key in _OPTIONS}
    return RewriteMiddleware(inner, **values)
