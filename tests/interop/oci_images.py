"""Build small OCI image layouts on disk (no network needed) and compare them after a round trip.

Layers are real gzipped tarballs, configs real image configs, so skopeo treats them as it
would any image; content is derived from a seed, so each image is different and repeatable.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"


@dataclass
class Layout:
    """An OCI layout directory being written: blobs by digest, tagged entries in index.json."""

    root: Path
    blobs: dict[str, bytes] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add_blob(self, data: bytes) -> str:
        """Store a blob; returns its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        return digest

    def descriptor(self, media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
        """Store ``data`` and describe it."""
        return {"mediaType": media_type, "digest": self.add_blob(data), "size": len(data), **extra}

    def tag(self, tag: str, descriptor: dict[str, Any]) -> None:
        """Name a manifest or index in ``index.json``."""
        self.entries.append({**descriptor, "annotations": {REF_NAME: tag}})

    def write(self) -> Path:
        """Write the layout to disk; returns its root."""
        blob_dir = self.root / "blobs" / "sha256"
        blob_dir.mkdir(parents=True, exist_ok=True)
        for digest, data in self.blobs.items():
            (blob_dir / digest.split(":", 1)[1]).write_bytes(data)
        (self.root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.entries}
        (self.root / "index.json").write_text(json.dumps(index))
        return self.root


def layer(seed: str, size: int) -> tuple[bytes, str]:
    """A gzipped tarball holding one file of ``size`` seeded bytes; and its diff id."""
    rng = random.Random(seed)
    payload = rng.randbytes(size)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"data/{seed}.bin")
        info.size, info.mtime, info.mode = size, 0, 0o644
        tar.addfile(info, io.BytesIO(payload))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def image(
    layout: Layout, seed: str, *, layers: int = 3, size: int = 20000, arch: str = "amd64"
) -> dict[str, Any]:
    """Add an image (config + ``layers`` layers) to ``layout``; returns its manifest descriptor.

    Layer 0 depends only on ``size``, so images built with the same size share it.
    """
    blobs = [layer("shared-base" if i == 0 else f"{seed}-{i}", size) for i in range(layers)]
    config = {
        "architecture": arch,
        "os": "linux",
        "config": {"Env": [f"SEED={seed}"]},
        "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in blobs]},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": layout.descriptor(OCI_CONFIG, json.dumps(config).encode()),
        "layers": [layout.descriptor(OCI_LAYER, data) for data, _ in blobs],
    }
    return layout.descriptor(OCI_MANIFEST, json.dumps(manifest).encode())


def multi_arch(
    layout: Layout, seed: str, arches: tuple[str, ...] = ("amd64", "arm64")
) -> dict[str, Any]:
    """Add an OCI index of one image per architecture; returns the index's descriptor."""
    children = []
    for arch in arches:
        child = image(layout, f"{seed}-{arch}", layers=2, arch=arch)
        children.append({**child, "platform": {"architecture": arch, "os": "linux"}})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}
    return layout.descriptor(OCI_INDEX, json.dumps(index).encode())


def read_layout(root: Path) -> tuple[dict[str, str], dict[str, bytes]]:
    """A layout's tags (name -> digest) and blobs (digest -> bytes), as written on disk."""
    index = json.loads((root / "index.json").read_text())
    tags = {
        entry["annotations"][REF_NAME]: entry["digest"]
        for entry in index["manifests"]
        if REF_NAME in entry.get("annotations", {})
    }
    blobs = {
        f"sha256:{path.name}": path.read_bytes() for path in (root / "blobs" / "sha256").iterdir()
    }
    return tags, blobs
