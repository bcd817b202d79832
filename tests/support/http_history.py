"""Random registry histories pushed over HTTP, for comparing GC with distribution's.

A :class:`HistoryClient` speaks the OCI distribution API with urllib (monolithic blob
uploads, manifest PUT and DELETE); :func:`play_history` drives it through a seeded random
mix of pushes with shared layers, multi-arch indexes, retags, manifest deletions and orphan
blobs -- the histories real registries accumulate.
"""

from __future__ import annotations

import hashlib
import json
import random
import urllib.request
from dataclasses import dataclass, field
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class HistoryClient:
    """A minimal OCI distribution API client for pushing and deleting."""

    def __init__(self, address: str) -> None:
        self.base = f"http://{address}/v2"

    def _request(
        self, method: str, url: str, data: bytes | None = None, content_type: str = ""
    ) -> Any:
        request = urllib.request.Request(url, data=data, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        return urllib.request.urlopen(request, timeout=30)

    def push_blob(self, name: str, data: bytes) -> dict[str, Any]:
        with self._request("POST", f"{self.base}/{name}/blobs/uploads/", b"") as response:
            location = response.headers["Location"]
        if location.startswith("/"):
            location = self.base[: -len("/v2")] + location
        joiner = "&" if "?" in location else "?"
        url = f"{location}{joiner}digest={digest_of(data)}"
        with self._request("PUT", url, data, "application/octet-stream"):
            pass
        return {"digest": digest_of(data), "size": len(data)}

    def put_manifest(self, name: str, reference: str, doc: dict[str, Any]) -> dict[str, Any]:
        payload = json.dumps(doc).encode()
        url = f"{self.base}/{name}/manifests/{reference}"
        with self._request("PUT", url, payload, doc["mediaType"]):
            pass
        return {"mediaType": doc["mediaType"], "digest": digest_of(payload), "size": len(payload)}

    def delete_manifest(self, name: str, digest: str) -> None:
        with self._request("DELETE", f"{self.base}/{name}/manifests/{digest}"):
            pass


@dataclass
class History:
    """What a played history left: every manifest pushed, with what it needs."""

    manifests: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    deleted: set[tuple[str, str]] = field(default_factory=set)
    operations: list[str] = field(default_factory=list)


def play_history(client: HistoryClient, seed: int, steps: int = 40) -> History:
    """Push a seeded random history into the registry behind ``client``."""
    rng = random.Random(seed)
    repos = ["app", "team/api", "team/web"]
    layer_pool = [rng.randbytes(rng.randint(200, 3000)) for _ in range(6)]
    history = History()
    images: dict[str, list[dict[str, Any]]] = {repo: [] for repo in repos}
    indexes: dict[str, list[dict[str, Any]]] = {repo: [] for repo in repos}

    def push_image(repo: str, tag: str | None) -> dict[str, Any]:
        config = client.push_blob(repo, json.dumps({"n": rng.random()}).encode())
        layers = []
        for _ in range(rng.randint(1, 3)):
            data = rng.choice(layer_pool) if rng.random() < 0.5 else rng.randbytes(500)
            layers.append({"mediaType": LAYER, **client.push_blob(repo, data)})
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": CONFIG, **config},
            "layers": layers,
        }
        descriptor = client.put_manifest(repo, tag or digest_of(json.dumps(doc).encode()), doc)
        history.manifests[(repo, descriptor["digest"])] = descriptor
        images[repo].append(descriptor)
        return descriptor

    for step in range(steps):
        repo = rng.choice(repos)
        roll = rng.random()
        tag = rng.choice(["latest", "v1", "v2", None, None])
        if roll < 0.45 or not images[repo]:
            push_image(repo, tag)
            history.operations.append(f"push {repo}:{tag}")
        elif roll < 0.65:
            children = [push_image(repo, None) for _ in range(2)]
            doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}
            payload_digest = digest_of(json.dumps(doc).encode())
            descriptor = client.put_manifest(repo, tag or payload_digest, doc)
            history.manifests[(repo, descriptor["digest"])] = descriptor
            indexes[repo].append(descriptor)
            history.operations.append(f"index {repo}:{tag}")
        elif roll < 0.75:
            target = rng.choice(images[repo])
            retag = rng.choice(["latest", "v1", "stable"])
            client.put_manifest(repo, retag, _doc(client, repo, target))
            history.operations.append(f"retag {repo}")
        elif roll < 0.9:
            live_indexes = indexes[repo]
            referenced = {c["digest"] for i in live_indexes for c in _children(client, repo, i)}
            candidates = [d for d in images[repo] + live_indexes if d["digest"] not in referenced]
            if candidates:
                victim = rng.choice(candidates)
                client.delete_manifest(repo, victim["digest"])
                history.deleted.add((repo, victim["digest"]))
                for kept in (images[repo], indexes[repo]):
                    if victim in kept:
                        kept.remove(victim)
                history.operations.append(f"delete {repo}@{victim['digest'][:19]}")
        else:
            client.push_blob(repo, rng.randbytes(777))
            history.operations.append(f"orphan {repo}")
        _ = step
    return history


def _doc(client: HistoryClient, repo: str, descriptor: dict[str, Any]) -> dict[str, Any]:
    url = f"{client.base}/{repo}/manifests/{descriptor['digest']}"
    request = urllib.request.Request(url, headers={"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        doc: dict[str, Any] = json.loads(response.read())
    return doc


def _children(client: HistoryClient, repo: str, index: dict[str, Any]) -> list[dict[str, Any]]:
    return list(_doc(client, repo, index).get("manifests", []))
