"""Reading driver parameters as distribution's ``config.yml`` gives them.

A value may arrive as a native YAML type or as a string (environment overrides such as
``REGISTRY_STORAGE_S3_CHUNKSIZE=10485760`` are always strings): :class:`ParameterReader`
accepts both, checks ranges, and names the parameter at fault in every error. ``finish``
rejects keys the driver does not know, so a misspelt parameter is an error rather than a
silently ignored setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from distribution_storage.driver.errors import ConfigurationError

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0", ""}


class ParameterReader:
    """Typed access to one driver's parameters, remembering which keys were read."""

    def __init__(self, driver: str, parameters: Mapping[str, Any] | None) -> None:
        self.driver = driver
        self._values = {str(k).lower(): v for k, v in (parameters or {}).items()}
        self._read: set[str] = set()

    def _raw(self, key: str) -> Any:
        self._read.add(key)
        return self._values.get(key)

    def _fail(self, key: str, detail: str) -> ConfigurationError:
        return ConfigurationError(detail, key=f"storage.{self.driver}.{key}")

    def has(self, key: str) -> bool:
        """Tell whether ``key`` was given (with a non-empty value)."""
        value = self._values.get(key)
        return value is not None and value != ""

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str:
        """A string parameter; ``required`` ones must be present and non-empty."""
        value = self._raw(key)
        if value is None or value == "":
            if required:
                raise self._fail(key, "is required")
            return default if default is not None else ""
        if isinstance(value, dict | list):
            raise self._fail(key, "must be a string")
        return str(value)

    def optional_string(self, key: str) -> str | None:
        """A string parameter, or None when absent."""
        value = self.string(key)
        return value or None

    def integer(
        self,
        key: str,
        default: int,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        """An integer parameter within ``[minimum, maximum]``."""
        value = self._raw(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise self._fail(key, f"must be an integer, not {value!r}")
        try:
            number = int(value) if isinstance(value, int) else int(str(value).strip(), 0)
        except ValueError:
            raise self._fail(key, f"must be an integer, not {value!r}") from None
        if minimum is not None and number < minimum:
            raise self._fail(key, f"must be at least {minimum}, not {number}")
        if maximum is not None and number > maximum:
            raise self._fail(key, f"must be at most {maximum}, not {number}")
        return number

    def boolean(self, key: str, default: bool) -> bool:
        """A boolean parameter (``true``/``false`` and the usual spellings)."""
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self._fail(key, f"must be true or false, not {value!r}")

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        """A string parameter restricted to ``choices`` (compared case-insensitively)."""
        value = self.string(key, default).lower()
        if value not in choices:
            raise self._fail(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        """A nested mapping parameter (empty when absent)."""
        value = self._raw(key)
        if value is None or value == "":
            return {}
        if not isinstance(value, Mapping):
            raise self._fail(key, "must be a mapping")
        return {str(k).lower(): v for k, v in value.items()}

    def finish(self) -> None:
        """Reject any parameter that was not read: the driver does not know it."""
        unknown = sorted(set(self._values) - self._read)
        if unknown:
            known = ", ".join(sorted(self._read)) or "none"
            raise self._fail(unknown[0], f"unknown parameter (this driver takes: {known})")
