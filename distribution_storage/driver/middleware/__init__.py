"""Storage middleware: wrappers that change what a driver does, named in ``config.yml``.

distribution's ``middleware: storage:`` list names middlewares with their options; each
wraps the driver below it (the first in the list is closest to the driver). Built-in
middlewares live in this package, one module each, and expose ``create(inner, options)``;
third-party ones register that function through the entry-point group
``distribution_storage.middleware``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import ConfigurationError

ENTRY_POINT_GROUP = "distribution_storage.middleware"

MiddlewareFactory = Callable[[StorageDriver, Mapping[str, Any]], StorageDriver]

BUILTIN_MIDDLEWARES: Mapping[str, str] = {
    "redirect": "distribution_storage.driver.middleware.redirect",
    "rewrite": "distribution_storage.driver.middleware.rewrite",
    "cloudfront": "distribution_storage.driver.middleware.cloudfront",
    "faults": "distribution_storage.driver.middleware.faults",
    "metrics": "distribution_storage.driver.middleware.metrics",
    "readonly": "distribution_storage.driver.middleware.readonly",
}


def middleware_factory(name: str) -> MiddlewareFactory:
    """The ``create`` function of the storage middleware called ``name``."""
    if name in BUILTIN_MIDDLEWARES:
        create: MiddlewareFactory = import_module(BUILTIN_MIDDLEWARES[name]).create
        return create
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            loaded: MiddlewareFactory = ep.load()
            return loaded
    known = sorted(
        {*BUILTIN_MIDDLEWARES, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))}
    )
    raise ConfigurationError(
        f"unknown storage middleware {name!r}; known: {', '.join(known)}",
        key="middleware.storage",
    )


def apply_middleware(
    driver: StorageDriver, name: str, options: Mapping[str, Any] | None = None
) -> StorageDriver:
    """``driver`` wrapped in the storage middleware ``name`` configured with ``options``."""
    return middleware_factory(name)(driver, dict(options or {}))
