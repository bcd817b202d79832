"""One small handler per manifest media type: what a manifest of that type references.

Docker schema 2 and OCI image manifests reference a config and layers (blobs); a docker
manifest list and an OCI index reference child manifests; OCI manifests and indexes may name
a ``subject`` (which makes them a referrer of it); docker schema 1 (deprecated) is only read,
its ``fsLayers[].blobSum`` being its blobs. :func:`parse_manifest` detects the type (from the
``mediaType`` field, the declared content type, or the document's shape) and returns a
:class:`ParsedManifest`; anything malformed raises :class:`ManifestInvalidError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from distribution_storage.layout import Digest
from distribution_storage.registry.errors import (
    ManifestInvalidError,
    ManifestMediaTypeUnsupportedError,
)

DOCKER_SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

WRITABLE_MEDIA_TYPES = frozenset({DOCKER_SCHEMA2, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX})
"""Media types a manifest may be put with."""
MEDIA_TYPES = WRITABLE_MEDIA_TYPES | {DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED}
"""Media types a manifest may be read as."""


@dataclass(frozen=True, slots=True)
class Descriptor:
    """An OCI content descriptor: what a manifest says about something it references."""

    media_type: str
    digest: Digest
    size: int
    artifact_type: str | None = None
    annotations: Mapping[str, str] | None = None
    urls: tuple[str, ...] = ()
    platform: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The descriptor as the OCI JSON object."""
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": str(self.digest),
            "size": self.size,
        }
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform:
            out["platform"] = dict(self.platform)
        return out


@dataclass(frozen=True)
class ParsedManifest:
    """What a manifest references, by kind."""

    media_type: str
    blobs: tuple[Descriptor, ...] = ()
    """Config and layers: blobs that must be linked in the repository."""
    manifests: tuple[Descriptor, ...] = ()
    """Child manifests (of a list or an index) that must be in the repository."""
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ManifestInvalidError(f"{where}: a descriptor is a JSON object")
    media_type = value.get("mediaType", "")
    size = value.get("size")
    urls = value.get("urls") or []
    annotations = value.get("annotations")
    if not isinstance(media_type, str):
        raise ManifestInvalidError(f"{where}: mediaType must be a string")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestInvalidError(f"{where}: size must be a non-negative integer")
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ManifestInvalidError(f"{where}: urls must be a list of strings")
    if annotations is not None and not isinstance(annotations, dict):
        raise ManifestInvalidError(f"{where}: annotations must be an object")
    try:
        digest = Digest.parse(str(value.get("digest", "")))
    except ValueError as exc:
        raise ManifestInvalidError(f"{where}: {exc}") from None
    artifact_type = value.get("artifactType")
    platform = value.get("platform")
    return Descriptor(
        media_type,
        digest,
        size,
        artifact_type if isinstance(artifact_type, str) else None,
        annotations,
        tuple(urls),
        platform if isinstance(platform, dict) else None,
    )


def _descriptors(doc: Mapping[str, Any], key: str, *, required: bool) -> tuple[Descriptor, ...]:
    value = doc.get(key)
    if value is None and not required:
        return ()
    if not isinstance(value, list):
        raise ManifestInvalidError(f"{key} must be a list")
    return tuple(_descriptor(item, f"{key}[{i}]") for i, item in enumerate(value))


def _subject(doc: Mapping[str, Any]) -> Descriptor | None:
    return _descriptor(doc["subject"], "subject") if doc.get("subject") is not None else None


def _annotations(doc: Mapping[str, Any]) -> Mapping[str, str]:
    value = doc.get("annotations") or {}
    if not isinstance(value, dict):
        raise ManifestInvalidError("annotations must be an object")
    return value


def _image(media_type: str, doc: Mapping[str, Any]) -> ParsedManifest:
    config = _descriptor(doc.get("config"), "config")
    layers = _descriptors(doc, "layers", required=media_type == DOCKER_SCHEMA2)
    artifact_type = doc.get("artifactType")
    return ParsedManifest(
        media_type,
        blobs=(config, *layers),
        subject=_subject(doc) if media_type == OCI_MANIFEST else None,
        artifact_type=artifact_type if isinstance(artifact_type, str) else config.media_type,
        annotations=_annotations(doc),
    )


def _index(media_type: str, doc: Mapping[str, Any]) -> ParsedManifest:
    artifact_type = doc.get("artifactType")
    return ParsedManifest(
        media_type,
        manifests=_descriptors(doc, "manifests", required=True),
        subject=_subject(doc) if media_type == OCI_INDEX else None,
        artifact_type=artifact_type if isinstance(artifact_type, str) else None,
        annotations=_annotations(doc),
    )


def _schema1(media_type: str, doc: Mapping[str, Any]) -> ParsedManifest:
    layers = doc.get("fsLayers")
    if not isinstance(layers, list):
        raise ManifestInvalidError("fsLayers must be a list")
    blobs = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise ManifestInvalidError(f"fsLayers[{i}] must be an object")
        try:
            digest = Digest.parse(str(layer.get("blobSum", "")))
        except ValueError as exc:
            raise ManifestInvalidError(f"fsLayers[{i}]: {exc}") from None
        blobs.append(Descriptor("application/octet-stream", digest, 0))
    return ParsedManifest(media_type, blobs=tuple(dict.fromkeys(blobs)))


HANDLERS: Mapping[str, Callable[[str, Mapping[str, Any]], ParsedManifest]] = {
    DOCKER_SCHEMA2: _image,
    OCI_MANIFEST: _image,
    DOCKER_MANIFEST_LIST: _index,
    OCI_INDEX: _index,
    DOCKER_SCHEMA1: _schema1,
    DOCKER_SCHEMA1_SIGNED: _schema1,
}


def _detect(doc: Mapping[str, Any], declared: str | None) -> str:
    version = doc.get("schemaVersion")
    if version == 1:
        return DOCKER_SCHEMA1_SIGNED if "signatures" in doc else DOCKER_SCHEMA1
    if version != 2:
        raise ManifestInvalidError(f"unsupported schemaVersion {version!r}")
    field_type = doc.get("mediaType")
    if field_type is not None:
        if not isinstance(field_type, str):
            raise ManifestInvalidError("mediaType must be a string")
        if declared in MEDIA_TYPES and declared != field_type:
            raise ManifestInvalidError(
                f"the manifest's mediaType {field_type!r} differs from its content type "
                f"{declared!r}"
            )
        return field_type
    if declared in (OCI_MANIFEST, OCI_INDEX):
        return declared
    if declared and declared in MEDIA_TYPES:
        raise ManifestInvalidError(f"a {declared} manifest must have a mediaType field")
    if "manifests" in doc:
        return OCI_INDEX
    if "config" in doc:
        return OCI_MANIFEST
    raise ManifestMediaTypeUnsupportedError(declared or "(none)")


def parse_manifest(payload: bytes, declared: str | None = None) -> ParsedManifest:
    """Parse a manifest's bytes; ``declared`` is the content type it came with, if any."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestInvalidError(f"manifest is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ManifestInvalidError("manifest is not a JSON object")
    media_type = _detect(doc, declared)
    handler = HANDLERS.get(media_type)
    if handler is None:
        raise ManifestMediaTypeUnsupportedError(media_type)
    return handler(media_type, doc)
