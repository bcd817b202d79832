"""A real HTTP proxy on 127.0.0.1 that answers some requests with errors, for retry tests.

:class:`FlakyProxy` forwards every request to an upstream server (an emulator) and relays
its answer, except that the first ``failures`` requests whose path contains ``match`` get the
``status`` it was told to inject instead (429 or a 5xx), without reaching the upstream. The
driver under test talks to the proxy as if it were the service, so its retry policy meets
real HTTP errors over a real socket. ``seen`` records every request line, for tests that
check which requests a driver made. The injected answer has a JSON body (GCS's, Azure's
clients take any), or the one passed as ``error``: :data:`S3_SLOW_DOWN` for S3.
``unimplemented`` (a predicate of method and path) plays a service that lacks a request
altogether: every request it matches is answered ``501`` with :data:`S3_NOT_IMPLEMENTED`.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "transfer-encoding", "keep-alive", "content-length"}
S3_SLOW_DOWN = (
    "application/xml",
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>",
)
"""S3's throttling answer: content type and body."""
S3_NOT_IMPLEMENTED = (
    "application/xml",
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code>'
    b"<Message>A header you provided implies functionality that is not implemented."
    b"</Message></Error>",
)
"""What an S3-compatible service answers to a request it does not implement."""


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up on kept-alive connections are not errors here."""


class FlakyProxy:
    """Forwards to ``upstream``; injects ``status`` into the first matching requests."""

    def __init__(self, upstream: str, *, error: tuple[str, bytes] | None = None) -> None:
        self.upstream = urlsplit(upstream)
        self.error = error
        self.lock = threading.Lock()
        self.failures = 0
        self.status = 503
        self.match = ""
        self.injected = 0
        self.forwarded = 0
        self.seen: list[str] = []
        self.unimplemented: Callable[[str, str], bool] | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                lacking = proxy.unimplemented is not None and proxy.unimplemented(
                    self.command, self.path
                )
                with proxy.lock:
                    proxy.seen.append(f"{self.command} {self.path}")
                    inject = lacking or (proxy.failures > 0 and proxy.match in self.path)
                    if inject and not lacking:
                        proxy.failures -= 1
                        proxy.injected += 1
                    elif not inject:
                        proxy.forwarded += 1
                status, (content_type, payload) = (
                    proxy.status,
                    proxy.error
                    or (
                        "application/json",
                        b'{"error": {"code": %d, "message": "injected"}}' % proxy.status,
                    ),
                )
                if lacking:
                    status, (content_type, payload) = 501, S3_NOT_IMPLEMENTED
                if inject:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                conn = http.client.HTTPConnection(
                    proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port, timeout=60
                )
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                conn.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                length = response.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The proxy's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, count: int, status: int = 503, match: str = "") -> None:
        """Answer the next ``count`` requests whose path contains ``match`` with ``status``."""
        with self.lock:
            self.failures, self.status, self.match = count, status, match
            self.injected = 0

    def start(self) -> FlakyProxy:
        """Start serving; returns the proxy."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FlakyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
