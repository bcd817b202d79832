"""Manifests: put/get per media type, reference checks, limits, delete, referrers."""

from __future__ import annotations

import json

import pytest
from support.manifests import descriptor, image_manifest, index_manifest, push_blob

from distribution_storage.driver.contract import StorageDriver
from distribution_storage.driver.middleware.metrics import CountingDriver
from distribution_storage.layout import (
    Digest,
    blob_data_path,
    manifest_revision_link_path,
    tag_current_link_path,
    tag_index_link_path,
)
from distribution_storage.registry import (
    MAX_MANIFEST_SIZE,
    ManifestBlobUnknownError,
    ManifestInvalidError,
    ManifestMediaTypeUnsupportedError,
    ManifestTooLargeError,
    ManifestUnknownError,
    Registry,
    TagInvalidError,
    TagUnknownError,
)
from distribution_storage.registry.mediatypes import (
    DOCKER_MANIFEST_LIST,
    DOCKER_SCHEMA1,
    DOCKER_SCHEMA1_SIGNED,
    DOCKER_SCHEMA2,
    OCI_INDEX,
    OCI_MANIFEST,
)


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, DOCKER_SCHEMA2])
def test_image_manifest_round_trips_bytes_and_type(
    registry: Registry, driver: StorageDriver, media_type: str
) -> None:
    repo = registry.repository("app")
    payload = image_manifest(repo, media_type=media_type)
    stored = repo.manifests.put(payload, media_type=media_type, tag="v1")
    assert stored.digest == Digest.of(payload)
    got = repo.manifests.get(stored.digest)
    assert (got.payload, got.media_type) == (payload, media_type)
    assert len(got.references) == 3
    assert repo.manifests.exists(stored.digest)
    assert driver.get_content(blob_data_path(stored.digest)) == payload
    link = str(stored.digest).encode()
    assert driver.get_content(manifest_revision_link_path("app", stored.digest)) == link
    assert driver.get_content(tag_current_link_path("app", "v1")) == link
    assert driver.get_content(tag_index_link_path("app", "v1", stored.digest)) == link
    assert repo.tags.get("v1") == stored.digest


@pytest.mark.parametrize(
    ("index_type", "child_type"),
    [(OCI_INDEX, OCI_MANIFEST), (DOCKER_MANIFEST_LIST, DOCKER_SCHEMA2)],
)
def test_index_needs_its_children_first(
    registry: Registry, index_type: str, child_type: str
) -> None:
    repo = registry.repository("multi")
    children = [image_manifest(repo, media_type=child_type, seed=s) for s in "ab"]
    index = index_manifest(children, media_type=index_type)
    with pytest.raises(ManifestBlobUnknownError) as info:
        repo.manifests.put(index, tag="latest")
    assert sorted(info.value.missing) == sorted(Digest.of(c) for c in children)
    assert info.value.code == "MANIFEST_BLOB_UNKNOWN"
    with pytest.raises(TagUnknownError):
        repo.tags.get("latest")
    for child in children:
        repo.manifests.put(child)
    stored = repo.manifests.put(index, tag="latest")
    assert repo.manifests.get(stored.digest).media_type == index_type
    assert [d.digest for d in stored.references] == [Digest.of(c) for c in children]


def test_manifest_with_missing_layers_is_rejected(registry: Registry) -> None:
    repo = registry.repository("app")
    payload = image_manifest(repo, push=False)
    with pytest.raises(ManifestBlobUnknownError) as info:
        repo.manifests.put(payload)
    assert len(info.value.missing) == 3
    assert not repo.manifests.exists(Digest.of(payload))
    assert not registry.blobs.exists(Digest.of(payload))


def test_blobs_of_another_repository_do_not_count(registry: Registry) -> None:
    payload = image_manifest(registry.repository("other"))
    with pytest.raises(ManifestBlobUnknownError):
        registry.repository("app").manifests.put(payload)


def test_foreign_layers_with_urls_need_not_be_stored(registry: Registry) -> None:
    repo = registry.repository("win")
    config = b"{}"
    push_blob(repo, config)
    foreign = descriptor("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", b"far")
    foreign["urls"] = ["https://example.invalid/layer"]
    doc = {
        "schemaVersion": 2,
        "mediaType": DOCKER_SCHEMA2,
        "config": descriptor("application/vnd.docker.container.image.v1+json", config),
        "layers": [foreign],
    }
    assert repo.manifests.put(json.dumps(doc).encode()).media_type == DOCKER_SCHEMA2


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[]",
        b"\xff\xfe",
        b'{"schemaVersion": 3}',
        b'{"schemaVersion": 2}',
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}',
        b'{"schemaVersion": 2, "config": {"digest": "sha256:12", "size": 1, "mediaType": "x"},'
        b' "layers": []}',
        b'{"schemaVersion": 2, "manifests": [{"digest": "sha256:'
        + b"a" * 64
        + b'", "size": -1, "mediaType": "x"}]}',
    ],
)
def test_malformed_manifests_are_invalid(registry: Registry, payload: bytes) -> None:
    with pytest.raises(ManifestInvalidError) as info:
        registry.repository("app").manifests.put(payload)
    assert isinstance(info.value, ValueError)


