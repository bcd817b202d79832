"""The ``s3`` driver's settings, read from distribution's ``config.yml`` parameters.

:func:`read_settings` turns the ``storage.s3`` mapping (native YAML values or strings, as
environment overrides give them) into an immutable :class:`S3Settings`, with distribution's
names, defaults and ranges: ``chunksize`` and ``multipartcopychunksize`` between 5 MiB and
5 GiB, ``region`` required unless ``regionendpoint`` names an S3-compatible service, a known
``storageclass`` and canned ``objectacl``. Four names go beyond distribution:
``sessiontoken`` (temporary credentials), ``redirectendpoint`` (the public host that
presigned URLs point at), ``uploadconcurrency`` (parts one writer sends at once) and
``checksumalgorithm`` (the checksum a writer sends with each part). Unknown keys are an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from distribution_storage.driver.errors import ConfigurationError
from distribution_storage.driver.parameters import ParameterReader

MiB = 1024 * 1024
MIN_CHUNK_SIZE = 5 * MiB
"""S3's smallest part (every part but the last)."""
MAX_CHUNK_SIZE = 5 * 1024 * MiB
"""S3's largest part, and the largest object one CopyObject can copy."""
DEFAULT_CHUNK_SIZE = 10 * MiB
DEFAULT_MULTIPART_COPY_CHUNK_SIZE = 32 * MiB
DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY = 100
DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE = 32 * MiB
DEFAULT_UPLOAD_CONCURRENCY = 2
MAX_UPLOAD_CONCURRENCY = 32
CHECKSUM_ALGORITHMS = ("crc32", "none")
"""Accepted ``checksumalgorithm`` values: ``crc32`` (a writer's multipart uploads declare
CRC32 and send each part's checksum in a header, as boto3's own transfers do) or ``none``
(for services that refuse S3's checksum headers)."""
DEFAULT_CHECKSUM_ALGORITHM = "crc32"

STORAGE_CLASSES = (
    "NONE",
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "OUTPOSTS",
    "GLACIER_IR",
    "EXPRESS_ONEZONE",
)
"""Accepted ``storageclass`` values; ``NONE`` sends no storage-class header at all."""

OBJECT_ACLS = (
    "none",
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
)
"""The canned ACLs ``objectacl`` accepts; ``none`` sends no ACL header (for buckets whose
object ownership is "bucket owner enforced", which refuse most ACL headers)."""

LOG_LEVELS = (
    "off",
    "debug",
    "debugwithsigning",
    "debugwithhttpbody",
    "debugwithrequestretries",
    "debugwithrequesterrors",
    "debugwitheventstreambody",
)
"""distribution's ``loglevel`` values; anything but ``off`` turns on botocore's debug log."""


@dataclass(frozen=True, slots=True)
class S3Settings:
    """Everything the driver needs, with distribution's defaults.

    ``max_attempts`` (attempts per request, the first included, with botocore's exponential
    backoff on throttling, 5xx and connection errors) is not a distribution parameter;
    tests shorten it.
    """

    bucket: str
    region: str = "us-east-1"
    regionendpoint: str | None = None
    forcepathstyle: bool = False
    accesskey: str | None = None
    secretkey: str | None = None
    sessiontoken: str | None = None
    encrypt: bool = False
    keyid: str | None = None
    secure: bool = True
    skipverify: bool = False
    v4auth: bool = True
    chunksize: int = DEFAULT_CHUNK_SIZE
    multipartcopychunksize: int = DEFAULT_MULTIPART_COPY_CHUNK_SIZE
    multipartcopymaxconcurrency: int = DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY
    multipartcopythresholdsize: int = DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE
    rootdirectory: str = ""
    storageclass: str = "STANDARD"
    useragent: str | None = None
    objectacl: str = "private"
    usedualstack: bool = False
    accelerate: bool = False
    usefipsendpoint: bool = False
    loglevel: str = "off"
    redirectendpoint: str | None = None
    uploadconcurrency: int = DEFAULT_UPLOAD_CONCURRENCY
    checksumalgorithm: str = DEFAULT_CHECKSUM_ALGORITHM
    max_attempts: int = 5

    @property
    def key_prefix(self) -> str:
        """The prefix of every key: ``rootdirectory`` without outer slashes, plus ``/``."""
        root = self.rootdirectory.strip("/")
        return f"{root}/" if root else ""

    @property
    def secrets(self) -> tuple[str, ...]:
        """Credential values that must never appear in an error."""
        return tuple(s for s in (self.secretkey, self.sessiontoken, self.accesskey) if s)


