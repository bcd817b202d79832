"""The ``oss`` driver's parameters, as distribution's former oss driver read them.

:class:`OSSParameters` holds the parsed ``storage.oss`` section: the access key pair, region,
bucket, the internal-network and HTTPS switches, server-side encryption (``encrypt``, with a
KMS key when ``encryptionkeyid`` is set), the part size and the root directory. ``endpoint``
defaults to ``<region>[-internal].aliyuncs.com``; any host given without a scheme gets
``https://`` or ``http://`` according to ``secure``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from distribution_storage.driver.errors import ConfigurationError
from distribution_storage.driver.parameters import ParameterReader

MIB = 1 << 20
DEFAULT_CHUNK_SIZE = 10 * MIB
MIN_CHUNK_SIZE = 5 * MIB
MAX_CHUNK_SIZE = 5 * 1024 * MIB


@dataclass(frozen=True)
class OSSParameters:
    """The parsed ``storage.oss`` parameters."""

    accesskeyid: str
    accesskeysecret: str
    region: str
    bucket: str
    internal: bool = False
    encrypt: bool = False
    encryptionkeyid: str = ""
    secure: bool = True
    chunksize: int = DEFAULT_CHUNK_SIZE
    rootdirectory: str = ""
    endpoint: str = ""

    @property
    def endpoint_url(self) -> str:
        """The endpoint with its scheme."""
        host = self.endpoint or (
            f"{self.region}{'-internal' if self.internal else ''}.aliyuncs.com"
        )
        if "://" in host:
            return host
        return f"{'https' if self.secure else 'http'}://{host}"

    @property
    def signing_region(self) -> str:
        """The region as signature v4 names it (``cn-beijing`` for ``oss-cn-beijing``)."""
        return self.region.removeprefix("oss-")

    @property
    def key_prefix(self) -> str:
        """``rootdirectory`` without slashes around it, plus a slash (or empty)."""
        root = self.rootdirectory.strip("/")
        return f"{root}/" if root else ""


def parse_parameters(parameters: Mapping[str, Any]) -> OSSParameters:
    """Read and check the ``storage.oss`` parameters; unknown keys are an error."""
    r = ParameterReader("oss", parameters)
    params = OSSParameters(
        accesskeyid=r.string("accesskeyid", required=True),
        accesskeysecret=r.string("accesskeysecret", required=True),
        region=r.string("region", required=True),
        bucket=r.string("bucket", required=True),
        internal=r.boolean("internal", False),
        encrypt=r.boolean("encrypt", False),
        encryptionkeyid=r.string("encryptionkeyid"),
        secure=r.boolean("secure", True),
        chunksize=r.integer(
            "chunksize", DEFAULT_CHUNK_SIZE, minimum=MIN_CHUNK_SIZE, maximum=MAX_CHUNK_SIZE
        ),
        rootdirectory=r.string("rootdirectory"),
        endpoint=r.string("endpoint"),
    )
    r.finish()
    if params.encryptionkeyid and not params.encrypt:
        raise ConfigurationError("is set but encrypt is false", key="storage.oss.encryptionkeyid")
    return params


def encryption_headers(params: OSSParameters) -> dict[str, str]:
    """The server-side encryption headers for new objects and uploads."""
    if not params.encrypt:
        return {}
    if params.encryptionkeyid:
        return {
            "x-oss-server-side-encryption": "KMS",
            "x-oss-server-side-encryption-key-id": params.encryptionkeyid,
        }
    return {"x-oss-server-side-encryption": "AES256"}
