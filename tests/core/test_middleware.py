"""Storage middleware from config: redirect and rewrite."""

from __future__ import annotations

import pytest

from distribution_storage import ConfigurationError, open_driver
from distribution_storage.config import open_storage, parse_config
from distribution_storage.driver import DelegatingDriver, StorageDriver
from distribution_storage.driver.middleware import apply_middleware


class FixedRedirect(DelegatingDriver):
    """A driver below the middleware that redirects to a storage host."""

    def redirect_url(self, path: str, *, method: str = "GET") -> str | None:
        return f"https://bucket.storage.example:443/prefix{path}?sig=abc"


def redirecting() -> StorageDriver:
    return FixedRedirect(open_driver("inmemory"))


def test_redirect_middleware_joins_the_base_url_and_the_path() -> None:
    config = parse_config(
        "storage: inmemory\nmiddleware:\n  storage:\n"
        "    - name: redirect\n      options:\n        baseurl: https://cdn.example.com/base/\n",
        environ={},
    )
    driver = open_storage(config)
    url = driver.redirect_url("/docker/registry/v2/blobs/sha256/ab/abcd/data")
    assert url == "https://cdn.example.com/base/docker/registry/v2/blobs/sha256/ab/abcd/data"
    driver.put_content("/still/works", b"x")
    assert driver.get_content("/still/works") == b"x"


def test_redirect_middleware_requires_an_absolute_url() -> None:
    with pytest.raises(ConfigurationError, match="baseurl"):
        apply_middleware(open_driver("inmemory"), "redirect", {"baseurl": "cdn.example.com"})


def test_rewrite_middleware_replaces_scheme_host_and_trims_the_prefix() -> None:
    driver = apply_middleware(
        redirecting(),
        "rewrite",
        {"scheme": "http", "host": "proxy.internal:8080", "trimprefix": "/prefix"},
    )
    assert driver.redirect_url("/a/b") == "http://proxy.internal:8080/a/b?sig=abc"


def test_rewrite_middleware_passes_none_through() -> None:
    driver = apply_middleware(open_driver("inmemory"), "rewrite", {"host": "x"})
    assert driver.redirect_url("/a") is None


def test_disabled_middleware_is_not_applied() -> None:
    config = parse_config(
        "storage: inmemory\nmiddleware:\n  storage:\n    - name: redirect\n      disabled: true\n"
        "      options: {baseurl: 'https://cdn.example.com'}\n",
        environ={},
    )
    assert open_storage(config).redirect_url("/a") is None


def test_unknown_middleware_options_are_rejected() -> None:
    with pytest.raises(ConfigurationError, match="unknown option 'hots'"):
        apply_middleware(open_driver("inmemory"), "rewrite", {"hots": "x"})
