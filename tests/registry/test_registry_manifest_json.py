"""Manifest JSON as distribution reads it: what its Go decoder refuses is refused at put."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.manifests import image_manifest, refused_forms

from distribution_storage import open_driver
from distribution_storage.layout import Digest
from distribution_storage.registry import ManifestInvalidError, Registry
from distribution_storage.registry.mediatypes import (
    MAX_MANIFEST_DEPTH,
    OCI_INDEX,
    OCI_MANIFEST,
    parse_manifest,
)

FORMS = list(refused_forms(b'{"layers": [{}]}'))


@pytest.mark.parametrize("form", FORMS)
def test_a_form_distribution_cannot_read_is_refused_and_nothing_stored(
    registry: Registry, form: str
) -> None:
    repo = registry.repository("app")
    payload = refused_forms(image_manifest(repo))[form]
    with pytest.raises(ManifestInvalidError) as info:
        repo.manifests.put(payload, media_type=OCI_MANIFEST, tag="v1")
    assert (info.value.code, info.value.http_status) == ("MANIFEST_INVALID", 400)
    assert not registry.blobs.exists(Digest.of(payload))
    assert list(repo.manifests) == []
    assert list(repo.tags) == []


def test_sizes_are_int64(registry: Registry) -> None:
    repo = registry.repository("app")
    doc = json.loads(image_manifest(repo))
    doc["layers"][0]["size"] = 2**63 - 1
    assert repo.manifests.put(json.dumps(doc).encode()).references[1].size == 2**63 - 1
    doc["layers"][0]["size"] = 2**63
    with pytest.raises(ManifestInvalidError, match="size"):
        repo.manifests.put(json.dumps(doc).encode())


@pytest.mark.parametrize("where", ["manifest", "descriptor"])
def test_artifact_type_must_be_a_string(registry: Registry, where: str) -> None:
    repo = registry.repository("app")
    doc = json.loads(image_manifest(repo))
    (doc if where == "manifest" else doc["config"])["artifactType"] = 1
    with pytest.raises(ManifestInvalidError, match="artifactType"):
        repo.manifests.put(json.dumps(doc).encode())


def _nested(depth: int) -> bytes:
    return b'{"schemaVersion": 2, "a": "[\\"{", "b": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_nesting_is_judged_the_same_from_any_stack_depth(depth: int) -> None:
    def at_stack_depth(frames: int) -> None:
        if frames:
            return at_stack_depth(frames - 1)
        with pytest.raises(ManifestInvalidError, match="nests"):
            parse_manifest(_nested(depth), OCI_INDEX)
        with pytest.raises(ManifestInvalidError, match="manifests must be a list"):
            parse_manifest(_nested(MAX_MANIFEST_DEPTH - 1), OCI_INDEX)  # read, then judged

    at_stack_depth(0)
    at_stack_depth(700)


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    depth=st.integers(min_value=0, max_value=3000),
    value=JSON_VALUES,
    prefix=st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\\", b'"']),
)
def test_parsing_any_document_returns_or_raises_manifest_invalid(
    depth: int, value: Any, prefix: bytes
) -> None:
    inner = json.dumps(value).encode()
    payload = prefix + b'{"schemaVersion": 2, "x": ' + b"[" * depth + inner + b"]" * depth
    for document in (payload + b"}", payload):
        with contextlib.suppress(ManifestInvalidError):
            parse_manifest(document, OCI_INDEX)


def _readable_by_go(payload: bytes) -> bool:
    """What distribution's decoding needs of an accepted manifest: UTF-8 without a BOM, no
    NaN or Infinity, sizes in int64, annotations of strings."""

    def refuse(name: str) -> None:
        raise ValueError(name)

    if payload.startswith(b"\xef\xbb\xbf"):
        return False
    doc = json.loads(payload.decode("utf-8"), parse_constant=refuse)
    descriptors = [doc["config"], *doc["layers"]]
    return all(0 <= d["size"] < 2**63 for d in descriptors) and all(
        isinstance(v, str) for v in doc.get("annotations", {}).values()
    )


@settings(max_examples=60, deadline=None)
@given(
    annotations=st.dictionaries(
        st.text(max_size=10), st.text(max_size=20) | st.floats() | st.integers(), max_size=4
    ),
    size=st.integers(min_value=0, max_value=2**64),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
    ensure_ascii=st.booleans(),
)
def test_what_put_accepts_distribution_reads_and_parses_back_identically(
    annotations: dict[str, Any], size: int, encoding: str, ensure_ascii: bool
) -> None:
    registry = Registry(open_driver("inmemory"))
    repo = registry.repository("app")
    doc = json.loads(image_manifest(repo))
    doc["layers"][0]["size"] = size
    if annotations:
        doc["annotations"] = annotations
    payload = json.dumps(doc, ensure_ascii=ensure_ascii).encode(encoding)
    try:
        stored = repo.manifests.put(payload, tag="v1")
    except ManifestInvalidError:
        return
    assert _readable_by_go(payload)
    got = repo.manifests.get(stored.digest)
    assert got.payload == payload
    assert got.parsed == stored.parsed == parse_manifest(payload)
    assert dict(got.parsed.annotations) == annotations
