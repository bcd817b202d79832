"""The example server's HTTP API driven with curl: the OCI flows and every error case."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import secrets
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.interop import (
    EXAMPLE_SERVER,
    ServerFactory,
    curl,
    free_port,
    running,
    write_config,
)
from support.manifests import refused_forms


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of one example server shared by this module's tests."""
    tmp = tmp_path_factory.mktemp("http")
    port = free_port()
    config = write_config(tmp / "config.yml", tmp / "store", port)
    command = [sys.executable, str(EXAMPLE_SERVER), str(config), "--addr", f"127.0.0.1:{port}"]
    with running(command, f"127.0.0.1:{port}") as address:
        yield f"http://{address}"


def _error_code(body: bytes) -> str:
    code: str = json.loads(body)["errors"][0]["code"]
    return code


def _push(base: str, name: str, data: bytes) -> str:
    status, headers, _ = curl(
        "POST", f"{base}/v2/{name}/blobs/uploads/?digest={_digest(data)}", data=data
    )
    if status == 202:  # distribution 2.8 answers a monolithic POST with a session
        url = headers["location"] if "://" in headers["location"] else base + headers["location"]
        separator = "&" if "?" in url else "?"
        octets = {"Content-Type": "application/octet-stream"}  # Go parses a form body
        status, headers, _ = curl(
            "PUT", f"{url}{separator}digest={_digest(data)}", data=data, headers=octets
        )
    assert status == 201, headers
    assert headers["docker-content-digest"] == _digest(data)
    return _digest(data)


def _manifest(base: str, name: str, *, subject: str | None = None, seed: bytes = b"") -> bytes:
    config = b'{"architecture":"amd64","os":"linux"}' + seed
    layer = b"layer bytes " + seed
    doc = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": _push(base, name, config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": _push(base, name, layer),
                "size": len(layer),
            }
        ],
    }
    if subject is not None:
        doc["subject"] = {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": subject,
            "size": 1,
        }
        doc["artifactType"] = "application/x-signature"
    return json.dumps(doc).encode()


OCI = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}


def test_base_endpoint(base: str) -> None:
    status, headers, body = curl("GET", f"{base}/v2/")
    assert (status, body) == (200, b"{}")
    assert headers["docker-distribution-api-version"] == "registry/2.0"


def test_monolithic_upload_then_head_get_and_ranges(base: str) -> None:
    data = bytes(range(200))
    digest = _push(base, "mono", data)
    status, headers, _ = curl("HEAD", f"{base}/v2/mono/blobs/{digest}")
    assert (status, headers["content-length"]) == (200, "200")
    status, _, body = curl("GET", f"{base}/v2/mono/blobs/{digest}")
    assert (status, body) == (200, data)
    status, headers, body = curl(
        "GET", f"{base}/v2/mono/blobs/{digest}", headers={"Range": "bytes=10-19"}
    )
    assert (status, body, headers["content-range"]) == (206, data[10:20], "bytes 10-19/200")
    status, _, _ = curl("GET", f"{base}/v2/mono/blobs/{digest}", headers={"Range": "bytes=300-"})
    assert status == 416


def test_suffix_ranges_serve_the_last_bytes(base: str) -> None:
    data = bytes(range(100))
    url = f"{base}/v2/suffix/blobs/{_push(base, 'suffix', data)}"
    for wanted, part in [("bytes=-10", data[-10:]), ("bytes=-100", data), ("bytes=-500", data)]:
        status, headers, body = curl("GET", url, headers={"Range": wanted})
        first = len(data) - len(part)
        assert (status, body) == (206, part), wanted
        assert headers["content-range"] == f"bytes {first}-99/100"
    status, headers, _ = curl("GET", url, headers={"Range": "bytes=-0"})
    assert (status, headers["content-range"]) == (416, "bytes */100")


