"""The layout's path specs and identifier rules, byte for byte as distribution spells them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from distribution_storage import layout
from distribution_storage.layout import (
    Digest,
    DigestInvalidError,
    NameInvalidError,
    TagInvalidError,
    UploadIdInvalidError,
)

HEX = "96443a84ce518ac22acb2e985eda402b58ac19ce6f91060bde4ef2e0cbbfa4c8"
D = Digest("sha256", HEX)
R = "/docker/registry/v2"


def test_paths_match_distribution_layout() -> None:
    assert layout.blob_data_path(D) == f"{R}/blobs/sha256/96/{HEX}/data"
    assert layout.layer_link_path("a/b", D) == f"{R}/repositories/a/b/_layers/sha256/{HEX}/link"
    assert (
        layout.manifest_revision_link_path("a", D)
        == f"{R}/repositories/a/_manifests/revisions/sha256/{HEX}/link"
    )
    assert (
        layout.tag_current_link_path("a", "v1")
        == f"{R}/repositories/a/_manifests/tags/v1/current/link"
    )
    assert (
        layout.tag_index_link_path("a", "v1", D)
        == f"{R}/repositories/a/_manifests/tags/v1/index/sha256/{HEX}/link"
    )
    assert layout.upload_data_path("a", "u1") == f"{R}/repositories/a/_uploads/u1/data"
    assert layout.upload_started_at_path("a", "u1") == f"{R}/repositories/a/_uploads/u1/startedat"
    assert layout.upload_hash_state_path("a", "u1", "sha256", 0) == (
        f"{R}/repositories/a/_uploads/u1/hashstates/sha256/0"
    )


def test_blob_data_path_round_trips_to_its_digest() -> None:
    assert layout.digest_of_blob_data_path(layout.blob_data_path(D)) == D
    assert layout.digest_of_blob_data_path(f"{R}/blobs/sha256/00/{HEX}/data") is None
    assert layout.digest_of_blob_data_path(f"{R}/blobs/sha256/96/{HEX}/other") is None


def test_digest_parse_accepts_canonical_forms() -> None:
    assert Digest.parse(f"sha256:{HEX}") == D
    assert str(D) == f"sha256:{HEX}"
    assert Digest.parse("sha512:" + "a" * 128).algorithm == "sha512"
    assert Digest.of(b"") == Digest.parse(
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "sha256",
        f"sha256:{HEX.upper()}",
        f"sha256:{HEX[:-1]}",
        f"md5:{HEX}",
        f"sha256:{HEX}x",
        f" sha256:{HEX}",
        "sha256:../../etc",
    ],
)
def test_digest_parse_rejects_malformed(bad: str) -> None:
    with pytest.raises(DigestInvalidError) as info:
        Digest.parse(bad)
    assert isinstance(info.value, ValueError)
    assert info.value.code == "DIGEST_INVALID"


@pytest.mark.parametrize("name", ["a", "library/alpine", "a.b_c__d---e/f0", "0/1/2", "a" * 255])
def test_valid_names_pass(name: str) -> None:
    assert layout.check_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "A",
        "a/",
        "/a",
        "a//b",
        "a_",
        "_a",
        "a___b",
        "a..b",
        "a/_manifests",
        "a" * 256,
        "a/../b",
        "a b",
    ],
)
def test_invalid_names_raise(name: str) -> None:
    with pytest.raises(NameInvalidError) as info:
        layout.check_name(name)
    assert info.value.code == "NAME_INVALID"


@pytest.mark.parametrize("tag", ["latest", "v1.0.0", "_x", "A-b_c.d", "a" * 128])
def test_valid_tags_pass(tag: str) -> None:
    assert layout.check_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", ".a", "-a", "a/b", "a:b", "a" * 129, "tag\n"])
def test_invalid_tags_raise(tag: str) -> None:
    with pytest.raises(TagInvalidError):
        layout.check_tag(tag)


@pytest.mark.parametrize("upload_id", ["", ".", "..", "a/b", "x" * 200])
def test_invalid_upload_ids_raise(upload_id: str) -> None:
    with pytest.raises(UploadIdInvalidError):
        layout.check_upload_id(upload_id)


OCI_NAME = re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*")


@given(st.text(alphabet="ab0._-/", max_size=20))
def test_name_rule_agrees_with_the_oci_regex(name: str) -> None:
    expected = bool(OCI_NAME.fullmatch(name)) and 0 < len(name) <= 255
    try:
        layout.check_name(name)
        accepted = True
    except NameInvalidError:
        accepted = False
    assert accepted == expected


@given(st.binary(max_size=64))
def test_digest_of_round_trips_through_parse(data: bytes) -> None:
    digest = Digest.of(data)
    assert Digest.parse(str(digest)) == digest
    assert layout.digest_of_blob_data_path(layout.blob_data_path(digest)) == digest
