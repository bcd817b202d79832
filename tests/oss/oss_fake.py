"""A fake Alibaba Cloud OSS server for the oss driver's tests (no real OSS server exists).

It speaks the wire format oss2 really sends to an IP endpoint: path-style ``/bucket/key`` with
``/`` in keys sent as ``%2F``; v1 ``Authorization: OSS ak:signature`` (HMAC-SHA1 over the verb,
Content-MD5, Content-Type, Date, the sorted ``x-oss-*`` headers and the resource with its
sub-resources) and v4 ``OSS4-HMAC-SHA256`` headers, and both kinds of signed URLs; a wrong
secret or an expired URL is refused with a 403. Each bucket belongs to one account (access key
id; :meth:`FakeOSS.add_account` adds more), and a request, or the copy source it names, on
another account's bucket is refused with AccessDenied. Objects, copies (``x-oss-copy-source``
and ``-range``, from any bucket of the account), batch delete (``POST ?delete`` with a
checked Content-MD5), multipart uploads (``?uploads``, ``?uploadId=&partNumber=``,
``POST ?uploadId=``, listings of uploads and parts) and ranged reads behave as OSS documents
them, including its answer of 200 with the whole object to an unsatisfiable range.
Responses are XML without a namespace, with upper-case ETags and the ``x-oss-request-id`` and
``x-oss-hash-crc64ecma`` headers; errors are OSS's ``<Error><Code>`` documents. State lives
in memory; the server runs in a thread.
"""

from __future__ import annotations

import base64
import calendar
import contextlib
import hashlib
import hmac
import itertools
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

import crcmod

crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)
MIN_PART_SIZE = 100 * 1024
SUBRESOURCES = frozenset(
    [
        "acl",
        "uploads",
        "uploadId",
        "partNumber",
        "delete",
        "location",
        "objectMeta",
        "stat",
        "bucketInfo",
        "append",
        "position",
        "security-token",
        "continuation-token",
        "symlink",
        "tagging",
        "versionId",
        "versions",
        "response-content-type",
        "response-content-disposition",
        "response-expires",
        "response-cache-control",
        "response-content-encoding",
        "response-content-language",
    ]
)


class OSSError(Exception):
    """An error answered as OSS does: status, Code and Message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Blob:
    """One stored object or uploaded part."""

    data: bytes
    mtime: float = field(default_factory=time.time)
    kind: str = "Normal"
    etag: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.etag:
            self.etag = hashlib.md5(self.data).hexdigest().upper()


@dataclass
class Upload:
    """A multipart upload in progress."""

    bucket: str
    key: str
    upload_id: str
    initiated: float
    headers: dict[str, str]
    parts: dict[int, Blob] = field(default_factory=dict)


def iso(ts: float) -> str:
    """OSS's ISO 8601 time: whole seconds, always written with ``.000Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def v4_encode(text: str, keep_slash: bool) -> str:
    """The URI encoding of OSS signature v4."""
    return quote(text, safe="-_.~" + ("/" if keep_slash else ""))


