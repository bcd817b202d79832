"""Connecting the ``gcs`` driver: credentials, endpoint, HTTP pools and the storage client.

:func:`connect` turns :class:`~.gcs_parameters.GCSParameters` into a
:class:`GCSConnection`: a ``google.cloud.storage.Client`` with connection pools sized by
``maxconcurrency``, the endpoint it talks to, and the service-account credentials that sign
URLs (when a key is configured). With ``STORAGE_EMULATOR_HOST`` set, requests go to that
emulator with anonymous credentials and a configured key only signs URLs; otherwise the
key, or application default credentials, authorise the requests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, TypeVar

import google.auth
import requests
from google.api_core.client_info import ClientInfo
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.exceptions import DefaultCredentialsError
from google.auth.transport.requests import AuthorizedSession
from google.cloud import storage
from google.oauth2 import service_account

from distribution_storage.driver.errors import ConfigurationError
from distribution_storage.drivers.gcs_parameters import GCSParameters

PUBLIC_ENDPOINT = "https://storage.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/devstorage.full_control"
_S = TypeVar("_S", bound=requests.Session)


@dataclass(frozen=True)
class GCSConnection:
    """What the driver talks through: the client, its endpoint, and the URL signer."""

    client: storage.Client
    endpoint: str
    signer: service_account.Credentials | None
    sessions_http: requests.Session
    """A plain session for resumable-upload session URIs (they carry their own authority)."""


def emulator_endpoint() -> str:
    """``STORAGE_EMULATOR_HOST`` as a URL, or an empty string when it is not set."""
    emulator = os.environ.get("STORAGE_EMULATOR_HOST", "").rstrip("/")
    if emulator and "://" not in emulator:
        emulator = f"http://{emulator}"
    return emulator


def connect(parameters: GCSParameters) -> GCSConnection:
    """Build the storage client for ``parameters`` (no request is made yet)."""
    emulator = emulator_endpoint()
    account = parameters.service_account
    signer = _signer(account) if account else None
    project = str(account.get("project_id", "")) if account else ""
    credentials: Credentials
    if emulator:
        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    elif signer is not None:
        credentials = signer.with_scopes([SCOPE])
    else:
        try:
            credentials, found = google.auth.default(scopes=[SCOPE])
        except DefaultCredentialsError:
            raise ConfigurationError(
                "no credentials: set keyfile or credentials, or configure application "
                "default credentials",
                key="storage.gcs.credentials",
            ) from None
        project = project or (found or "")
    info = None
    if parameters.useragent:
        info = ClientInfo(user_agent=parameters.useragent)  # type: ignore[no-untyped-call]
    client = storage.Client(
        project=project or os.environ.get("GOOGLE_CLOUD_PROJECT") or None,
        credentials=credentials,
        client_info=info,
        _http=_pooled(
            AuthorizedSession(credentials),  # type: ignore[no-untyped-call]
            parameters.maxconcurrency,
        ),
    )
    sessions = _pooled(requests.Session(), parameters.maxconcurrency)
    return GCSConnection(client, emulator or PUBLIC_ENDPOINT, signer, sessions)


def _signer(account: dict[str, Any]) -> service_account.Credentials:
    """Service-account credentials from the key fields; a bad key is a ConfigurationError."""
    try:
        return service_account.Credentials.from_service_account_info(account)  # type: ignore[no-untyped-call,no-any-return]
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ConfigurationError(
            f"not a usable service-account key ({type(exc).__name__})",
            key="storage.gcs.credentials",
        ) from None


def _pooled(session: _S, size: int) -> _S:
    """``session`` with connection pools of ``size`` per host (threads share the driver)."""
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
