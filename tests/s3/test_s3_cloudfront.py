"""The cloudfront middleware over the s3 driver: signed URLs and the AWS IP-range filter.

URLs are signed with a throwaway RSA key and verified here with its public key against a
canned policy written out independently. The AWS IP ranges are served by a local
``http.server`` (and read from a file), so the filter, the region choice and the periodic
re-read run for real; the client address is stated with ``client_address``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from distribution_storage.config import open_storage, parse_config
from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.errors import ConfigurationError
from distribution_storage.driver.middleware import apply_middleware
from distribution_storage.driver.middleware.cloudfront import client_address
from distribution_storage.drivers import open_driver

BASEURL = "https://d111111abcdef8.cloudfront.net"
RANGES = {
    "syncToken": "1",
    "prefixes": [
        {"ip_prefix": "3.5.140.0/22", "region": "eu-west-1", "service": "AMAZON"},
        {"ip_prefix": "52.95.0.0/16", "region": "us-east-1", "service": "S3"},
    ],
    "ipv6_prefixes": [{"ipv6_prefix": "2600:1f00::/24", "region": "us-east-1", "service": "S3"}],
}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def pem_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> str:
    path = tmp_path / "pk-APKATEST.pem"
    path.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return str(path)


class RangesServer:
    """Serves ``document`` as JSON on 127.0.0.1 and counts the requests."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = json.loads(json.dumps(RANGES))
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                body = json.dumps(owner.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ip-ranges.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ranges_server() -> Iterator[RangesServer]:
    server = RangesServer()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_params: Callable[..., dict[str, Any]]) -> StorageDriver:
    driver = open_driver("s3", **s3_params())
    driver.put_content("/docker/blob/data", b"layer bytes")
    return driver


