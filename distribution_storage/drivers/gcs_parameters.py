"""Parameters of the ``gcs`` driver, read as distribution's ``config.yml`` spells them.

:class:`GCSParameters` holds ``bucket``, ``rootdirectory``, ``chunksize``, ``keyfile``,
``credentials``, ``useragent`` and ``maxconcurrency`` with distribution's defaults and limits,
accepting strings or native values. Credentials are either a service-account JSON file
(``keyfile``) or the same fields inline (``credentials``); without either, the driver uses
application default credentials, or anonymous ones when ``STORAGE_EMULATOR_HOST`` points it at
an emulator. This module imports no Google SDK, so bad parameters fail before any client exists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from distribution_storage.driver.errors import ConfigurationError
from distribution_storage.driver.parameters import ParameterReader

MIN_CHUNK_SIZE = 256 * 1024
"""GCS resumable uploads take chunks in multiples of 256 KiB."""
DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024
DEFAULT_MAX_CONCURRENCY = 50
MIN_CONCURRENCY = 25


@dataclass(frozen=True)
class GCSParameters:
    """The validated parameters of one ``gcs`` driver."""

    bucket: str
    rootdirectory: str = ""
    chunksize: int = DEFAULT_CHUNK_SIZE
    service_account: dict[str, Any] | None = field(default=None, repr=False)
    useragent: str = ""
    maxconcurrency: int = DEFAULT_MAX_CONCURRENCY

    @property
    def private_key(self) -> str:
        """The service account's private key, or an empty string (a secret to scrub)."""
        if not self.service_account:
            return ""
        return str(self.service_account.get("private_key", ""))

    @classmethod
    def from_mapping(cls, parameters: Mapping[str, Any]) -> GCSParameters:
        """Read and check distribution's gcs parameters; raises ConfigurationError."""
        reader = ParameterReader("gcs", parameters)
        bucket = reader.string("bucket", required=True)
        root = reader.string("rootdirectory").strip("/")
        chunksize = reader.integer("chunksize", DEFAULT_CHUNK_SIZE, minimum=MIN_CHUNK_SIZE)
        if chunksize % MIN_CHUNK_SIZE:
            raise ConfigurationError(
                f"must be a multiple of {MIN_CHUNK_SIZE}, not {chunksize}",
                key="storage.gcs.chunksize",
            )
        keyfile = reader.optional_string("keyfile")
        inline = reader.mapping("credentials")
        useragent = reader.string("useragent")
        concurrency = reader.integer(
            "maxconcurrency", DEFAULT_MAX_CONCURRENCY, minimum=MIN_CONCURRENCY
        )
        reader.finish()
        if keyfile and inline:
            raise ConfigurationError(
                "give either keyfile or credentials, not both", key="storage.gcs.credentials"
            )
        account = _load_keyfile(keyfile) if keyfile else (_check_inline(inline) if inline else None)
        return cls(bucket, root, chunksize, account, useragent, concurrency)


def _load_keyfile(path: str) -> dict[str, Any]:
    key = "storage.gcs.keyfile"
    try:
        with open(path, encoding="utf-8") as handle:
            info = json.load(handle)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}", key=key) from None
    except ValueError:
        raise ConfigurationError(f"{path} is not a JSON service-account key", key=key) from None
    if not isinstance(info, dict):
        raise ConfigurationError(f"{path} is not a JSON service-account key", key=key)
    return _check_inline(info, key=key)


def _check_inline(
    info: Mapping[str, Any], *, key: str = "storage.gcs.credentials"
) -> dict[str, Any]:
    account = {str(k).lower(): v for k, v in info.items()}
    account.setdefault("type", "service_account")
    missing = [f for f in ("client_email", "private_key") if not account.get(f)]
    if missing:
        raise ConfigurationError(f"service-account fields missing: {', '.join(missing)}", key=key)
    account.setdefault("token_uri", "https://oauth2.googleapis.com/token")
    return account
