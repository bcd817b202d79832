"""A store written by distribution's own registry (Debian's ``docker-registry``, 2.8.2),
migrated to another filesystem root -- through an in-memory store in between -- compared
byte for byte, then served by ``docker-registry`` again: every surviving manifest and every
blob it references is pulled over HTTP and checked against its digest."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path

from migrate_support import check_consistent, tree
from support.http_history import HistoryClient, play_history
from support.interop import free_port, require_binary, running, write_config

from distribution_storage import open_driver
from distribution_storage.migrate import migrate
from distribution_storage.registry import Registry

ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


def get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": ACCEPT})
    with urllib.request.urlopen(request, timeout=30) as response:
        data: bytes = response.read()
        return data


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_distribution_store_migrated_and_served_again(tmp_path: Path) -> None:
    binary = require_binary("docker-registry")
    original, final = tmp_path / "original", tmp_path / "final"
    port = free_port()
    serve = write_config(tmp_path / "original.yml", original, port)
    with running([binary, "serve", str(serve)], f"127.0.0.1:{port}") as address:
        client = HistoryClient(address)
        history = play_history(client, seed=11, steps=30)
        # and an upload left unfinished, which only --include-uploads carries over
        with client._request("POST", f"{client.base}/app/blobs/uploads/", b""):
            pass
    source = open_driver("filesystem", rootdirectory=str(original))
    middle = open_driver("inmemory")
    target = open_driver("filesystem", rootdirectory=str(final))
    first = migrate(source, middle, include_uploads=True)
    assert first.failed == 0 and first.copied_by_kind.get("upload", 0) >= 1
    second = migrate(middle, target, include_uploads=True)
    assert second.copied == first.copied
    assert tree(target) == tree(source)
    check_consistent(target)

    registry = Registry(source)
    tags = {name: registry.repository(name).tags.list() for name in registry.catalog()}
    alive = [key for key in history.manifests if key not in history.deleted]
    assert alive
    port = free_port()
    serve = write_config(tmp_path / "final.yml", final, port)
    with running([binary, "serve", str(serve)], f"127.0.0.1:{port}") as address:
        base = f"http://{address}/v2"
        assert json.loads(get(f"{base}/_catalog"))["repositories"] == sorted(tags)
        for name, expected in tags.items():
            assert sorted(json.loads(get(f"{base}/{name}/tags/list"))["tags"]) == sorted(expected)
        pulled = 0
        for name, digest in alive:
            payload = get(f"{base}/{name}/manifests/{digest}")
            assert sha256(payload) == digest
            doc = json.loads(payload)
            for blob in [doc.get("config"), *doc.get("layers", [])]:
                if blob:
                    data = get(f"{base}/{name}/blobs/{blob['digest']}")
                    assert sha256(data) == blob["digest"]
                    pulled += 1
        assert pulled > 0
        for name, digest in history.deleted:
            try:
                get(f"{base}/{name}/manifests/{digest}")
            except urllib.error.HTTPError as exc:
                assert exc.code == 404
            else:
                raise AssertionError(f"deleted manifest {name}@{digest} is served")