class FakeOSS:
    """The server: buckets, uploads and credentials; ``start`` and ``stop`` it."""

    def __init__(self, access_key_id: str, access_key_secret: str, region: str) -> None:
        self.credentials = {access_key_id: access_key_secret}
        self.account = access_key_id
        self.region = region
        self.buckets: dict[str, dict[str, Blob]] = {}
        self.owners: dict[str, str] = {}  # bucket -> the access key id of its account
        self.uploads: dict[str, Upload] = {}
        self.lock = threading.RLock()
        self.connections: list[socket.socket] = []
        self.requests: list[tuple[str, str]] = []  # (method, raw path with query), for tests
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        """Serve on a free port of 127.0.0.1; returns the endpoint URL."""
        fake = self

        class Handler(OSSRequestHandler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for connection in self.connections:  # keep-alive connections die with the server
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def add_account(self, access_key_id: str, access_key_secret: str) -> None:
        """Accept another account's credentials."""
        with self.lock:
            self.credentials[access_key_id] = access_key_secret

    def create_bucket(self, name: str, owner: str | None = None) -> None:
        """Create an empty bucket of ``owner``'s account (the first account's by default)."""
        with self.lock:
            self.buckets.setdefault(name, {})
            self.owners.setdefault(name, owner or self.account)


class OSSRequestHandler(BaseHTTPRequestHandler):
    """One HTTP request against the fake; dispatches on method and sub-resources."""

    server_fake: FakeOSS
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        """No Nagle delay: headers and body go out as separate writes."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server_fake.connections.append(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        """GET and every other verb go through :meth:`handle_request`."""
        self.handle_request()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

    # -- plumbing -------------------------------------------------------------------------

    def handle_request(self) -> None:
        """Parse, authenticate, dispatch, and answer (an OSS error document on failure)."""
        self.request_id = uuid.uuid4().hex[:24].upper()
        fake = self.server_fake
        parts = urlsplit(self.path)
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))
        raw = parts.path.lstrip("/")
        bucket_raw, _, key_raw = raw.partition("/")
        self.bucket_name, self.key = unquote(bucket_raw), unquote(key_raw)
        self.body = self.read_body()
        fake.requests.append((self.command, self.path))
        self.pending: tuple[int, bytes, dict[str, str]] | None = None
        self.access_key = ""
        try:
            self.authenticate(fake)
            with fake.lock:  # the answer is prepared under the lock and sent after it
                self.dispatch(fake)
        except OSSError as exc:
            body = b""
            if self.command != "HEAD":
                body = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
                    f"<Code>{exc.code}</Code><Message>{escape(exc.message)}</Message>"
                    f"<RequestId>{self.request_id}</RequestId><HostId>127.0.0.1</HostId>"
                    "</Error>"
                ).encode()
            self.reply(exc.status, body, {"Content-Type": "application/xml"})
        if self.pending is not None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send(*self.pending)

    def read_body(self) -> bytes:
        """The request body, by Content-Length or in chunked transfer encoding."""
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """Prepare the response (sent once the request is handled)."""
        self.pending = (status, body, headers or {})

    def send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """Send a response with OSS's common headers."""
        self.send_response(status)
        self.send_header("x-oss-request-id", self.request_id)
        self.send_header("Server", "AliyunOSS")
        self.send_header("Date", formatdate(usegmt=True))
        all_headers = {"Content-Length": str(len(body)), **headers}
        for name, value in all_headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def xml(self, root: str, inner: str, headers: dict[str, str] | None = None) -> None:
        """Answer 200 with an XML document (no namespace, as OSS)."""
        doc = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{inner}</{root}>'
        self.reply(200, doc.encode(), {"Content-Type": "application/xml", **(headers or {})})

    # -- authentication -------------------------------------------------------------------

    def authenticate(self, fake: FakeOSS) -> None:
        """Check the v1 or v4 header signature, or a v1 or v4 signed URL."""
        auth = self.headers.get("Authorization", "")
        if auth.startswith("OSS "):
            access_key, _, signature = auth[4:].partition(":")
            date = self.headers.get("x-oss-date") or self.headers.get("Date", "")
            self.check_v1(fake, access_key, signature, date)
        elif auth.startswith("OSS4-HMAC-SHA256 "):
            fields = dict(f.strip().split("=", 1) for f in auth[17:].split(","))
            extra = fields.get("AdditionalHeaders", "")
            self.check_v4(fake, fields["Credential"], fields["Signature"], extra, in_url=False)
        elif "OSSAccessKeyId" in self.query:
            if int(self.query.get("Expires", "0")) < time.time():
                raise OSSError(403, "AccessDenied", "Request has expired.")
            signature = self.query["Signature"]
            self.check_v1(fake, self.query["OSSAccessKeyId"], signature, self.query["Expires"])
        elif "x-oss-signature" in self.query:
            stamp = calendar.timegm(time.strptime(self.query["x-oss-date"], "%Y%m%dT%H%M%SZ"))
            if stamp + int(self.query["x-oss-expires"]) < time.time():
                raise OSSError(403, "AccessDenied", "Request has expired.")
            extra = self.query.get("x-oss-additional-headers", "")
            credential, signature = self.query["x-oss-credential"], self.query["x-oss-signature"]
            self.check_v4(fake, credential, signature, extra, in_url=True)
        else:
            raise OSSError(403, "AccessDenied", "You have no right to access this object.")

    def secret_for(self, fake: FakeOSS, access_key: str) -> str:
        """The secret of ``access_key``, or an InvalidAccessKeyId error; the request acts
        for that account if its signature checks out."""
        if access_key not in fake.credentials:
            raise OSSError(403, "InvalidAccessKeyId", "The OSS Access Key Id does not exist.")
        self.access_key = access_key
        return fake.credentials[access_key]

    def check_owner(self, fake: FakeOSS, bucket: str) -> None:
        """AccessDenied unless ``bucket`` belongs to the signed request's account."""
        if fake.owners.get(bucket) != self.access_key:
            raise OSSError(403, "AccessDenied", f"You have no right to access bucket {bucket}.")

    def check_v1(self, fake: FakeOSS, access_key: str, signature: str, date: str) -> None:
        """Verify a v1 HMAC-SHA1 signature."""
        oss_headers = sorted(
            (k.lower(), v) for k, v in self.headers.items() if k.lower().startswith("x-oss-")
        )
        canon = "".join(f"{k}:{v}\n" for k, v in oss_headers)
        subs = sorted((k, v) for k, v in self.query.items() if k in SUBRESOURCES)
        sub = "&".join(f"{k}={v}" if v else k for k, v in subs)
        resource = f"/{self.bucket_name}/{self.key}" if self.bucket_name else "/"
        resource += f"?{sub}" if sub else ""
        to_sign = "\n".join(
            [
                self.command,
                self.headers.get("Content-MD5", ""),
                self.headers.get("Content-Type", ""),
                date,
                canon + resource,
            ]
        )
        secret = self.secret_for(fake, access_key)
        digest = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), signature):
            raise OSSError(403, "SignatureDoesNotMatch", "The request signature does not match.")

    def check_v4(
        self, fake: FakeOSS, credential: str, signature: str, extra: str, *, in_url: bool
    ) -> None:
        """Verify an OSS4-HMAC-SHA256 signature (header or URL)."""
        access_key, day, region, product, _ = credential.split("/")
        secret = self.secret_for(fake, access_key)
        additional = [h for h in extra.split(";") if h]
        signed = sorted(
            (k.lower(), v.strip())
            for k, v in self.headers.items()
            if k.lower().startswith("x-oss-")
            or k.lower() in ("content-type", "content-md5", *additional)
        )
        params = {k: v for k, v in self.query.items() if k != "x-oss-signature"}
        query = "&".join(
            f"{k}={v}" if v else k
            for k, v in sorted(
                (v4_encode(k, False), v4_encode(v, False)) for k, v in params.items()
            )
        )
        uri = v4_encode(f"/{self.bucket_name}/{self.key}" if self.bucket_name else "/", True)
        payload = "UNSIGNED-PAYLOAD" if in_url else self.headers.get("x-oss-content-sha256", "")
        canonical = "\n".join(
            [
                self.command,
                uri,
                query,
                "".join(f"{k}:{v}\n" for k, v in signed),
                ";".join(sorted(additional)),
                payload,
            ]
        )
        stamp = self.query["x-oss-date"] if in_url else self.headers.get("x-oss-date", "")
        scope = f"{day}/{region}/{product}/aliyun_v4_request"
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        to_sign = f"OSS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
        key = ("aliyun_v4" + secret).encode()
        for part in (day, region, product, "aliyun_v4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if region != fake.region or not hmac.compare_digest(expected, signature):
            raise OSSError(403, "SignatureDoesNotMatch", "The request signature does not match.")

    # -- dispatch -------------------------------------------------------------------------

    def dispatch(self, fake: FakeOSS) -> None:
        """Route to the bucket or object operation."""
        if self.bucket_name not in fake.buckets:
            raise OSSError(404, "NoSuchBucket", "The specified bucket does not exist.")
        self.check_owner(fake, self.bucket_name)
        objects = fake.buckets[self.bucket_name]
        q, verb = self.query, self.command
        if not self.key:
            if verb == "GET" and "uploads" in q:
                return self.list_uploads(fake)
            if verb == "GET":
                return self.list_objects(objects)
            if verb == "POST" and "delete" in q:
                return self.batch_delete(objects)
            raise OSSError(405, "MethodNotAllowed", "The specified method is not allowed.")
        if verb == "POST" and "uploads" in q:
            return self.initiate(fake)
        if "uploadId" in q:
            upload = fake.uploads.get(q["uploadId"])
            if upload is None or (upload.bucket, upload.key) != (self.bucket_name, self.key):
                raise OSSError(404, "NoSuchUpload", "The specified upload does not exist.")
            if verb == "PUT":
                return self.upload_part(fake, upload)
            if verb == "POST":
                return self.complete(fake, objects, upload)
            if verb == "GET":
                return self.list_parts(upload)
            if verb == "DELETE":
                del fake.uploads[upload.upload_id]
                return self.reply(204)
        if verb == "PUT" and "x-oss-copy-source" in self.headers:
            return self.copy_object(fake, objects)
        if verb == "PUT":
            objects[self.key] = Blob(self.body, headers=self.stored_headers())
            return self.reply(200, b"", self.object_headers(objects[self.key]))
        if verb in ("GET", "HEAD"):
            return self.get_object(objects)
        if verb == "DELETE":
            objects.pop(self.key, None)
            return self.reply(204)
        raise OSSError(405, "MethodNotAllowed", "The specified method is not allowed.")

    def stored_headers(self) -> dict[str, str]:
        """Headers an object keeps (server-side encryption, user metadata)."""
        return {
            k.lower(): v
            for k, v in self.headers.items()
            if k.lower().startswith(("x-oss-server-side-encryption", "x-oss-meta-"))
        }

    @staticmethod
    def object_headers(blob: Blob) -> dict[str, str]:
        """ETag, CRC and the kept headers of an object."""
        return {"ETag": f'"{blob.etag}"', "x-oss-hash-crc64ecma": str(crc64(blob.data))} | (
            blob.headers
        )

    # -- objects --------------------------------------------------------------------------

    def source(self, fake: FakeOSS) -> Blob:
        """The object named by ``x-oss-copy-source``, in any bucket of the account."""
        src_bucket, _, src_key = self.headers["x-oss-copy-source"].lstrip("/").partition("/")
        bucket = unquote(src_bucket)
        if bucket not in fake.buckets:
            raise OSSError(404, "NoSuchBucket", "The source bucket does not exist.")
        self.check_owner(fake, bucket)
        blob = fake.buckets[bucket].get(unquote(src_key))
        if blob is None:
            raise OSSError(404, "NoSuchKey", "The specified key does not exist.")
        return blob

    def copy_object(self, fake: FakeOSS, objects: dict[str, Blob]) -> None:
        """CopyObject (OSS refuses sources over 1 GB)."""
        src = self.source(fake)
        if len(src.data) > 1 << 30:
            raise OSSError(400, "InvalidRequest", "The source object is larger than 1 GB.")
        objects[self.key] = Blob(src.data, headers=self.stored_headers())
        blob = objects[self.key]
        inner = f'<ETag>"{blob.etag}"</ETag><LastModified>{iso(blob.mtime)}</LastModified>'
        self.xml("CopyObjectResult", inner, self.object_headers(blob))

    def get_object(self, objects: dict[str, Blob]) -> None:
        """GET/HEAD with OSS's range rules (unsatisfiable: 200 and the whole object)."""
        blob = objects.get(self.key)
        if blob is None:
            raise OSSError(404, "NoSuchKey", "The specified key does not exist.")
        headers = self.object_headers(blob) | {
            "Last-Modified": formatdate(blob.mtime, usegmt=True),
            "x-oss-object-type": blob.kind,
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
        }
        data, status = blob.data, 200
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        if match and match.group(1):
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(data) - 1
            if start < len(data) and start <= end:
                end = min(end, len(data) - 1)
                data, status = data[start : end + 1], 206
                headers["Content-Range"] = f"bytes {start}-{end}/{len(blob.data)}"
        if self.command == "HEAD":
            headers["Content-Length"] = str(len(data))
            return self.reply(status, b"", headers)
        self.reply(status, data, headers)

    def list_objects(self, objects: dict[str, Blob]) -> None:
        """ListObjectsV2 (and v1 with ``marker``), with delimiter and url encoding."""
        q = self.query
        prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
        after = q.get("continuation-token") or q.get("start-after") or q.get("marker", "")
        limit = min(int(q.get("max-keys", "100")), 1000)
        encode = q.get("encoding-type") == "url"
        enc = (lambda s: quote(s, safe="")) if encode else escape
        entries: list[tuple[str, Blob | None]] = []
        for key in sorted(objects):
            if not key.startswith(prefix) or key <= after:
                continue
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                if common <= after or (entries and entries[-1][0] == common):
                    continue
                entries.append((common, None))
            else:
                entries.append((key, objects[key]))
            if len(entries) > limit:
                break
        truncated = len(entries) > limit
        entries = entries[:limit]
        inner = [f"<Name>{self.bucket_name}</Name><Prefix>{enc(prefix)}</Prefix>"]
        inner.append(f"<MaxKeys>{limit}</MaxKeys><Delimiter>{enc(delimiter)}</Delimiter>")
        inner.append(f"<IsTruncated>{str(truncated).lower()}</IsTruncated>")
        if encode:
            inner.append("<EncodingType>url</EncodingType>")
        if truncated:
            last = entries[-1][0]
            inner.append(f"<NextContinuationToken>{enc(last)}</NextContinuationToken>")
            inner.append(f"<NextMarker>{enc(last)}</NextMarker>")
        inner.append(f"<KeyCount>{len(entries)}</KeyCount>")
        for name, blob in entries:
            if blob is None:
                inner.append(f"<CommonPrefixes><Prefix>{enc(name)}</Prefix></CommonPrefixes>")
            else:
                inner.append(
                    f"<Contents><Key>{enc(name)}</Key><LastModified>{iso(blob.mtime)}"
                    f'</LastModified><ETag>"{blob.etag}"</ETag><Type>{blob.kind}</Type>'
                    f"<Size>{len(blob.data)}</Size><StorageClass>Standard</StorageClass>"
                    "</Contents>"
                )
        root = "ListBucketResult"
        self.xml(root, "".join(inner))

    def batch_delete(self, objects: dict[str, Blob]) -> None:
        """DeleteMultipleObjects: Content-MD5 checked, at most 1,000 keys."""
        md5 = base64.b64encode(hashlib.md5(self.body).digest()).decode()
        if self.headers.get("Content-MD5") != md5:
            raise OSSError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
        root = ET.fromstring(self.body)
        keys = [node.text or "" for node in root.iter("Key")]
        if len(keys) > 1000:
            raise OSSError(400, "MalformedXML", "More than 1000 keys.")
        encode = self.query.get("encoding-type") == "url"
        for key in keys:
            objects.pop(key, None)
        quiet = (root.findtext("Quiet") or "false") == "true"
        enc = (lambda s: quote(s, safe="")) if encode else escape
        deleted = "" if quiet else "".join(f"<Deleted><Key>{enc(k)}</Key></Deleted>" for k in keys)
        self.xml("DeleteResult", ("<EncodingType>url</EncodingType>" if encode else "") + deleted)

    # -- multipart ------------------------------------------------------------------------

    _ids = itertools.count(1)

    def initiate(self, fake: FakeOSS) -> None:
        """InitiateMultipartUpload."""
        upload_id = f"{next(self._ids):08X}{uuid.uuid4().hex.upper()}"
        fake.uploads[upload_id] = Upload(
            self.bucket_name, self.key, upload_id, time.time(), self.stored_headers()
        )
        inner = f"<Bucket>{self.bucket_name}</Bucket><Key>{escape(self.key)}</Key>"
        self.xml("InitiateMultipartUploadResult", inner + f"<UploadId>{upload_id}</UploadId>")

    def upload_part(self, fake: FakeOSS, upload: Upload) -> None:
        """UploadPart, or UploadPartCopy with ``x-oss-copy-source(-range)``."""
        number = int(self.query.get("partNumber", "0"))
        if not 1 <= number <= 10000:
            raise OSSError(400, "InvalidArgument", "Part number must be between 1 and 10000.")
        if "x-oss-copy-source" not in self.headers:
            upload.parts[number] = Blob(self.body)
            return self.reply(200, b"", self.object_headers(upload.parts[number]))
        data = self.source(fake).data
        wanted = self.headers.get("x-oss-copy-source-range", "")
        match = re.fullmatch(r"bytes=(\d+)-(\d+)", wanted)
        if wanted and not match:
            raise OSSError(400, "InvalidArgument", "Invalid copy range.")
        if match:
            start, end = int(match.group(1)), int(match.group(2))
            if start > end or end >= len(data):
                raise OSSError(416, "InvalidRange", "The requested range cannot be satisfied.")
            data = data[start : end + 1]
        upload.parts[number] = Blob(data)
        blob = upload.parts[number]
        inner = f'<LastModified>{iso(blob.mtime)}</LastModified><ETag>"{blob.etag}"</ETag>'
        self.xml("CopyPartResult", inner, {"ETag": f'"{blob.etag}"'})

    def complete(self, fake: FakeOSS, objects: dict[str, Blob], upload: Upload) -> None:
        """CompleteMultipartUpload: parts must exist, match, and be big enough but the last."""
        listed = [
            (int(node.findtext("PartNumber") or 0), (node.findtext("ETag") or "").strip('"'))
            for node in ET.fromstring(self.body).iter("Part")
        ]
        if not listed or [n for n, _ in listed] != sorted({n for n, _ in listed}):
            raise OSSError(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        blobs = []
        for number, etag in listed:
            part = upload.parts.get(number)
            if part is None or part.etag != etag.upper():
                raise OSSError(400, "InvalidPart", f"Part {number} is missing or its ETag differs.")
            blobs.append(part)
        if any(len(b.data) < MIN_PART_SIZE for b in blobs[:-1]):
            raise OSSError(400, "EntityTooSmall", "A part other than the last is too small.")
        digest = hashlib.md5(b"".join(bytes.fromhex(b.etag) for b in blobs)).hexdigest()
        blob = Blob(b"".join(b.data for b in blobs), kind="Multipart", headers=upload.headers)
        blob.etag = f"{digest.upper()}-{len(blobs)}"
        objects[self.key] = blob
        del fake.uploads[upload.upload_id]
        inner = f"<Bucket>{self.bucket_name}</Bucket><Key>{escape(self.key)}</Key>"
        self.xml(
            "CompleteMultipartUploadResult",
            inner + f'<ETag>"{blob.etag}"</ETag>',
            self.object_headers(blob),
        )

    def list_uploads(self, fake: FakeOSS) -> None:
        """ListMultipartUploads, sorted by key then upload id, paginated."""
        q = self.query
        prefix, marker = (
            q.get("prefix", ""),
            (q.get("key-marker", ""), q.get("upload-id-marker", "")),
        )
        limit = min(int(q.get("max-uploads", "1000")), 1000)
        found = sorted(
            (u.key, u.upload_id, u)
            for u in fake.uploads.values()
            if u.bucket == self.bucket_name
            and u.key.startswith(prefix)
            and (u.key, u.upload_id) > (marker if marker[1] else (marker[0], "\uffff"))
        )
        truncated = len(found) > limit
        found = found[:limit]
        nxt = (found[-1][0], found[-1][1]) if truncated else ("", "")
        encode = q.get("encoding-type") == "url"
        enc = (lambda s: quote(s, safe="")) if encode else escape
        inner = [
            f"<Bucket>{self.bucket_name}</Bucket><Prefix>{enc(prefix)}</Prefix>",
            f"<KeyMarker>{enc(marker[0])}</KeyMarker><UploadIdMarker>{marker[1]}</UploadIdMarker>",
            f"<NextKeyMarker>{enc(nxt[0])}</NextKeyMarker>",
            f"<NextUploadIdMarker>{nxt[1]}</NextUploadIdMarker>",
            f"<MaxUploads>{limit}</MaxUploads><IsTruncated>{str(truncated).lower()}</IsTruncated>",
            "<EncodingType>url</EncodingType>" if encode else "",
        ]
        for key, upload_id, upload in found:
            inner.append(
                f"<Upload><Key>{enc(key)}</Key><UploadId>{upload_id}</UploadId>"
                f"<Initiated>{iso(upload.initiated)}</Initiated></Upload>"
            )
        self.xml("ListMultipartUploadsResult", "".join(inner))

    def list_parts(self, upload: Upload) -> None:
        """ListParts, paginated by part number."""
        marker = int(self.query.get("part-number-marker") or 0)
        limit = min(int(self.query.get("max-parts", "1000")), 1000)
        numbers = [n for n in sorted(upload.parts) if n > marker]
        truncated = len(numbers) > limit
        numbers = numbers[:limit]
        inner = [
            f"<Bucket>{self.bucket_name}</Bucket><Key>{escape(upload.key)}</Key>",
            f"<UploadId>{upload.upload_id}</UploadId><PartNumberMarker>{marker}</PartNumberMarker>",
            f"<NextPartNumberMarker>{numbers[-1] if numbers else 0}</NextPartNumberMarker>",
            f"<MaxParts>{limit}</MaxParts><IsTruncated>{str(truncated).lower()}</IsTruncated>",
        ]
        for n in numbers:
            part = upload.parts[n]
            inner.append(
                f"<Part><PartNumber>{n}</PartNumber><LastModified>{iso(part.mtime)}</LastModified>"
                f'<ETag>"{part.etag}"</ETag><Size>{len(part.data)}</Size></Part>'
            )
        self.xml("ListPartsResult", "".join(inner))