def test_unknown_media_type_is_unsupported(registry: Registry) -> None:
    payload = json.dumps({"schemaVersion": 2, "mediaType": "application/x-custom"}).encode()
    with pytest.raises(ManifestMediaTypeUnsupportedError):
        registry.repository("app").manifests.put(payload)


def test_content_type_must_agree_with_media_type_field(registry: Registry) -> None:
    repo = registry.repository("app")
    payload = image_manifest(repo)
    with pytest.raises(ManifestInvalidError, match="differs"):
        repo.manifests.put(payload, media_type=DOCKER_SCHEMA2)


def test_oci_manifest_without_media_type_field_is_detected(registry: Registry) -> None:
    repo = registry.repository("app")
    doc = json.loads(image_manifest(repo))
    del doc["mediaType"]
    stored = repo.manifests.put(json.dumps(doc).encode())
    assert repo.manifests.get(stored.digest).media_type == OCI_MANIFEST


def test_manifest_over_4_mib_is_rejected(registry: Registry) -> None:
    repo = registry.repository("app")
    doc = json.loads(image_manifest(repo))
    doc["annotations"] = {"pad": "x" * MAX_MANIFEST_SIZE}
    with pytest.raises(ManifestTooLargeError) as info:
        repo.manifests.put(json.dumps(doc).encode())
    assert info.value.http_status == 413


def test_schema1_is_readable_but_not_writable(registry: Registry, driver: StorageDriver) -> None:
    repo = registry.repository("old")
    layer = push_blob(repo, b"old layer")
    doc = {"schemaVersion": 1, "name": "old", "tag": "v1", "fsLayers": [{"blobSum": str(layer)}]}
    for media_type, extra in ((DOCKER_SCHEMA1, {}), (DOCKER_SCHEMA1_SIGNED, {"signatures": []})):
        payload = json.dumps({**doc, **extra}).encode()
        with pytest.raises(ManifestMediaTypeUnsupportedError):
            repo.manifests.put(payload)
        stored = registry.blobs.put(payload)
        repo.revisions.link(stored.digest)
        got = repo.manifests.get(stored.digest)
        assert got.media_type == media_type
        assert [d.digest for d in got.references] == [layer]


def test_get_of_unknown_manifest_is_typed(registry: Registry) -> None:
    with pytest.raises(ManifestUnknownError) as info:
        registry.repository("app").manifests.get(Digest.of(b"none"))
    assert isinstance(info.value, FileNotFoundError)


def test_corrupted_manifest_blob_is_reported(registry: Registry, driver: StorageDriver) -> None:
    repo = registry.repository("app")
    stored = repo.manifests.put(image_manifest(repo))
    driver.put_content(blob_data_path(stored.digest), b'{"schemaVersion": 2}')
    with pytest.raises(ManifestInvalidError, match="digest"):
        repo.manifests.get(stored.digest)


def test_delete_removes_revision_and_tags_but_keeps_data(registry: Registry) -> None:
    repo = registry.repository("app")
    stored = repo.manifests.put(image_manifest(repo), tag="a")
    repo.tags.tag("b", stored.digest)
    other = repo.manifests.put(image_manifest(repo, seed="other"), tag="c")
    repo.manifests.delete(stored.digest)
    assert not repo.manifests.exists(stored.digest)
    assert repo.tags.list() == ["c"]
    assert repo.tags.get("c") == other.digest
    assert registry.blobs.exists(stored.digest)
    with pytest.raises(ManifestUnknownError):
        repo.manifests.delete(stored.digest)


def test_put_with_invalid_tag_stores_nothing_tagged(registry: Registry) -> None:
    repo = registry.repository("app")
    payload = image_manifest(repo)
    with pytest.raises(TagInvalidError):
        repo.manifests.put(payload, tag="-bad")
    assert repo.tags.list() == []
    assert not repo.manifests.exists(Digest.of(payload))


def test_referrers_are_manifests_whose_subject_is_it(registry: Registry) -> None:
    repo = registry.repository("app")
    image = repo.manifests.put(image_manifest(repo), tag="v1")
    subject = image.descriptor().to_json()
    sig = repo.manifests.put(
        image_manifest(repo, seed="sig", subject=subject, artifact_type="application/x-sig")
    )
    sbom = repo.manifests.put(
        image_manifest(repo, seed="sbom", subject=subject, artifact_type="application/x-sbom")
    )
    repo.manifests.put(image_manifest(repo, seed="unrelated"))
    found = repo.manifests.referrers(image.digest)
    assert sorted(d.digest for d in found) == sorted([sig.digest, sbom.digest])
    assert {d.artifact_type for d in found} == {"application/x-sig", "application/x-sbom"}
    only = repo.manifests.referrers(image.digest, artifact_type="application/x-sbom")
    assert [d.digest for d in only] == [sbom.digest]
    assert repo.manifests.referrers(sig.digest) == []


def _reads(counting: CountingDriver) -> int:
    counts = counting.snapshot()
    return counts.get("get_content", 0) + counts.get("reader", 0)


