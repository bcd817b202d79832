"""One small handler per manifest media type: what a manifest of that type references.

Docker schema 2 and OCI image manifests reference a config and layers (blobs); a docker
manifest list and an OCI index reference child manifests; OCI manifests and indexes may name
a ``subject`` (which makes them a referrer of it); docker schema 1 (deprecated) is only read,
its ``fsLayers[].blobSum`` being its blobs. :func:`parse_manifest` detects the type (from the
``mediaType`` field, the declared content type, or the document's shape) and returns a
:class:`ParsedManifest`; anything malformed raises :class:`ManifestInvalidError`. It reads
JSON as distribution's Go decoder does, so that nothing it accepts is one distribution cannot
read: UTF-8 only (no byte-order mark, no UTF-16), no ``NaN`` or ``Infinity``, each field of
the type of distribution's Go struct (sizes fit an ``int64``), and a bounded nesting depth.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
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

MAX_MANIFEST_DEPTH = 100
"""How deeply a manifest's arrays and objects may nest.

Real manifests nest five deep at most (index, ``manifests``, descriptor, ``platform``,
``os.features``; annotations are flat string maps). Python's decoder recurses once per level
against the interpreter's recursion limit (1,000, shared with the caller's stack: a document
994 deep parses at the top of a thread, 493 deep under 500 frames), so the depth is checked
before decoding, never left to a ``RecursionError`` whose depth depends on who calls: what
``put`` accepted, GC and fsck must always read. Go's decoder allows 10,000, which only
fields distribution ignores could use."""

INT64_MAX = 2**63 - 1
"""The largest descriptor size: distribution's Go ``Descriptor.Size`` and the OCI image-spec's
``size`` are ``int64``."""

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


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


def _string_map(value: Any, where: str) -> dict[str, str]:
    """``value`` if it is an object of strings (Go's ``map[string]string``)."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ManifestInvalidError(f"{where} must be an object of strings")
    return value


def _platform(value: Any, where: str) -> dict[str, Any]:
    """``value`` if its fields have the types of Go's ``v1.Platform``, which distribution
    decodes even in a layer's descriptor."""
    if not isinstance(value, dict):
        raise ManifestInvalidError(f"{where} must be an object")
    for key in ("architecture", "os", "os.version", "variant"):
        if not isinstance(value.get(key, ""), str):
            raise ManifestInvalidError(f"{where}.{key} must be a string")
    for key in ("os.features", "features"):
        items = value.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ManifestInvalidError(f"{where}.{key} must be a list of strings")
    return value


def _artifact_type(value: Mapping[str, Any], where: str) -> str | None:
    artifact_type = value.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise ManifestInvalidError(f"{where}artifactType must be a string")
    return artifact_type


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ManifestInvalidError(f"{where}: a descriptor is a JSON object")
    media_type = value.get("mediaType", "")
    size = value.get("size")
    urls = value.get("urls") or []
    annotations = value.get("annotations")
    platform = value.get("platform")
    if not isinstance(media_type, str):
        raise ManifestInvalidError(f"{where}: mediaType must be a string")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= INT64_MAX:
        raise ManifestInvalidError(f"{where}: size must be an integer from 0 to 2**63-1")
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ManifestInvalidError(f"{where}: urls must be a list of strings")
    try:
        digest = Digest.parse(str(value.get("digest", "")))
    except ValueError as exc:
        raise ManifestInvalidError(f"{where}: {exc}") from None
    return Descriptor(
        media_type,
        digest,
        size,
        _artifact_type(value, f"{where}."),
        _string_map(annotations, f"{where}.annotations") if annotations is not None else None,
        tuple(urls),
        _platform(platform, f"{where}.platform") if platform is not None else None,
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
    return _string_map(doc.get("annotations") or {}, "annotations")


def _image(media_type: str, doc: Mapping[str, Any]) -> ParsedManifest:
    config = _descriptor(doc.get("config"), "config")
    layers = _descriptors(doc, "layers", required=media_type == DOCKER_SCHEMA2)
    return ParsedManifest(
        media_type,
        blobs=(config, *layers),
        subject=_subject(doc) if media_type == OCI_MANIFEST else None,
        artifact_type=_artifact_type(doc, "") or config.media_type,
        annotations=_annotations(doc),
    )


def _index(media_type: str, doc: Mapping[str, Any]) -> ParsedManifest:
    return ParsedManifest(
        media_type,
        manifests=_descriptors(doc, "manifests", required=True),
        subject=_subject(doc) if media_type == OCI_INDEX else None,
        artifact_type=_artifact_type(doc, ""),
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
    if not isinstance(version, int) or isinstance(version, bool):  # Go's int: 2.0 is refused
        raise ManifestInvalidError(f"schemaVersion must be an integer, not {version!r}")
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


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _nesting_depth(payload: bytes) -> int:
    """How deeply the arrays and objects of ``payload`` nest, found without recursing: escape
    sequences are dropped (a ``\\"`` ends no string), then strings, then all but brackets.
    Where ``payload`` is not JSON, at least as deep as a decoder gets before it fails."""
    brackets = _STRING.sub(b"", _ESCAPE.sub(b"", payload)).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def _load(payload: bytes) -> Any:
    """The JSON document ``payload`` as Go's ``encoding/json`` reads it, or
    :class:`ManifestInvalidError`."""
    # Strict UTF-8: json.loads(bytes) would also take UTF-16, UTF-32 and a byte-order mark,
    # all of which Go refuses ("invalid character 'ï' looking for beginning of value").
    if payload.startswith(codecs.BOM_UTF8):
        raise ManifestInvalidError("manifest starts with a byte-order mark, which JSON forbids")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestInvalidError(f"manifest is not UTF-8: {exc}") from None
    depth = _nesting_depth(payload)
    if depth > MAX_MANIFEST_DEPTH:
        raise ManifestInvalidError(
            f"manifest nests {depth} deep, more than the limit of {MAX_MANIFEST_DEPTH}"
        )
    try:
        # Python's json, not Go's, takes NaN, Infinity and -Infinity unless refused.
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # RecursionError: a caller deep in its stack
        raise ManifestInvalidError(f"manifest is not valid JSON: {exc}") from None


def parse_manifest(payload: bytes, declared: str | None = None) -> ParsedManifest:
    """Parse a manifest's bytes; ``declared`` is the content type it came with, if any."""
    doc = _load(payload)
    if not isinstance(doc, dict):
        raise ManifestInvalidError("manifest is not a JSON object")
    media_type = _detect(doc, declared)
    handler = HANDLERS.get(media_type)
    if handler is None:
        raise ManifestMediaTypeUnsupportedError(media_type)
    return handler(media_type, doc)
