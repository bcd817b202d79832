"""The one rule every reader of a link file follows (registry, GC, fsck, migration)."""

from __future__ import annotations

import pytest

from distribution_storage.layout import Digest, DigestInvalidError, parse_link

DIGEST = Digest.of(b"linked")


@pytest.mark.parametrize("content", [f"{DIGEST}", f"{DIGEST}\n", f" {DIGEST}\r\n"])
def test_a_link_names_its_digest_whatever_whitespace_surrounds_it(content: str) -> None:
    assert parse_link(content.encode("ascii")) == DIGEST


@pytest.mark.parametrize(
    "content",
    [b"", b"sha256:zz", f"{DIGEST}x".encode(), b"\xff" + str(DIGEST).encode(), b"md5:abc"],
)
def test_anything_else_is_an_invalid_digest(content: bytes) -> None:
    with pytest.raises(DigestInvalidError) as caught:
        parse_link(content)
    assert isinstance(caught.value, ValueError)