def _loglevel(reader: ParameterReader) -> str:
    # YAML 1.1 reads a bare `off` as false; distribution treats that (and junk) as off.
    value = reader.string("loglevel", "off").lower()
    return value if value in LOG_LEVELS else "off"


def read_settings(parameters: Mapping[str, Any], *, driver: str = "s3") -> S3Settings:
    """Parse distribution's s3 parameters; raises :class:`ConfigurationError` on bad input."""
    reader = ParameterReader(driver, parameters)
    regionendpoint = reader.optional_string("regionendpoint")
    region = reader.string("region", required=regionendpoint is None) or "us-east-1"
    storageclass = reader.string("storageclass", "STANDARD").upper()
    if storageclass not in STORAGE_CLASSES:
        raise ConfigurationError(
            f"must be one of {', '.join(STORAGE_CLASSES)}, not {storageclass!r}",
            key=f"storage.{driver}.storageclass",
        )
    settings = S3Settings(
        bucket=reader.string("bucket", required=True),
        region=region,
        regionendpoint=regionendpoint,
        forcepathstyle=reader.boolean("forcepathstyle", False),
        accesskey=reader.optional_string("accesskey"),
        secretkey=reader.optional_string("secretkey"),
        sessiontoken=reader.optional_string("sessiontoken"),
        encrypt=reader.boolean("encrypt", False),
        keyid=reader.optional_string("keyid"),
        secure=reader.boolean("secure", True),
        skipverify=reader.boolean("skipverify", False),
        v4auth=reader.boolean("v4auth", True),
        chunksize=reader.integer(
            "chunksize", DEFAULT_CHUNK_SIZE, minimum=MIN_CHUNK_SIZE, maximum=MAX_CHUNK_SIZE
        ),
        multipartcopychunksize=reader.integer(
            "multipartcopychunksize",
            DEFAULT_MULTIPART_COPY_CHUNK_SIZE,
            minimum=MIN_CHUNK_SIZE,
            maximum=MAX_CHUNK_SIZE,
        ),
        multipartcopymaxconcurrency=reader.integer(
            "multipartcopymaxconcurrency", DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY, minimum=1
        ),
        multipartcopythresholdsize=reader.integer(
            "multipartcopythresholdsize",
            DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE,
            minimum=0,
            maximum=MAX_CHUNK_SIZE,
        ),
        rootdirectory=reader.string("rootdirectory", ""),
        storageclass=storageclass,
        useragent=reader.optional_string("useragent"),
        objectacl=reader.choice("objectacl", "private", OBJECT_ACLS),
        usedualstack=reader.boolean("usedualstack", False),
        accelerate=reader.boolean("accelerate", False),
        usefipsendpoint=reader.boolean("usefipsendpoint", False),
        loglevel=_loglevel(reader),
        redirectendpoint=reader.optional_string("redirectendpoint"),
        uploadconcurrency=reader.integer(
            "uploadconcurrency",
            DEFAULT_UPLOAD_CONCURRENCY,
            minimum=1,
            maximum=MAX_UPLOAD_CONCURRENCY,
        ),
        checksumalgorithm=reader.choice(
            "checksumalgorithm", DEFAULT_CHECKSUM_ALGORITHM, CHECKSUM_ALGORITHMS
        ),
    )
    reader.finish()
    if bool(settings.accesskey) != bool(settings.secretkey):
        raise ConfigurationError(
            "accesskey and secretkey go together (give both, or neither for the default chain)",
            key=f"storage.{driver}.accesskey",
        )
    if not settings.v4auth and (
        settings.regionendpoint is None or "amazonaws.com" in settings.regionendpoint
    ):
        raise ConfigurationError(
            "on Amazon S3 only v4 authentication works", key=f"storage.{driver}.v4auth"
        )
    return settings