def test_a_last_chunk_that_does_not_continue_the_upload_is_416(base: str) -> None:
    status, headers, _ = curl("POST", f"{base}/v2/finalput/blobs/uploads/")
    location = base + headers["location"]
    assert curl("PATCH", location, data=b"hello", headers={"Content-Range": "0-4"})[0] == 202
    digest = _digest(b"hello world")
    for wrong in ("0-5", "4-9", "6-11"):
        status, headers, body = curl(
            "PUT", f"{location}?digest={digest}", data=b" world", headers={"Content-Range": wrong}
        )
        assert (status, _error_code(body)) == (416, "BLOB_UPLOAD_INVALID"), wrong
    status, headers, _ = curl("GET", location)
    assert (status, headers["range"]) == (204, "0-4")  # nothing of the refused chunks landed
    status, headers, _ = curl(
        "PUT", f"{location}?digest={digest}", data=b" world", headers={"Content-Range": "5-10"}
    )
    assert status == 201, headers
    assert curl("GET", f"{base}/v2/finalput/blobs/{digest}")[2] == b"hello world"


def test_chunked_upload_with_offsets(base: str) -> None:
    status, headers, _ = curl("POST", f"{base}/v2/chunks/blobs/uploads/")
    assert status == 202
    location = base + headers["location"]
    status, headers, _ = curl("PATCH", location, data=b"hello", headers={"Content-Range": "0-4"})
    assert (status, headers["range"]) == (202, "0-4")
    status, _, body = curl("PATCH", location, data=b"xx", headers={"Content-Range": "2-3"})
    assert status == 416
    status, headers, _ = curl("GET", location)
    assert (status, headers["range"]) == (204, "0-4")
    status, headers, _ = curl("PATCH", location, data=b" world", headers={"Content-Range": "5-10"})
    assert (status, headers["range"]) == (202, "0-10")
    status, headers, _ = curl("PUT", f"{location}?digest={_digest(b'hello world')}")
    assert status == 201
    status, _, body = curl("GET", f"{base}{headers['location']}")
    assert body == b"hello world"


def test_wrong_digest_is_rejected_and_nothing_is_visible(base: str) -> None:
    _, headers, _ = curl("POST", f"{base}/v2/bad/blobs/uploads/")
    location = base + headers["location"]
    curl("PATCH", location, data=b"real content")
    claimed = _digest(b"other content")
    status, _, body = curl("PUT", f"{location}?digest={claimed}")
    assert (status, _error_code(body)) == (400, "DIGEST_INVALID")
    status, _, body = curl("GET", location)
    assert (status, _error_code(body)) == (404, "BLOB_UPLOAD_UNKNOWN")
    for digest in (claimed, _digest(b"real content")):
        status, _, body = curl("GET", f"{base}/v2/bad/blobs/{digest}")
        assert (status, _error_code(body)) == (404, "BLOB_UNKNOWN")


def test_truncated_body_keeps_what_arrived(base: str) -> None:
    _, headers, _ = curl("POST", f"{base}/v2/trunc/blobs/uploads/")
    location = headers["location"]
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            f"PATCH {location} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\n".encode()
            + b"0123456789"
        )
        sock.shutdown(socket.SHUT_WR)
        reply = sock.makefile("rb").read()
    assert reply.startswith(b"HTTP/1.1 400"), reply
    assert b"BLOB_UPLOAD_INVALID" in reply
    status, headers, _ = curl("GET", base + location)
    assert (status, headers["range"]) == (204, "0-9")
    status, _, body = curl("PUT", f"{base}{location}?digest={_digest(b'0123456789' * 10)}")
    assert (status, _error_code(body)) == (400, "DIGEST_INVALID")


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v2/UPPER/tags/list", 400, "NAME_INVALID"),
        ("GET", "/v2/ok/blobs/sha256:short", 400, "DIGEST_INVALID"),
        ("GET", f"/v2/ok/blobs/{'sha256:' + '0' * 64}", 404, "BLOB_UNKNOWN"),
        (
            "PATCH",
            "/v2/ok/blobs/uploads/6f1d1c56-0000-4000-8000-000000000000",
            404,
            "BLOB_UPLOAD_UNKNOWN",
        ),
        ("GET", "/v2/ok/blobs/uploads/..", 404, "NOT_FOUND"),
        ("GET", "/v2/nobody/tags/list", 404, "NAME_UNKNOWN"),
        ("GET", "/v2/ok/manifests/missing", 404, "MANIFEST_UNKNOWN"),
        ("GET", "/v2/ok/manifests/-bad-tag", 400, "TAG_INVALID"),
        ("GET", "/v2/_catalog?n=abc", 400, "PAGINATION_NUMBER_INVALID"),
        ("PUT", "/v2/ok/blobs/uploads/6f1d1c56-0000-4000-8000-000000000000", 400, "DIGEST_INVALID"),
    ],
)
def test_error_responses_carry_oci_codes(
    base: str, method: str, path: str, status: int, code: str
) -> None:
    got, _, body = curl(method, base + path)
    assert (got, _error_code(body)) == (status, code)


