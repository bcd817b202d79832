"""The ``cloudfront`` storage middleware: redirects become signed CloudFront URLs.

distribution's options: ``baseurl`` (the distribution's URL), ``privatekey`` (path of the
PEM key of a CloudFront key pair), ``keypairid``, ``duration`` (validity, default ``20m``),
``ipfilteredby`` (``none``, ``aws`` or ``awsregion``), ``awsregion`` (comma-separated
regions, for ``awsregion``), ``updatefrequency`` (how often the AWS IP ranges are re-read,
default ``12h``) and ``iprangesurl`` (where they are read: an http(s) URL, a ``file://`` URL
or a path). A URL is signed with a canned policy (RSA-SHA1, as CloudFront requires). When
filtering is on and the client's address lies inside the allowed AWS ranges, the client gets
the driver's own URL (an S3 presigned URL) instead, since traffic inside AWS is cheaper
without CloudFront. The contract's ``redirect_url`` takes no request, so the caller states
the client's address for the duration of a call with :func:`client_address`, a context
variable that passes unchanged through any stack of middlewares.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.delegating import DelegatingDriver
from distribution_storage.driver.errors import ConfigurationError
from distribution_storage.driver.paths import check_path
from distribution_storage.durations import parse_duration

log = logging.getLogger(__name__)

DEFAULT_IP_RANGES_URL = "https://ip-ranges.amazonaws.com/ip-ranges.json"
DEFAULT_DURATION = 20 * 60.0
DEFAULT_UPDATE_FREQUENCY = 12 * 3600.0
OPTIONS = frozenset(
    {
        "baseurl",
        "privatekey",
        "keypairid",
        "duration",
        "ipfilteredby",
        "awsregion",
        "updatefrequency",
        "iprangesurl",
    }
)

_client_ip: ContextVar[str | None] = ContextVar("distribution_storage_client_ip", default=None)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@contextlib.contextmanager
def client_address(ip: str | None) -> Iterator[None]:
    """State the requesting client's IP address for ``redirect_url`` calls in the block.

    >>> with client_address("3.5.140.7"):
    ...     url = storage.redirect_url("/docker/registry/v2/blobs/...")  # doctest: +SKIP
    """
    token = _client_ip.set(ip)
    try:
        yield
    finally:
        _client_ip.reset(token)


def current_client_address() -> str | None:
    """The client address stated by the innermost :func:`client_address` block, if any."""
    return _client_ip.get()


def _cloudfront_b64(data: bytes) -> str:
    """Base64 in CloudFront's URL-safe spelling (``+`` ``=`` ``/`` become ``-`` ``_`` ``~``)."""
    text = base64.b64encode(data).decode("ascii")
    return text.replace("+", "-").replace("=", "_").replace("/", "~")