def verify(url: str, key: rsa.RSAPrivateKey, *, duration: float) -> str:
    """Check a canned-policy signed URL with the public key; returns the signed resource."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert query["Key-Pair-Id"] == ["APKATEST"]
    expires = int(query["Expires"][0])
    assert abs(expires - (time.time() + duration)) < 5
    resource = f"{parts.scheme}://{parts.netloc}{parts.path}"
    policy = (
        '{"Statement":[{"Resource":"' + resource + '","Condition":{"DateLessThan":'
        '{"AWS:EpochTime":' + str(expires) + "}}}]}"
    )
    encoded = query["Signature"][0].replace("-", "+").replace("_", "=").replace("~", "/")
    key.public_key().verify(
        base64.b64decode(encoded), policy.encode(), padding.PKCS1v15(), hashes.SHA1()
    )
    with pytest.raises(InvalidSignature):
        key.public_key().verify(
            base64.b64decode(encoded), policy.encode() + b" ", padding.PKCS1v15(), hashes.SHA1()
        )
    return resource


def test_signed_url_verifies_with_the_public_key(
    s3: StorageDriver, pem_file: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    options = {"baseurl": BASEURL + "/", "privatekey": pem_file, "keypairid": "APKATEST"}
    driver = apply_middleware(s3, "cloudfront", {**options, "duration": "300s"})
    url = driver.redirect_url("/docker/blob/data") or ""
    assert verify(url, rsa_key, duration=300) == f"{BASEURL}/docker/blob/data"
    default = apply_middleware(s3, "cloudfront", options)
    verify(default.redirect_url("/docker/blob/data") or "", rsa_key, duration=1200)
    assert default.redirect_url("/docker/blob/data", method="PUT") is None


def presigned_s3(url: str | None) -> bytes:
    assert url is not None and "cloudfront" not in url
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def test_clients_inside_aws_ranges_get_s3_presigned_urls(
    s3: StorageDriver, pem_file: str, rsa_key: rsa.RSAPrivateKey, ranges_server: RangesServer
) -> None:
    options = {
        "baseurl": BASEURL,
        "privatekey": pem_file,
        "keypairid": "APKATEST",
        "ipfilteredby": "aws",
        "iprangesurl": ranges_server.url,
    }
    driver = apply_middleware(s3, "cloudfront", options)
    for inside in ("3.5.141.9", "52.95.1.1", "2600:1f00::5"):
        with client_address(inside):
            assert presigned_s3(driver.redirect_url("/docker/blob/data")) == b"layer bytes"
    for outside in ("8.8.8.8", "not-an-ip", None):
        with client_address(outside):
            verify(driver.redirect_url("/docker/blob/data") or "", rsa_key, duration=1200)
    verify(driver.redirect_url("/docker/blob/data") or "", rsa_key, duration=1200)
    assert ranges_server.requests == 1


def test_awsregion_filter_keeps_only_the_named_regions(
    s3: StorageDriver, pem_file: str, rsa_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    ranges_file = tmp_path / "ip-ranges.json"
    ranges_file.write_text(json.dumps(RANGES))
    options = {
        "baseurl": BASEURL,
        "privatekey": pem_file,
        "keypairid": "APKATEST",
        "ipfilteredby": "awsregion",
        "awsregion": "us-east-1, us-west-2",
        "iprangesurl": str(ranges_file),
    }
    driver = apply_middleware(s3, "cloudfront", options)
    with client_address("52.95.1.1"):
        assert presigned_s3(driver.redirect_url("/docker/blob/data")) == b"layer bytes"
    with client_address("3.5.141.9"):  # AWS, but eu-west-1
        verify(driver.redirect_url("/docker/blob/data") or "", rsa_key, duration=1200)


def test_ranges_are_read_again_after_updatefrequency(
    s3: StorageDriver, pem_file: str, ranges_server: RangesServer
) -> None:
    options = {
        "baseurl": BASEURL,
        "privatekey": pem_file,
        "keypairid": "APKATEST",
        "ipfilteredby": "aws",
        "iprangesurl": ranges_server.url,
        "updatefrequency": "1s",
    }
    driver = apply_middleware(s3, "cloudfront", options)
    ranges_server.document["prefixes"] = [{"ip_prefix": "18.0.0.0/8", "region": "x"}]
    with client_address("18.1.2.3"):
        assert (driver.redirect_url("/docker/blob/data") or "").startswith(BASEURL)
        time.sleep(1.1)
        assert presigned_s3(driver.redirect_url("/docker/blob/data")) == b"layer bytes"
    assert ranges_server.requests == 2


def test_unreachable_ranges_fall_back_to_cloudfront_for_everyone(
    s3: StorageDriver, pem_file: str
) -> None:
    ranges_server = RangesServer()
    url = ranges_server.url
    ranges_server.stop()
    options = {
        "baseurl": BASEURL,
        "privatekey": pem_file,
        "keypairid": "APKATEST",
        "ipfilteredby": "aws",
        "iprangesurl": url,
    }
    driver = apply_middleware(s3, "cloudfront", options)
    with client_address("3.5.141.9"):
        assert (driver.redirect_url("/docker/blob/data") or "").startswith(BASEURL)


def test_config_yml_middleware_section(
    s3_params: Callable[..., dict[str, Any]], pem_file: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    params = "\n".join(f"    {k}: {v}" for k, v in s3_params().items())
    text = (
        f"version: 0.1\nstorage:\n  s3:\n{params}\n"
        "middleware:\n  storage:\n    - name: cloudfront\n      options:\n"
        f"        baseurl: {BASEURL}/\n        privatekey: {pem_file}\n"
        "        keypairid: APKATEST\n        duration: 10m\n"
    )
    driver = open_storage(parse_config(text, environ={}))
    driver.put_content("/x", b"1")
    verify(driver.redirect_url("/x") or "", rsa_key, duration=600)


@pytest.mark.parametrize(
    ("change", "culprit"),
    [
        ({"keypairid": ""}, "keypairid"),
        ({"baseurl": "not a url"}, "baseurl"),
        ({"privatekey": "/nonexistent/key.pem"}, "privatekey"),
        ({"ipfilteredby": "everyone"}, "ipfilteredby"),
        ({"ipfilteredby": "awsregion"}, "awsregion"),
        ({"duration": "soon"}, "duration"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_options_are_configuration_errors(
    s3: StorageDriver, pem_file: str, change: dict[str, str], culprit: str
) -> None:
    options = {"baseurl": BASEURL, "privatekey": pem_file, "keypairid": "APKATEST", **change}
    with pytest.raises(ConfigurationError) as caught:
        apply_middleware(s3, "cloudfront", options)
    assert culprit in str(caught.value)


def test_a_key_file_without_a_key_is_a_configuration_error(
    s3: StorageDriver, tmp_path: Path
) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("-----BEGIN NOTHING-----\n")
    options = {"baseurl": BASEURL, "privatekey": str(bogus), "keypairid": "APKATEST"}
    with pytest.raises(ConfigurationError, match="no unencrypted PEM key"):
        apply_middleware(s3, "cloudfront", options)