@pytest.mark.parametrize(
    ("payload", "content_type", "code"),
    [
        (b"{not json", OCI["Content-Type"], "MANIFEST_INVALID"),
        (
            b'{"schemaVersion": 2, "mediaType": "application/x-unknown"}',
            "application/x-unknown",
            "MANIFEST_INVALID",
        ),
        (
            json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI["Content-Type"],
                    "config": {"mediaType": "x", "digest": _digest(b"nothing"), "size": 7},
                    "layers": [],
                }
            ).encode(),
            OCI["Content-Type"],
            "MANIFEST_BLOB_UNKNOWN",
        ),
    ],
)
def test_bad_manifests_are_rejected(
    base: str, payload: bytes, content_type: str, code: str
) -> None:
    status, _, body = curl(
        "PUT", f"{base}/v2/man/manifests/v1", data=payload, headers={"Content-Type": content_type}
    )
    assert (status, _error_code(body)) == (400, code)


@pytest.mark.parametrize("form", list(refused_forms(b'{"layers": [{}]}')))
def test_a_manifest_distribution_cannot_read_is_400_and_not_stored(base: str, form: str) -> None:
    payload = refused_forms(_manifest(base, "forms", seed=form.encode()))[form]
    for reference in ("bad", _digest(payload)):
        status, _, body = curl(
            "PUT", f"{base}/v2/forms/manifests/{reference}", data=payload, headers=OCI
        )
        assert (status, _error_code(body)) == (400, "MANIFEST_INVALID")
    for reference in ("bad", _digest(payload)):
        status, _, body = curl("GET", f"{base}/v2/forms/manifests/{reference}")
        assert (status, _error_code(body)) == (404, "MANIFEST_UNKNOWN")


def test_manifest_over_4_mib_is_413(base: str) -> None:
    payload = b'{"schemaVersion": 2, "pad": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    status, _, body = curl("PUT", f"{base}/v2/man/manifests/big", data=payload, headers=OCI)
    assert (status, _error_code(body)) == (413, "SIZE_INVALID")


def test_manifest_put_by_digest_must_match(base: str) -> None:
    payload = _manifest(base, "man")
    status, _, body = curl(
        "PUT", f"{base}/v2/man/manifests/{_digest(b'x')}", data=payload, headers=OCI
    )
    assert (status, _error_code(body)) == (400, "DIGEST_INVALID")
    status, headers, _ = curl(
        "PUT", f"{base}/v2/man/manifests/{_digest(payload)}", data=payload, headers=OCI
    )
    assert (status, headers["docker-content-digest"]) == (201, _digest(payload))