def test_referrers_read_each_manifest_once(driver: StorageDriver) -> None:
    """A second query reads no manifest; one pushed or deleted by another registry
    instance (another process) since is seen, and only the new one is read."""
    writer = Registry(driver).repository("app")
    image = writer.manifests.put(image_manifest(writer), tag="v1")
    subject = image.descriptor().to_json()
    sig = writer.manifests.put(image_manifest(writer, seed="sig", subject=subject))
    for seed in "abc":
        writer.manifests.put(image_manifest(writer, seed=seed))
    counting = CountingDriver(driver)
    repo = Registry(counting).repository("app")

    assert [d.digest for d in repo.manifests.referrers(image.digest)] == [sig.digest]
    first = _reads(counting)
    per_manifest, rest = divmod(first, 5)  # every manifest of the repository, once
    assert per_manifest >= 1 and rest == 0
    assert counting.snapshot().get("get_content", 0) <= 5  # no link read again per manifest
    assert [d.digest for d in repo.manifests.referrers(image.digest)] == [sig.digest]
    assert _reads(counting) == first

    sbom = writer.manifests.put(image_manifest(writer, seed="sbom", subject=subject))
    writer.manifests.delete(sig.digest)
    assert [d.digest for d in repo.manifests.referrers(image.digest)] == [sbom.digest]
    assert _reads(counting) == first + per_manifest


def test_referrers_pushed_through_the_registry_are_known_without_a_read(
    driver: StorageDriver,
) -> None:
    counting = CountingDriver(driver)
    repo = Registry(counting).repository("app")
    image = repo.manifests.put(image_manifest(repo), tag="v1")
    sig = repo.manifests.put(image_manifest(repo, seed="sig", subject=image.descriptor().to_json()))
    before = _reads(counting)
    found = repo.manifests.referrers(image.digest)
    assert found == [sig.descriptor()]
    assert _reads(counting) == before


def test_referrers_pulled_through_the_registry_are_known_without_a_read(
    driver: StorageDriver,
) -> None:
    writer = Registry(driver).repository("app")
    image = writer.manifests.put(image_manifest(writer), tag="v1")
    sig = writer.manifests.put(
        image_manifest(writer, seed="sig", subject=image.descriptor().to_json())
    )
    other = writer.manifests.put(image_manifest(writer, seed="other"))
    counting = CountingDriver(driver)
    repo = Registry(counting).repository("app")
    for digest in (image.digest, sig.digest, other.digest):
        repo.manifests.get(digest)
    before = _reads(counting)
    assert repo.manifests.referrers(image.digest) == [sig.descriptor()]
    assert _reads(counting) == before


def test_an_unreadable_referrer_is_left_out_and_read_again_later(driver: StorageDriver) -> None:
    writer = Registry(driver).repository("app")
    image = writer.manifests.put(image_manifest(writer), tag="v1")
    payload = image_manifest(writer, seed="sig", subject=image.descriptor().to_json())
    sig = writer.manifests.put(payload)
    driver.delete(blob_data_path(sig.digest))
    repo = Registry(driver).repository("app")
    assert repo.manifests.referrers(image.digest) == []
    driver.put_content(blob_data_path(sig.digest), payload)
    assert [d.digest for d in repo.manifests.referrers(image.digest)] == [sig.digest]


@pytest.mark.parametrize("size", [0, 1, 2])
def test_referrers_are_the_same_with_a_tiny_subject_cache(driver: StorageDriver, size: int) -> None:
    repo = Registry(driver, subject_cache_size=size).repository("app")
    image = repo.manifests.put(image_manifest(repo), tag="v1")
    subject = image.descriptor().to_json()
    expected = sorted(
        repo.manifests.put(image_manifest(repo, seed=s, subject=subject)).digest for s in "xyz"
    )
    for _ in range(2):
        assert [d.digest for d in repo.manifests.referrers(image.digest)] == expected
    assert len(repo.manifests.subjects) <= size


def test_subject_need_not_exist(registry: Registry) -> None:
    repo = registry.repository("app")
    ghost = {"mediaType": OCI_MANIFEST, "digest": str(Digest.of(b"ghost")), "size": 5}
    stored = repo.manifests.put(image_manifest(repo, subject=ghost))
    assert [d.digest for d in repo.manifests.referrers(Digest.of(b"ghost"))] == [stored.digest]


def test_revision_enumeration(registry: Registry) -> None:
    repo = registry.repository("app")
    digests = {repo.manifests.put(image_manifest(repo, seed=s)).digest for s in "abc"}
    assert set(repo.manifests) == digests
    assert list(registry.repository("none").manifests) == []


def test_a_manifest_get_checks_its_link_and_reads_its_blob_once(driver: StorageDriver) -> None:
    writer = Registry(driver).repository("app")
    stored = writer.manifests.put(image_manifest(writer), tag="v1")
    counting = CountingDriver(driver)
    repo = Registry(counting).repository("app")
    assert repo.manifests.get(stored.digest).payload == stored.payload
    # one read of the revision link, one of the blob: no stat of either
    assert "stat" not in counting.snapshot()
    assert _reads(counting) == 2
