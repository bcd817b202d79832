"""Compatibility with distribution 2.8.2 (Debian's docker-registry) on the same filesystem store.

A store written by distribution is read by the SDK (catalog, tags, manifests, blobs, links);
a store written by the SDK, through the example server, is served by distribution and pulled
intact by skopeo.
"""

from __future__ import annotations

from pathlib import Path

from oci_images import Layout, image, multi_arch, read_layout
from support.interop import ServerFactory, curl, pull, push

from distribution_storage import open_driver
from distribution_storage.layout import Digest, layer_link_path, tag_current_link_path
from distribution_storage.registry import Registry
from distribution_storage.registry.mediatypes import OCI_INDEX


def _source(tmp_path: Path) -> Layout:
    layout = Layout(tmp_path / "src")
    layout.tag("v1", image(layout, "single", layers=3))
    layout.tag("multi", multi_arch(layout, "arches"))
    layout.write()
    return layout


def test_sdk_reads_a_store_written_by_distribution(
    tmp_path: Path, distribution_server: ServerFactory
) -> None:
    source = _source(tmp_path)
    src_tags, src_blobs = read_layout(source.root)
    store = tmp_path / "store"
    address = distribution_server(store)
    push(source.root, "v1", address, "team/single:v1")
    push(source.root, "multi", address, "team/multi:latest", "--preserve-digests")
    push(source.root, "v1", address, "team/multi:single")

    registry = Registry(open_driver("filesystem", rootdirectory=str(store)))
    assert registry.catalog() == ["team/multi", "team/single"]
    assert registry.catalog(n=1) == ["team/multi"]
    assert registry.catalog(last="team/multi") == ["team/single"]
    multi = registry.repository("team/multi")
    assert multi.tags.list() == ["latest", "single"]
    assert multi.tags.get("latest") == Digest.parse(src_tags["multi"])
    assert multi.tags.lookup(Digest.parse(src_tags["v1"])) == ["single"]
    index = multi.manifests.get(multi.tags.get("latest"))
    assert index.media_type == OCI_INDEX
    assert index.payload == src_blobs[src_tags["multi"]]
    for child in index.references:
        manifest = multi.manifests.get(child.digest)
        for blob in manifest.references:
            with multi.blobs.open(blob.digest) as stream:
                assert stream.read() == src_blobs[str(blob.digest)]
    assert {b.digest: b.size for b in registry.blobs} == {
        Digest.parse(d): len(data) for d, data in src_blobs.items()
    }
    single = registry.repository("team/single")
    linked = set(single.blobs)
    assert single.tags.all() == {"v1": Digest.parse(src_tags["v1"])}
    assert linked == {b.digest for b in single.manifests.get(single.tags.get("v1")).references}
    assert single.manifests.referrers(single.tags.get("v1")) == []


def test_sdk_writes_the_same_bytes_as_distribution(
    tmp_path: Path, distribution_server: ServerFactory, example_server: ServerFactory
) -> None:
    source = _source(tmp_path)
    theirs, ours = tmp_path / "theirs", tmp_path / "ours"
    push(source.root, "v1", distribution_server(theirs), "x/y:v1")
    push(source.root, "v1", example_server(ours), "x/y:v1")
    digest = Digest.parse(read_layout(source.root)[0]["v1"])
    for path in (tag_current_link_path("x/y", "v1"), layer_link_path("x/y", digest)):
        relative = path.lstrip("/")
        if (theirs / relative).exists():
            assert (ours / relative).read_bytes() == (theirs / relative).read_bytes()
    relative = tag_current_link_path("x/y", "v1").lstrip("/")
    assert (ours / relative).read_bytes() == str(digest).encode()
    assert sorted(_tree(ours)) == sorted(_tree(theirs))


def _tree(root: Path) -> list[str]:
    """Every file below ``root`` except upload debris, as relative paths."""
    return [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "/_uploads/" not in str(p)
    ]


def test_distribution_serves_a_store_written_by_the_sdk(
    tmp_path: Path, example_server: ServerFactory, distribution_server: ServerFactory
) -> None:
    source = _source(tmp_path)
    store = tmp_path / "store"
    ours = example_server(store)
    push(source.root, "v1", ours, "team/single:v1")
    push(source.root, "multi", ours, "team/multi:latest", "--preserve-digests")

    theirs = distribution_server(store)
    back = tmp_path / "back"
    pull(theirs, "team/single:v1", back, "v1")
    pull(theirs, "team/multi:latest", back, "multi")
    tags, blobs = read_layout(back)
    src_tags, src_blobs = read_layout(source.root)
    assert tags == src_tags
    assert blobs == src_blobs


def test_sdk_finishes_an_upload_distribution_started(
    tmp_path: Path, distribution_server: ServerFactory
) -> None:
    store = tmp_path / "store"
    base = "http://" + distribution_server(store)
    status, headers, _ = curl("POST", f"{base}/v2/half/done/blobs/uploads/")
    assert status == 202
    upload_id = headers["docker-upload-uuid"]
    first, second = b"started by distribution, " * 100, b"finished by the SDK"
    octets = {"Content-Type": "application/octet-stream"}
    status, headers, _ = curl(
        "PATCH", _absolute(base, headers["location"]), data=first, headers=octets
    )
    assert (status, headers["range"]) == (202, f"0-{len(first) - 1}")

    registry = Registry(open_driver("filesystem", rootdirectory=str(store)))
    repo = registry.repository("half/done")
    assert repo.uploads.started_at(upload_id).tzinfo is not None
    with repo.uploads.resume(upload_id) as upload:
        assert upload.offset == len(first)
        upload.write(second, offset=len(first))
        digest = upload.commit(Digest.of(first + second)).digest
    status, _, body = curl("GET", f"{base}/v2/half/done/blobs/{digest}")
    assert (status, body) == (200, first + second)


def _absolute(base: str, location: str) -> str:
    return location if location.startswith("http") else base + location
