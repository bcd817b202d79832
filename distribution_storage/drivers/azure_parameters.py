"""Parameters of the ``azure`` driver, read as distribution's ``config.yml`` spells them.

:class:`AzureParameters` holds ``accountname``, ``accountkey``, ``container``, ``credentials``
(``type``: ``shared_key`` | ``client_secret`` | ``default_credentials``, with ``clientid``,
``tenantid``, ``secret``), ``realm``, ``serviceurl``, ``rootdirectory``, ``max_retries``,
``retry_delay`` and ``skipverify``, with distribution's defaults, accepting strings or native
values. ``retry_delay`` is a Go duration (``100ms``, ``1.5s``, ``2m``). This module imports no
Azure SDK, so bad parameters fail before any client exists; its ``repr`` shows no secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from distribution_storage.driver.errors import ConfigurationError
from distribution_storage.driver.parameters import ParameterReader

SHARED_KEY = "shared_key"
CLIENT_SECRET = "client_secret"
DEFAULT_CREDENTIALS = "default_credentials"
CREDENTIAL_TYPES = (SHARED_KEY, CLIENT_SECRET, DEFAULT_CREDENTIALS)
DEFAULT_REALM = "core.windows.net"
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_DELAY = 0.1
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class AzureParameters:
    """The validated parameters of one ``azure`` driver."""

    accountname: str
    container: str
    credential_type: str = SHARED_KEY
    accountkey: str = field(default="", repr=False)
    clientid: str = ""
    tenantid: str = ""
    secret: str = field(default="", repr=False)
    realm: str = DEFAULT_REALM
    serviceurl: str = ""
    rootdirectory: str = ""
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_delay: float = DEFAULT_RETRY_DELAY
    skipverify: bool = False

    @property
    def account_url(self) -> str:
        """The blob service URL: ``serviceurl``, else ``https://<account>.blob.<realm>``."""
        if self.serviceurl:
            return self.serviceurl.rstrip("/")
        return f"https://{self.accountname}.blob.{self.realm}"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The credential values to scrub from errors."""
        return tuple(value for value in (self.accountkey, self.secret) if value)

    @classmethod
    def from_mapping(cls, parameters: Mapping[str, Any]) -> AzureParameters:
        """Read and check distribution's azure parameters; raises ConfigurationError."""
        reader = ParameterReader("azure", parameters)
        account = reader.string("accountname", required=True)
        container = reader.string("container", required=True)
        key = reader.string("accountkey")
        creds = reader.mapping("credentials")
        realm = reader.string("realm", DEFAULT_REALM)
        serviceurl = reader.string("serviceurl")
        root = reader.string("rootdirectory").strip("/")
        retries = reader.integer("max_retries", DEFAULT_MAX_RETRIES, minimum=0, maximum=100)
        delay = _duration(reader.string("retry_delay", "100ms"), "storage.azure.retry_delay")
        skipverify = reader.boolean("skipverify", False)
        reader.finish()
        kind = str(creds.get("type") or SHARED_KEY).lower()
        if kind not in CREDENTIAL_TYPES:
            raise ConfigurationError(
                f"must be one of {', '.join(CREDENTIAL_TYPES)}, not {kind!r}",
                key="storage.azure.credentials.type",
            )
        unknown = sorted(set(creds) - {"type", "clientid", "tenantid", "secret"})
        if unknown:
            raise ConfigurationError("unknown field", key=f"storage.azure.credentials.{unknown[0]}")
        if kind == SHARED_KEY and not key:
            raise ConfigurationError(
                "is required with shared_key credentials", key="storage.azure.accountkey"
            )
        if kind == CLIENT_SECRET:
            for name in ("clientid", "tenantid", "secret"):
                if not creds.get(name):
                    raise ConfigurationError(
                        "is required with client_secret credentials",
                        key=f"storage.azure.credentials.{name}",
                    )
        return cls(
            accountname=account,
            container=container,
            credential_type=kind,
            accountkey=key,
            clientid=str(creds.get("clientid") or ""),
            tenantid=str(creds.get("tenantid") or ""),
            secret=str(creds.get("secret") or ""),
            realm=realm,
            serviceurl=serviceurl,
            rootdirectory=root,
            max_retries=retries,
            retry_delay=delay,
            skipverify=skipverify,
        )


def _duration(text: str, key: str) -> float:
    """Seconds in a Go duration string such as ``100ms`` or ``1m30s``."""
    value = text.strip()
    if value == "0":
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(value) or not value:
        raise ConfigurationError(f"must be a duration such as 100ms or 2s, not {text!r}", key=key)
    return total