def test_manifest_tag_list_catalog_and_delete(base: str) -> None:
    payload = _manifest(base, "life/cycle")
    for tag in ("a", "b", "c"):
        status, _, _ = curl(
            "PUT", f"{base}/v2/life/cycle/manifests/{tag}", data=payload, headers=OCI
        )
        assert status == 201
    for method in ("GET", "HEAD"):
        status, headers, body = curl(method, f"{base}/v2/life/cycle/manifests/b")
        assert (status, headers["content-type"]) == (200, OCI["Content-Type"])
        assert headers["docker-content-digest"] == _digest(payload)
        assert headers["content-length"] == str(len(payload))
    status, headers, body = curl("GET", f"{base}/v2/life/cycle/tags/list?n=2")
    assert json.loads(body) == {"name": "life/cycle", "tags": ["a", "b"]}
    assert headers["link"] == '</v2/life/cycle/tags/list?n=2&last=b>; rel="next"'
    status, _, body = curl("GET", f"{base}/v2/life/cycle/tags/list?n=2&last=b")
    assert json.loads(body)["tags"] == ["c"]
    status, headers, body = curl("GET", f"{base}/v2/_catalog?n=1&last=life/cycle")
    assert "life/cycle" not in json.loads(body)["repositories"]
    assert curl("DELETE", f"{base}/v2/life/cycle/manifests/a")[0] == 202
    assert json.loads(curl("GET", f"{base}/v2/life/cycle/tags/list")[2])["tags"] == ["b", "c"]
    assert curl("DELETE", f"{base}/v2/life/cycle/manifests/{_digest(payload)}")[0] == 202
    status, _, body = curl("GET", f"{base}/v2/life/cycle/manifests/{_digest(payload)}")
    assert (status, _error_code(body)) == (404, "MANIFEST_UNKNOWN")
    assert json.loads(curl("GET", f"{base}/v2/life/cycle/tags/list")[2])["tags"] == []


def test_cross_repository_mount(base: str) -> None:
    digest = _push(base, "mount/src", b"mountable")
    status, headers, _ = curl(
        "POST", f"{base}/v2/mount/dst/blobs/uploads/?mount={digest}&from=mount/src"
    )
    assert (status, headers["docker-content-digest"]) == (201, digest)
    assert curl("HEAD", f"{base}/v2/mount/dst/blobs/{digest}")[0] == 200
    missing = _digest(b"not there")
    status, headers, _ = curl(
        "POST", f"{base}/v2/mount/dst/blobs/uploads/?mount={missing}&from=mount/src"
    )
    assert status == 202
    assert curl("DELETE", base + headers["location"])[0] == 204


def test_blob_delete_unlinks(base: str) -> None:
    digest = _push(base, "del", b"delete me")
    assert curl("DELETE", f"{base}/v2/del/blobs/{digest}")[0] == 202
    status, _, _ = curl("HEAD", f"{base}/v2/del/blobs/{digest}")
    assert status == 404


def test_referrers(base: str) -> None:
    image = _manifest(base, "refs")
    curl("PUT", f"{base}/v2/refs/manifests/v1", data=image, headers=OCI)
    signature = _manifest(base, "refs", subject=_digest(image), seed=b"sig")
    status, headers, _ = curl(
        "PUT", f"{base}/v2/refs/manifests/{_digest(signature)}", data=signature, headers=OCI
    )
    assert (status, headers["oci-subject"]) == (201, _digest(image))
    status, headers, body = curl("GET", f"{base}/v2/refs/referrers/{_digest(image)}")
    assert (status, headers["content-type"]) == (200, "application/vnd.oci.image.index.v1+json")
    found = json.loads(body)["manifests"]
    assert [(m["digest"], m["artifactType"]) for m in found] == [
        (_digest(signature), "application/x-signature")
    ]
    _, headers, body = curl("GET", f"{base}/v2/refs/referrers/{_digest(image)}?artifactType=x/none")
    assert json.loads(body)["manifests"] == []
    assert headers["oci-filters-applied"] == "artifactType"


@pytest.mark.parametrize("disabled", [False, True])
def test_blob_get_redirects_when_the_driver_offers_urls(tmp_path: Path, disabled: bool) -> None:
    port = free_port()
    config = tmp_path / "redirect.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path / 'store'}\n"
        f"  redirect:\n    disable: {str(disabled).lower()}\n"
        "middleware:\n  storage:\n    - name: redirect\n      options:\n"
        "        baseurl: http://cdn.invalid/base\n"
    )
    command = [sys.executable, str(EXAMPLE_SERVER), str(config), "--addr", f"127.0.0.1:{port}"]
    with running(command, f"127.0.0.1:{port}") as address:
        digest = _push(f"http://{address}", "redir", b"redirect me")
        status, headers, body = curl("GET", f"http://{address}/v2/redir/blobs/{digest}")
        if disabled:
            assert (status, body) == (200, b"redirect me")
        else:
            hex_part = digest.split(":")[1]
            assert status == 307
            assert headers["location"] == (
                f"http://cdn.invalid/base/docker/registry/v2/blobs/sha256/{hex_part[:2]}/"
                f"{hex_part}/data"
            )
        assert curl("HEAD", f"http://{address}/v2/redir/blobs/{digest}")[0] == 200


