"""A small OCI distribution API server built on distribution-storage's registry layer.

It is the proof that the SDK is enough to embed a registry: every route below is a few lines
over :class:`distribution_storage.registry.Registry`. It reads distribution's ``config.yml``
for its storage (the ``storage:`` section, ``delete.enabled``, ``redirect.disable``), so it
can serve the very store a ``registry serve`` uses. It runs on the standard library's
``ThreadingHTTPServer``: the SDK is synchronous, and request bodies stream straight into the
upload writer, so memory does not grow with blob size. No authentication, no TLS: bind it to
a loopback address.

    python examples/registry_server.py config.yml --addr 127.0.0.1:5000
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO
from urllib.parse import parse_qs, quote, urlsplit

from distribution_storage.config import StorageConfig, load_config, open_storage
from distribution_storage.driver.errors import StorageDriverError
from distribution_storage.layout import Digest
from distribution_storage.registry import (
    MAX_MANIFEST_SIZE,
    BlobUnknownError,
    ManifestTooLargeError,
    NameInvalidError,
    Registry,
    Repository,
    UploadSession,
)
from distribution_storage.registry.mediatypes import MEDIA_TYPES, OCI_INDEX

COPY_CHUNK = 1024 * 1024
ROUTES: list[tuple[str, re.Pattern[str]]] = [
    ("base", re.compile(r"/v2/?")),
    ("catalog", re.compile(r"/v2/_catalog")),
    ("tags", re.compile(r"/v2/(?P<name>.+)/tags/list")),
    ("referrers", re.compile(r"/v2/(?P<name>.+)/referrers/(?P<digest>[^/]+)")),
    ("manifest", re.compile(r"/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)")),
    ("upload", re.compile(r"/v2/(?P<name>.+)/blobs/uploads/(?P<upload_id>[^/]*)")),
    ("blob", re.compile(r"/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)")),
]


class HTTPError(Exception):
    """An error response with an OCI error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ChunkedBody:
    """Reads a ``Transfer-Encoding: chunked`` request body as a plain stream."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.left, self.done = raw, 0, False

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the decoded body; ``b""`` at its end."""
        out = bytearray()
        while not self.done and (size < 0 or len(out) < size):
            if self.left == 0:
                line = self.raw.readline(65537).split(b";", 1)[0].strip()
                try:
                    self.left = int(line, 16)
                except ValueError:
                    raise HTTPError(400, "BLOB_UPLOAD_INVALID", "bad chunk size") from None
                if self.left == 0:
                    while self.raw.readline(65537).strip():
                        pass
                    self.done = True
                    break
            want = self.left if size < 0 else min(self.left, size - len(out))
            data = self.raw.read(want)
            if not data:
                raise HTTPError(400, "BLOB_UPLOAD_INVALID", "body ended inside a chunk")
            out += data
            self.left -= len(data)
            if self.left == 0:
                self.raw.readline(3)
        return bytes(out)


