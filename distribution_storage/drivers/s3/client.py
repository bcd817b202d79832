"""Building the boto3 S3 client, and turning botocore's failures into the contract's errors.

:func:`make_client` maps :class:`S3Settings` onto a botocore ``Config``: endpoint and
addressing style, signature version, TLS verification, dual-stack / accelerate / FIPS,
user agent, a connection pool sized for concurrent streams, and botocore's ``standard``
retry mode (exponential backoff with jitter on throttling, 5xx and connection errors).
:func:`s3_errors` is the one place where a failure that survived those retries becomes a
typed error: a missing key is :class:`PathNotFoundError`, a missing bucket, refused
credentials or an unreachable endpoint a :class:`StorageDriverError` that says so, naming the
operation and the path and never a credential.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from distribution_storage.driver.errors import (
    PathNotFoundError,
    StorageDriverError,
    UnsupportedMethodError,
)
from distribution_storage.drivers.s3.parameters import S3Settings

NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
NOT_IMPLEMENTED_CODES = frozenset({"NotImplemented", "501", "MethodNotAllowed"})
"""What S3-compatible services answer to a request they do not implement."""
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "InvalidClientTokenId",
    }
)
MAX_POOL_CONNECTIONS = 64


def endpoint_url(settings: S3Settings, endpoint: str | None) -> str | None:
    """``endpoint`` (``regionendpoint`` or ``redirectendpoint``) as a URL with a scheme."""
    if not endpoint:
        return None
    if "://" in endpoint:
        return endpoint
    return f"{'https' if settings.secure else 'http'}://{endpoint}"


def make_client(settings: S3Settings, *, endpoint: str | None = None) -> Any:
    """A boto3 S3 client for ``settings``; ``endpoint`` overrides ``regionendpoint``."""
    s3_options: dict[str, Any] = {
        "addressing_style": "path" if settings.forcepathstyle else "auto",
        "use_accelerate_endpoint": settings.accelerate,
    }
    if settings.usedualstack:
        s3_options["use_dualstack_endpoint"] = True
    config = Config(
        region_name=settings.region,
        signature_version="s3v4" if settings.v4auth else "s3",
        s3=s3_options,
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
        max_pool_connections=MAX_POOL_CONNECTIONS,
        user_agent_extra=settings.useragent,
        use_fips_endpoint=settings.usefipsendpoint,
        connect_timeout=10,
        read_timeout=60,
        # S3-compatible services often reject the newer default integrity checksums.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    if settings.loglevel != "off":
        logging.getLogger("botocore").setLevel(logging.DEBUG)
    session = boto3.session.Session(
        aws_access_key_id=settings.accesskey,
        aws_secret_access_key=settings.secretkey,
        aws_session_token=settings.sessiontoken,
        region_name=settings.region,
    )
    url = endpoint_url(settings, endpoint or settings.regionendpoint)
    return session.client(
        "s3",
        endpoint_url=url,
        use_ssl=settings.secure,
        verify=False if settings.skipverify else None,
        config=config,
    )


def error_code(exc: ClientError) -> str:
    """The S3 error code of a botocore ``ClientError`` (``"404"`` for a bare HEAD miss)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3ErrorContext:
    """Names the bucket and endpoint in the errors :func:`s3_errors` raises."""

    def __init__(self, settings: S3Settings) -> None:
        self.bucket = settings.bucket
        self.endpoint = endpoint_url(settings, settings.regionendpoint) or "AWS S3"

    def translate(self, exc: Exception, operation: str, path: str) -> StorageDriverError:
        """The typed error for ``exc`` raised by ``operation`` on ``path``."""
        where = f"{operation} {path}"
        if isinstance(exc, ClientError):
            code = error_code(exc)
            if code in NOT_FOUND_CODES:
                return PathNotFoundError(path)
            if code == "NoSuchBucket":
                return StorageDriverError(f"{where}: bucket {self.bucket!r} does not exist")
            if code in DENIED_CODES:
                return StorageDriverError(
                    f"{where}: access denied ({code}): check the credentials and the "
                    f"permissions on bucket {self.bucket!r}"
                )
            if code in NOT_IMPLEMENTED_CODES:
                return UnsupportedMethodError(
                    f"{where}: the S3 service at {self.endpoint} does not implement it ({code})"
                )
            if code == "NoSuchUpload":
                return StorageDriverError(f"{where}: the multipart upload no longer exists")
            message = exc.response.get("Error", {}).get("Message", "")
            return StorageDriverError(f"{where}: S3 error {code}: {message}".rstrip(": "))
        if isinstance(exc, EndpointConnectionError | ConnectionClosedError | ReadTimeoutError):
            return StorageDriverError(f"{where}: cannot reach the S3 endpoint {self.endpoint}")
        if isinstance(exc, NoCredentialsError):
            return StorageDriverError(
                f"{where}: no AWS credentials: set accesskey and secretkey, or configure "
                "the default credential chain"
            )
        return StorageDriverError(f"{where}: {type(exc).__name__}: {exc}")


@contextmanager
def s3_errors(context: S3ErrorContext, operation: str, path: str) -> Iterator[None]:
    """Raise what boto3 raises inside the block as the contract's typed errors."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise context.translate(exc, operation, path) from exc
