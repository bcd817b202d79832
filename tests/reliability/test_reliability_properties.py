"""Property tests: no input makes the parsers raise anything but their typed errors."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from distribution_storage.layout import (
    Digest,
    DigestInvalidError,
    NameInvalidError,
    TagInvalidError,
    check_name,
    check_tag,
)
from distribution_storage.registry.errors import RegistryError
from distribution_storage.registry.mediatypes import MEDIA_TYPES, parse_manifest

HEX = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@given(st.text(max_size=100))
def test_digest_parse_raises_only_digest_invalid(text: str) -> None:
    try:
        digest = Digest.parse(text)
    except DigestInvalidError:
        return
    assert str(digest) == text


@given(HEX)
def test_every_sha256_digest_round_trips(hex_part: str) -> None:
    assert str(Digest.parse(f"sha256:{hex_part}")) == f"sha256:{hex_part}"


@given(st.text(max_size=300))
def test_names_raise_only_name_invalid(text: str) -> None:
    with contextlib.suppress(NameInvalidError):
        assert check_name(text) == text


@given(st.from_regex(r"[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,3}", fullmatch=True))
def test_simple_names_are_valid(name: str) -> None:
    assert check_name(name) == name


@given(st.text(max_size=200))
def test_tags_raise_only_tag_invalid(text: str) -> None:
    with contextlib.suppress(TagInvalidError):
        assert check_tag(text) == text


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


def manifest_like(draw: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"schemaVersion": draw(st.sampled_from([2, 1, "2", None]))}
    doc["mediaType"] = draw(st.sampled_from(sorted(MEDIA_TYPES)) | st.text(max_size=20))
    for key in ("config", "layers", "manifests", "subject", "fsLayers", "annotations"):
        if draw(st.booleans()):
            doc[key] = draw(JSON)
    return doc


@settings(max_examples=300)
@given(st.data())
def test_manifest_parsing_raises_only_registry_errors(data: st.DataObject) -> None:
    doc = manifest_like(data.draw)
    try:
        parsed = parse_manifest(json.dumps(doc).encode())
    except RegistryError:
        return
    assert parsed.media_type in MEDIA_TYPES


@given(st.binary(max_size=200))
def test_manifest_parsing_of_arbitrary_bytes(payload: bytes) -> None:
    with contextlib.suppress(RegistryError):
        parse_manifest(payload)