class LimitedBody:
    """At most ``length`` bytes of a request body (``Content-Length``)."""

    def __init__(self, raw: BinaryIO, length: int) -> None:
        self.raw, self.left = raw, length

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes; ``b""`` once ``length`` bytes were read."""
        want = self.left if size < 0 else min(size, self.left)
        data = self.raw.read(want) if want > 0 else b""
        self.left -= len(data)
        return data


class RegistryHandler(BaseHTTPRequestHandler):
    """Routes one request to the registry; the server holds the registry and settings."""

    protocol_version = "HTTP/1.1"
    server: RegistryServer

    def log_message(self, format: str, *args: Any) -> None:
        """Log a request only with ``--verbose``."""
        if self.server.verbose:
            super().log_message(format, *args)

    # --- plumbing -------------------------------------------------------------------------

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.body: ChunkedBody | LimitedBody | None = None
        self.responded = False
        try:
            for route, pattern in ROUTES:
                match = pattern.fullmatch(url.path)
                if match:
                    handler = getattr(self, f"{route}_{self.command.lower()}", None)
                    if handler is None:
                        raise HTTPError(405, "UNSUPPORTED", f"{self.command} not allowed here")
                    handler(**match.groupdict())
                    break
            else:
                raise HTTPError(404, "NOT_FOUND", f"no route for {url.path}")
        except HTTPError as exc:
            self._error(exc.status, exc.code, exc.message)
        except StorageDriverError as exc:
            status = getattr(exc, "http_status", 500)
            self._error(status, getattr(exc, "code", "UNKNOWN"), str(exc))
        except (ValueError, OSError) as exc:
            self._error(400 if isinstance(exc, ValueError) else 500, "UNKNOWN", str(exc))
        if self.body is None:
            self.body = self._body_reader()
        if self.body.read(1):
            self.close_connection = True  # an unread body would be taken for the next request

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _dispatch

    def _body_reader(self) -> ChunkedBody | LimitedBody:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return ChunkedBody(self.rfile)  # type: ignore[arg-type]
        return LimitedBody(self.rfile, int(self.headers.get("Content-Length") or 0))  # type: ignore[arg-type]

    def _read_body(self) -> ChunkedBody | LimitedBody:
        if self.body is None:
            self.body = self._body_reader()
        return self.body

    def _stream_into(self, session: UploadSession, *, offset: int | None = None) -> None:
        body = self._read_body()
        length = body.left if isinstance(body, LimitedBody) else None
        session.write_from(body, length=length, offset=offset)

    def _send(
        self,
        status: int,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        *,
        length: int | None = None,
    ) -> None:
        if self.responded:  # an error after the response started: all we can do is hang up
            self.close_connection = True
            return
        self.responded = True
        self.send_response(status)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(doc).encode()
        self._send(status, {"Content-Type": "application/json", **(headers or {})}, body)

    def _error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"errors": [{"code": code, "message": message, "detail": None}]})

    def _repo(self, name: str) -> Repository:
        return self.server.registry.repository(name)

    def _require_delete(self) -> None:
        if not self.server.config.delete_enabled:
            raise HTTPError(405, "UNSUPPORTED", "deletion is disabled (storage.delete.enabled)")

    def _page(self) -> tuple[int | None, str | None]:
        n = self.query.get("n")
        if n is not None and not n.isdigit():
            raise HTTPError(400, "PAGINATION_NUMBER_INVALID", f"invalid n {n!r}")
        return (int(n) if n is not None else None), self.query.get("last")

    def _next_link(self, path: str, n: int | None, items: list[str]) -> dict[str, str]:
        if n is None or len(items) < n or not items:
            return {}
        return {"Link": f'<{path}?n={n}&last={quote(items[-1])}>; rel="next"'}

    # --- routes ---------------------------------------------------------------------------

    def base_get(self) -> None:
        """``GET /v2/``: the API version check."""
        self._json(200, {})

    base_head = base_get

    def catalog_get(self) -> None:
        """``GET /v2/_catalog``: repository names, paged."""
        n, last = self._page()
        names = self.server.registry.catalog(n=n, last=last)
        self._json(200, {"repositories": names}, self._next_link("/v2/_catalog", n, names))

    def tags_get(self, name: str) -> None:
        """``GET /v2/<name>/tags/list``: tags, paged."""
        n, last = self._page()
        tags = self._repo(name).tags.list(n=n, last=last)
        link = self._next_link(f"/v2/{name}/tags/list", n, tags)
        self._json(200, {"name": name, "tags": tags}, link)

    def referrers_get(self, name: str, digest: str) -> None:
        """``GET /v2/<name>/referrers/<digest>``: an index of the manifests whose subject it is."""
        artifact_type = self.query.get("artifactType")
        found = self._repo(name).manifests.referrers(
            Digest.parse(digest), artifact_type=artifact_type
        )
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        index["manifests"] = [d.to_json() for d in found]
        headers = {"Content-Type": OCI_INDEX}
        if artifact_type is not None:
            headers["OCI-Filters-Applied"] = "artifactType"
        self._send(200, headers, json.dumps(index).encode())

    def manifest_get(self, name: str, reference: str) -> None:
        """``GET``/``HEAD /v2/<name>/manifests/<reference>``, by tag or digest."""
        repo = self._repo(name)
        manifest = repo.manifests.get(repo.resolve(reference))
        headers = {
            "Content-Type": manifest.media_type,
            "Docker-Content-Digest": str(manifest.digest),
            "ETag": f'"{manifest.digest}"',
        }
        self._send(200, headers, manifest.payload)

    manifest_head = manifest_get

    def manifest_put(self, name: str, reference: str) -> None:
        """``PUT /v2/<name>/manifests/<reference>``: verify, store, tag."""
        repo = self._repo(name)
        declared = int(self.headers.get("Content-Length") or 0)
        if declared > MAX_MANIFEST_SIZE:
            raise ManifestTooLargeError(declared, MAX_MANIFEST_SIZE)
        payload = self._read_body().read(MAX_MANIFEST_SIZE + 1)
        media_type = self.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type not in MEDIA_TYPES:  # as distribution: the content type decides
            said = f"content type {media_type!r}" if media_type else "no content type"
            raise HTTPError(400, "MANIFEST_INVALID", f"{said}: not a manifest media type")
        tag = None
        if ":" in reference:
            expected = Digest.parse(reference)
            if Digest.of(payload, expected.algorithm) != expected:
                raise HTTPError(400, "DIGEST_INVALID", "manifest does not match its digest")
        else:
            tag = reference
        manifest = repo.manifests.put(payload, media_type=media_type, tag=tag)
        headers = {
            "Location": f"/v2/{name}/manifests/{manifest.digest}",
            "Docker-Content-Digest": str(manifest.digest),
        }
        if manifest.subject is not None:
            headers["OCI-Subject"] = str(manifest.subject.digest)
        self._send(201, headers)

    def manifest_delete(self, name: str, reference: str) -> None:
        """``DELETE`` a manifest by digest, or a tag by name."""
        self._require_delete()
        repo = self._repo(name)
        if ":" in reference:
            repo.manifests.delete(Digest.parse(reference))
        else:
            repo.tags.untag(reference)
        self._send(202)

    def blob_get(self, name: str, digest: str) -> None:
        """``GET``/``HEAD /v2/<name>/blobs/<digest>``: content (ranges) or a redirect."""
        blobs = self._repo(name).blobs
        parsed = Digest.parse(digest)
        descriptor = blobs.stat(parsed)
        headers = {"Docker-Content-Digest": digest, "ETag": f'"{digest}"'}
        if self.command == "GET" and not self.server.config.redirect_disabled:
            url = blobs.redirect_url(parsed)
            if url:
                self._send(307, {**headers, "Location": url})
                return
        start, end, status = 0, descriptor.size - 1, 200
        wanted = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if wanted and (wanted[1] or wanted[2]):
            if wanted[1]:
                start = int(wanted[1])
                end = min(int(wanted[2]), end) if wanted[2] else end
            else:  # a suffix: the last N bytes
                start = max(descriptor.size - int(wanted[2]), 0)
            if start > end:
                self._send(416, {"Content-Range": f"bytes */{descriptor.size}"})
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{descriptor.size}"
        headers.update({"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"})
        self._send(status, headers, length=end - start + 1)
        if self.command == "HEAD":
            return
        left = end - start + 1
        with blobs.open(parsed, offset=start) as stream:
            while left > 0 and (chunk := stream.read(min(COPY_CHUNK, left))):
                self.wfile.write(chunk)
                left -= len(chunk)

    blob_head = blob_get

    def blob_delete(self, name: str, digest: str) -> None:
        """``DELETE /v2/<name>/blobs/<digest>``: unlink from the repository."""
        self._require_delete()
        self._repo(name).blobs.delete(Digest.parse(digest))
        self._send(202)

    def _upload_headers(self, name: str, upload_id: str, offset: int) -> dict[str, str]:
        return {
            "Location": f"/v2/{name}/blobs/uploads/{upload_id}",
            "Range": f"0-{max(offset - 1, 0)}",
            "Docker-Upload-UUID": upload_id,
        }

    def _created(self, name: str, digest: Digest) -> None:
        headers = {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": str(digest)}
        self._send(201, headers)

    def upload_post(self, name: str, upload_id: str) -> None:
        """``POST /v2/<name>/blobs/uploads/``: mount, monolithic upload, or a new session."""
        repo = self._repo(name)
        mount, source = self.query.get("mount"), self.query.get("from")
        if mount and source:
            try:
                self._created(name, repo.mount_blob(Digest.parse(mount), source).digest)
                return
            except (BlobUnknownError, NameInvalidError):
                pass
        with repo.uploads.create() as session:
            if "digest" in self.query:
                digest = Digest.parse(self.query["digest"])
                self._stream_into(session)
                self._created(name, session.commit(digest).digest)
                return
        self._send(202, self._upload_headers(name, session.id, 0))

    def upload_get(self, name: str, upload_id: str) -> None:
        """``GET`` an upload's status: its offset."""
        with self._repo(name).uploads.resume(upload_id) as session:
            offset = session.offset
        self._send(204, self._upload_headers(name, upload_id, offset))

    def upload_patch(self, name: str, upload_id: str) -> None:
        """``PATCH``: append a chunk (``Content-Range`` checked against the offset)."""
        with self._repo(name).uploads.resume(upload_id) as session:
            self._stream_into(session, offset=self._chunk_start())
        self._send(202, self._upload_headers(name, upload_id, session.offset))

    def _chunk_start(self) -> int | None:
        """Where the ``Content-Range`` of a chunk says it starts, if it says."""
        start = re.fullmatch(r"(\d+)-(\d+)", self.headers.get("Content-Range", "").strip())
        return int(start[1]) if start else None

    def upload_put(self, name: str, upload_id: str) -> None:
        """``PUT ?digest=``: append a last chunk, if any, and commit."""
        if "digest" not in self.query:
            raise HTTPError(400, "DIGEST_INVALID", "the digest query parameter is required")
        digest = Digest.parse(self.query["digest"])
        with self._repo(name).uploads.resume(upload_id) as session:
            has_body = int(self.headers.get("Content-Length") or 0) > 0
            self._stream_into(session, offset=self._chunk_start() if has_body else None)
            self._created(name, session.commit(digest).digest)

    def upload_delete(self, name: str, upload_id: str) -> None:
        """``DELETE``: cancel the upload."""
        self._repo(name).uploads.cancel(upload_id)
        self._send(204)


class RegistryServer(ThreadingHTTPServer):
    """The HTTP server: one :class:`Registry` shared by the request threads."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], config: StorageConfig, *, verbose: bool = False
    ) -> None:
        super().__init__(address, RegistryHandler)
        self.config = config
        self.registry = Registry(open_storage(config))
        self.verbose = verbose


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, open the storage, serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="distribution config.yml (its storage: section)")
    parser.add_argument("--addr", default="127.0.0.1:5000", help="host:port (port 0: any)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    host, _, port = args.addr.rpartition(":")
    server = RegistryServer((host or "127.0.0.1", int(port)), load_config(args.config))
    server.verbose = args.verbose
    address = f"{host or '127.0.0.1'}:{server.server_port}"
    print(f"listening on http://{address}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