def _wait_for_size(path: Path, size: int, timeout: float = 30) -> None:
    """Return once the file at ``path`` holds ``size`` bytes (the server wrote them)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.stat().st_size == size):
        assert time.monotonic() < deadline, f"{path} never reached {size} bytes"
        time.sleep(0.01)


def test_patch_streaming_across_a_commit_is_upload_unknown(
    example_server: ServerFactory, tmp_path: Path
) -> None:
    """A PATCH still streaming while a PUT commits the upload: its bytes after the commit
    are refused with 404 BLOB_UPLOAD_UNKNOWN, and the blob keeps the committed content."""
    root = tmp_path / "store"
    base = "http://" + example_server(root)
    first, second, late = secrets.token_bytes(1000), secrets.token_bytes(1 << 20), b"late bytes"
    _, headers, _ = curl("POST", f"{base}/v2/race/blobs/uploads/")
    location = headers["location"]
    upload_id = headers["docker-upload-uuid"]
    assert curl("PATCH", base + location, data=first)[0] == 202
    data_file = root / f"docker/registry/v2/repositories/race/_uploads/{upload_id}/data"

    host, port = base.removeprefix("http://").split(":")
    held = http.client.HTTPConnection(host, int(port), timeout=60)
    held.putrequest("PATCH", location)
    held.putheader("Content-Type", "application/octet-stream")
    held.putheader("Content-Length", str(len(second) + len(late)))
    held.endheaders()
    held.send(second)  # one whole chunk: the server writes it, then waits for the rest
    _wait_for_size(data_file, len(first) + len(second))

    blob = first + second
    status, headers, _ = curl("PUT", f"{base}{location}?digest={_digest(blob)}")
    assert status == 201, headers
    held.send(late)
    response = held.getresponse()
    body = response.read()
    held.close()
    assert response.status == 404
    assert _error_code(body) == "BLOB_UPLOAD_UNKNOWN"

    status, _, served = curl("GET", f"{base}/v2/race/blobs/{_digest(blob)}")
    assert (status, served) == (200, blob)
    stored = root / f"docker/registry/v2/blobs/sha256/{_digest(blob)[7:9]}/{_digest(blob)[7:]}/data"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == _digest(blob)[7:]
    assert not os.path.exists(data_file.parent)


def test_a_manifest_without_its_media_type_is_refused_as_distribution_refuses_it(
    example_server: ServerFactory, distribution_server: ServerFactory, tmp_path: Path
) -> None:
    """distribution reads a manifest as its Content-Type says: none, or one that names no
    manifest type, is 400 MANIFEST_INVALID, whatever the body's mediaType. Both answer alike."""
    cases = [None, "application/octet-stream", "application/json", "text/plain", "bogus;;"]
    answers: dict[str, list[tuple[int, str]]] = {}
    for who, start in (("ours", example_server), ("distribution", distribution_server)):
        server = "http://" + start(tmp_path / who)
        payload = _manifest(server, "types")
        answers[who] = []
        for content_type in cases:
            # "Content-Type:" with nothing after it makes curl send no Content-Type at all
            header = {"Content-Type": content_type} if content_type else {"Content-Type": ""}
            status, _, body = curl(
                "PUT", f"{server}/v2/types/manifests/t", data=payload, headers=header
            )
            answers[who].append((status, _error_code(body) if status >= 400 else ""))
        assert curl("GET", f"{server}/v2/types/manifests/t")[0] == 404
        status, _, _ = curl("PUT", f"{server}/v2/types/manifests/t", data=payload, headers=OCI)
        assert status == 201
    assert answers["ours"] == answers["distribution"] == [(400, "MANIFEST_INVALID")] * len(cases)
