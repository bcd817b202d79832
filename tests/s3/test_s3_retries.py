"""Retries: a throttling or failing S3 is retried with backoff, and a lasting failure is named.

A small HTTP proxy on 127.0.0.1 sits between the driver and moto's server and answers the
first requests with S3's ``503 SlowDown`` (or a ``500``) before forwarding the rest, so the
driver's botocore retry mode meets real error answers on the wire.
"""

from __future__ import annotations

import dataclasses
import http.client
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.driver.wrapper import validated
from distribution_storage.drivers.s3 import S3Driver, read_settings

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class FlakyProxy:
    """Forwards to ``upstream`` after failing the first ``failures`` requests."""

    def __init__(self, upstream: str) -> None:
        self.failures = 0
        self.status = 503
        self.seen = 0
        target = urlsplit(upstream)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                owner.seen += 1
                if owner.failures > 0:
                    owner.failures -= 1
                    self.send_response(owner.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(SLOW_DOWN)))
                    self.end_headers()
                    self.wfile.write(SLOW_DOWN)
                    return
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = target.netloc
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                connection.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(moto_server: str) -> Iterator[FlakyProxy]:
    flaky = FlakyProxy(moto_server)
    yield flaky
    flaky.stop()


@pytest.fixture
def driver(proxy: FlakyProxy, s3_params: Callable[..., dict[str, Any]]) -> Any:
    settings = read_settings(s3_params(regionendpoint=proxy.endpoint))
    return validated(S3Driver(dataclasses.replace(settings, max_attempts=3)))


@pytest.mark.parametrize("status", [503, 500])
def test_throttling_and_server_errors_are_retried(
    driver: Any, proxy: FlakyProxy, status: int
) -> None:
    proxy.status = status
    proxy.failures = 2
    driver.put_content("/retried", b"eventually")
    assert proxy.seen == 3
    proxy.failures = 2
    assert driver.get_content("/retried") == b"eventually"


def test_a_failure_that_outlasts_the_retries_names_operation_and_path(
    driver: Any, proxy: FlakyProxy
) -> None:
    proxy.failures = 3
    with pytest.raises(StorageDriverError) as caught:
        driver.put_content("/never", b"x")
    assert str(caught.value).startswith("s3: put_content /never: S3 error SlowDown")
    assert proxy.seen == 3