def canned_policy(resource: str, expires: int) -> str:
    """The canned policy CloudFront checks a signature against (compact JSON)."""
    statement = {"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
    return json.dumps({"Statement": [statement]}, separators=(",", ":"))


class URLSigner:
    """Signs CloudFront URLs with a canned policy, as a trusted key group's key pair."""

    def __init__(self, private_key: rsa.RSAPrivateKey, key_pair_id: str) -> None:
        self._key = private_key
        self.key_pair_id = key_pair_id

    @classmethod
    def from_pem_file(cls, path: str, key_pair_id: str) -> URLSigner:
        """Load an RSA private key from a PEM file."""
        option = "middleware.storage.cloudfront.privatekey"
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read {path}: {exc.strerror}", key=option) from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise ConfigurationError(f"{path} holds no unencrypted PEM key", key=option) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigurationError(f"{path} holds no RSA key", key=option)
        return cls(key, key_pair_id)

    def sign(self, url: str, expires: int) -> str:
        """``url`` with ``Expires``, ``Signature`` and ``Key-Pair-Id`` appended."""
        policy = canned_policy(url, expires).encode("utf-8")
        signature = self._key.sign(
            policy, padding.PKCS1v15(), hashes.SHA1()
        )  # CloudFront requires SHA-1
        separator = "&" if "?" in url else "?"
        return (
            f"{url}{separator}Expires={expires}&Signature={_cloudfront_b64(signature)}"
            f"&Key-Pair-Id={self.key_pair_id}"
        )


class AWSIPRanges:
    """The published AWS IP ranges (optionally of some regions), re-read when stale."""

    def __init__(self, source: str, *, regions: frozenset[str], update_every: float) -> None:
        self.source = source
        self.regions = regions
        self.update_every = update_every
        self._networks: list[Network] = []
        self._next_update = 0.0
        self._lock = threading.Lock()

    def _read(self) -> bytes:
        if urlsplit(self.source).scheme in ("http", "https", "file"):
            with urllib.request.urlopen(self.source, timeout=10) as response:
                data: bytes = response.read()
                return data
        return Path(self.source).read_bytes()

    def refresh(self) -> None:
        """Read the ranges now; on failure keep the previous ones and retry later."""
        try:
            document = json.loads(self._read())
            networks: list[Network] = []
            for entry in document.get("prefixes", []) + document.get("ipv6_prefixes", []):
                if self.regions and entry.get("region") not in self.regions:
                    continue
                prefix = entry.get("ip_prefix") or entry.get("ipv6_prefix")
                if prefix:
                    networks.append(ipaddress.ip_network(prefix, strict=False))
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            log.warning("cloudfront: cannot read AWS IP ranges from %s: %s", self.source, exc)
            self._next_update = time.monotonic() + min(self.update_every, 300.0)
            return
        self._networks = networks
        self._next_update = time.monotonic() + self.update_every

    def contains(self, ip: str) -> bool:
        """Tell whether ``ip`` lies in one of the ranges (refreshing them when stale)."""
        with self._lock:
            if time.monotonic() >= self._next_update:
                self.refresh()
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    @property
    def networks(self) -> list[Network]:
        """The ranges currently in force."""
        return list(self._networks)


class CloudFrontMiddleware(DelegatingDriver):
    """Answers ``redirect_url`` with signed CloudFront URLs, or the driver's own for AWS."""

    def __init__(
        self,
        inner: StorageDriver,
        *,
        baseurl: str,
        signer: URLSigner,
        duration: float = DEFAULT_DURATION,
        aws_ranges: AWSIPRanges | None = None,
    ) -> None:
        super().__init__(inner)
        parts = urlsplit(baseurl)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                f"{baseurl!r} is not an http(s) URL with a host",
                key="middleware.storage.cloudfront.baseurl",
            )
        self.baseurl = baseurl.rstrip("/")
        self.signer = signer
        self.duration = duration
        self.aws_ranges = aws_ranges

    def redirect_url(self, path: str, *, method: str = "GET") -> str | None:
        """A signed CloudFront URL; the driver's own URL for a client inside AWS ranges."""
        check_path(path)
        if method.upper() not in ("GET", "HEAD"):
            return None
        client = current_client_address()
        if self.aws_ranges is not None and client and self.aws_ranges.contains(client):
            return self.inner.redirect_url(path, method=method)
        expires = int(time.time() + self.duration)
        return self.signer.sign(self.baseurl + quote(path), expires)


def create(inner: StorageDriver, options: Mapping[str, Any]) -> StorageDriver:
    """Build the middleware from distribution's ``cloudfront`` options."""
    key = "middleware.storage.cloudfront"
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise ConfigurationError(
            f"unknown option {unknown[0]!r} (known: {', '.join(sorted(OPTIONS))})", key=key
        )
    for required in ("baseurl", "privatekey", "keypairid"):
        if not options.get(required):
            raise ConfigurationError("is required", key=f"{key}.{required}")
    signer = URLSigner.from_pem_file(str(options["privatekey"]), str(options["keypairid"]))
    duration = parse_duration(options.get("duration") or "20m", key=f"{key}.duration")
    if duration <= 0:
        raise ConfigurationError("must be positive", key=f"{key}.duration")
    mode = str(options.get("ipfilteredby") or "none").lower()
    ranges: AWSIPRanges | None = None
    if mode not in ("none", "aws", "awsregion"):
        raise ConfigurationError(
            f"must be none, aws or awsregion, not {mode!r}", key=f"{key}.ipfilteredby"
        )
    if mode != "none":
        regions: frozenset[str] = frozenset()
        if mode == "awsregion":
            raw = options.get("awsregion") or ""
            items = raw if isinstance(raw, list) else str(raw).split(",")
            regions = frozenset(str(r).strip().lower() for r in items if str(r).strip())
            if not regions:
                raise ConfigurationError(
                    "is required when ipfilteredby is awsregion", key=f"{key}.awsregion"
                )
        update_every = parse_duration(
            options.get("updatefrequency") or "12h", key=f"{key}.updatefrequency"
        )
        ranges = AWSIPRanges(
            str(options.get("iprangesurl") or DEFAULT_IP_RANGES_URL),
            regions=regions,
            update_every=max(update_every, 1.0),
        )
        ranges.refresh()
    return CloudFrontMiddleware(
        inner,
        baseurl=str(options["baseurl"]),
        signer=signer,
        duration=duration,
        aws_ranges=ranges,
    )
