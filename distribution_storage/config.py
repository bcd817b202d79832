"""Reading distribution's ``config.yml``: the ``storage:`` section and storage middleware.

The same file an operator gives ``registry serve`` works here. ``storage:`` holds exactly one
driver key beside the reserved ones (``maintenance``, ``cache``, ``delete``, ``redirect``,
``tag``), or is a bare driver name (``storage: inmemory``). Parameters may be strings or
native YAML values. Environment variables override the file the way distribution's do:
``REGISTRY_STORAGE=s3`` picks the driver, ``REGISTRY_STORAGE_S3_REGION=eu-west-1`` sets one of
its parameters, ``REGISTRY_STORAGE_DELETE_ENABLED=true`` a reserved setting. Errors name the
key at fault. :func:`open_storage` turns a config into a driver behind the validating
wrapper, with the configured middlewares around it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import ConfigurationError
from distribution_storage.driver.middleware import apply_middleware
from distribution_storage.drivers import open_driver_from_parameters
from distribution_storage.durations import parse_duration

__all__ = [
    "MiddlewareConfig",
    "StorageConfig",
    "load_config",
    "open_storage",
    "parse_config",
    "parse_duration",
]

RESERVED_KEYS = ("maintenance", "cache", "delete", "redirect", "tag")
ENV_PREFIX = "REGISTRY_STORAGE"


@dataclass(frozen=True)
class MiddlewareConfig:
    """One entry of ``middleware: storage:``: a middleware name and its options."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    disabled: bool = False


@dataclass(frozen=True)
class StorageConfig:
    """The storage part of a distribution configuration."""

    driver: str
    parameters: dict[str, Any] = field(default_factory=dict)
    maintenance: dict[str, Any] = field(default_factory=dict)
    delete_enabled: bool = False
    redirect_disabled: bool = False
    middleware: tuple[MiddlewareConfig, ...] = ()
    source: str = "<config>"

    @property
    def upload_purging(self) -> dict[str, Any]:
        """``maintenance.uploadpurging`` (``enabled``, ``age``, ``interval``, ``dryrun``)."""
        section = self.maintenance.get("uploadpurging") or {}
        return dict(section) if isinstance(section, Mapping) else {}


def load_config(
    source: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> StorageConfig:
    """Read a distribution ``config.yml`` from a file path, with environment overrides."""
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such configuration file") from None
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_config(text, environ=environ, source=str(path))


def parse_config(
    text: str,
    *,
    environ: Mapping[str, str] | None = None,
    source: str = "<config>",
) -> StorageConfig:
    """Parse the text of a distribution ``config.yml``, with environment overrides."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigurationError(f"{source}: not valid YAML{where}") from None
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        raise ConfigurationError(f"{source}: the configuration must be a mapping")
    env = os.environ if environ is None else environ
    storage = _storage_section(document.get("storage"), source)
    storage = _apply_environment(storage, env)
    return _build(storage, document.get("middleware"), source)


def _storage_section(raw: Any, source: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        return {raw: {}}
    if not isinstance(raw, Mapping):
        raise _fail(source, "storage", "must be a mapping or a driver name")
    return {str(k).lower(): v for k, v in raw.items()}


def _apply_environment(storage: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Overlay ``REGISTRY_STORAGE*`` variables, the way distribution's env parsing does."""
    storage = {key: _copy(value) for key, value in storage.items()}
    chosen = environ.get(ENV_PREFIX)
    if chosen:
        chosen = chosen.lower()
        for name in [k for k in storage if k not in RESERVED_KEYS and k != chosen]:
            del storage[name]
        storage.setdefault(chosen, {})
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX + "_"):
            continue
        parts = variable[len(ENV_PREFIX) + 1 :].lower().split("_")
        _set_nested(storage, parts, environ[variable], variable)
    return storage


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k).lower(): _copy(v) for k, v in value.items()}
    return value


def _set_nested(
    tree: dict[str, Any], parts: list[str], value: str, variable: str, *, top: bool = True
) -> None:
    # Keys may contain underscores themselves (azure's max_retries), so descend into the
    # longest run of parts that names an existing mapping; what is left is the key. At the
    # top level the first part always names a section (a driver, delete, maintenance...).
    for length in range(len(parts) - 1, 0, -1):
        key = "_".join(parts[:length])
        if isinstance(tree.get(key), dict):
            _set_nested(tree[key], parts[length:], value, variable, top=False)
            return
    if top and len(parts) > 1:
        if tree.get(parts[0]) not in (None, ""):
            raise ConfigurationError("overrides a setting that is not a mapping", key=variable)
        tree[parts[0]] = {}
        _set_nested(tree[parts[0]], parts[1:], value, variable, top=False)
        return
    tree["_".join(parts)] = value


def _build(storage: dict[str, Any], middleware: Any, source: str) -> StorageConfig:
    drivers = [key for key in storage if key not in RESERVED_KEYS]
    if len(drivers) != 1:
        found = ", ".join(drivers) if drivers else "none"
        raise _fail(
            source, "storage", f"exactly one storage driver must be configured (found: {found})"
        )
    name = drivers[0]
    parameters = storage[name]
    if parameters is None or parameters == "":
        parameters = {}
    if not isinstance(parameters, Mapping):
        raise _fail(source, f"storage.{name}", "driver parameters must be a mapping")
    maintenance = _mapping(storage.get("maintenance"), "storage.maintenance", source)
    delete = _mapping(storage.get("delete"), "storage.delete", source)
    redirect = _mapping(storage.get("redirect"), "storage.redirect", source)
    return StorageConfig(
        driver=name,
        parameters=dict(parameters),
        maintenance=maintenance,
        delete_enabled=_flag(delete.get("enabled", False), "storage.delete.enabled", source),
        redirect_disabled=_flag(redirect.get("disable", False), "storage.redirect.disable", source),
        middleware=_middleware(middleware, source),
        source=source,
    )


def _fail(source: str, key: str, detail: str) -> ConfigurationError:
    error = ConfigurationError(detail, key=key)
    error.detail = f"{source}: {error.detail}"
    error.args = (error.detail,)
    return error


def _mapping(value: Any, key: str, source: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping):
        raise _fail(source, key, "must be a mapping")
    return {str(k).lower(): v for k, v in value.items()}


def _flag(value: Any, key: str, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0", ""):
        return False
    raise _fail(source, key, f"must be true or false, not {value!r}")


def _middleware(raw: Any, source: str) -> tuple[MiddlewareConfig, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise _fail(source, "middleware", "must be a mapping")
    entries = raw.get("storage") or []
    if not isinstance(entries, list):
        raise _fail(source, "middleware.storage", "must be a list")
    result = []
    for index, entry in enumerate(entries):
        key = f"middleware.storage[{index}]"
        if not isinstance(entry, Mapping) or not entry.get("name"):
            raise _fail(source, key, "each entry needs a name")
        options = entry.get("options") or {}
        if not isinstance(options, Mapping):
            raise _fail(source, f"{key}.options", "options must be a mapping")
        disabled = _flag(entry.get("disabled", False), f"{key}.disabled", source)
        result.append(MiddlewareConfig(str(entry["name"]), dict(options), disabled))
    return tuple(result)


def open_storage(config: StorageConfig) -> StorageDriver:
    """The configured driver, behind the validating wrapper, inside its middlewares."""
    driver = open_driver_from_parameters(config.driver, config.parameters)
    for entry in config.middleware:
        if not entry.disabled:
            driver = apply_middleware(driver, entry.name, entry.options)
    return driver
