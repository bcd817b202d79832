"""GC on S3 (moto): requests and time against distribution's own GC on the same kind of bucket.

    python benchmarks/gc_s3.py [--repositories 100] [--manifests 10]

Starts moto's S3 server in this process behind a WSGI layer that counts every request by
kind, writes the same generated store (distribution's layout; REPOSITORIES x MANIFESTS image
manifests with a config and three layers, half tagged) into two buckets, then runs

- ``docker-registry garbage-collect -m`` (Debian's distribution 2.8.2, its s3 driver with
  ``regionendpoint`` pointing at moto; AWS_CA_BUNDLE is unset for it, which it refuses), and
- ``distribution-storage gc -m --grace-period 0`` with this SDK's s3 driver,

one per bucket, and prints one JSON object: requests by kind, total requests, seconds, and
the ratios (ours / theirs), and whether both left the same blobs. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from distribution_storage.layout import (
    Digest,
    blob_data_path,
    layer_link_path,
    manifest_revision_link_path,
    tag_current_link_path,
    tag_index_link_path,
)

ACCESS, SECRET = "AKIDBENCH", "bench-secret"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"


class CountingApp:
    """WSGI middleware counting requests per bucket and kind."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.counts: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/").lstrip("/")
        bucket, _, key = path.partition("/")
        query = environ.get("QUERY_STRING", "")
        method = environ["REQUEST_METHOD"]
        if method == "GET" and not key:
            kind = "list"
        elif method == "POST" and "delete" in query:
            kind = "batch-delete"
        else:
            kind = {"GET": "get", "HEAD": "head", "PUT": "put", "DELETE": "delete"}.get(
                method, method.lower()
            )
        with self.lock:
            self.counts[(bucket, kind)] += 1
        return self.app(environ, start)

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()

    def for_bucket(self, bucket: str) -> dict[str, int]:
        with self.lock:
            return dict(sorted((k, n) for (b, k), n in self.counts.items() if b == bucket))


def start_moto() -> tuple[str, CountingApp, Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = CountingApp(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", app, server


def generate(client: Any, bucket: str, repositories: int, manifests: int) -> int:
    """Write the store into ``bucket``; returns its number of blobs."""
    rng = random.Random(7)
    base_layers = [rng.randbytes(2048) for _ in range(20)]
    objects: dict[str, bytes] = {}

    def put(path: str, data: bytes) -> None:
        objects[path.lstrip("/")] = data

    def blob(repo: str, data: bytes) -> dict[str, Any]:
        digest = Digest("sha256", hashlib.sha256(data).hexdigest())
        put(blob_data_path(digest), data)
        put(layer_link_path(repo, digest), str(digest).encode())
        return {"digest": str(digest), "size": len(data)}

    for r in range(repositories):
        repo = f"bench/repo{r:04d}"
        for m in range(manifests):
            config = blob(repo, json.dumps({"repo": r, "n": m}).encode())
            layers = [
                blob(repo, rng.choice(base_layers)),
                blob(repo, rng.randbytes(512)),
                blob(repo, rng.randbytes(256)),
            ]
            doc = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                "layers": [{"mediaType": LAYER, **d} for d in layers],
            }
            payload = json.dumps(doc).encode()
            digest = Digest("sha256", hashlib.sha256(payload).hexdigest())
            put(blob_data_path(digest), payload)
            put(manifest_revision_link_path(repo, digest), str(digest).encode())
            if m % 2 == 0:
                put(tag_current_link_path(repo, f"t{m}"), str(digest).encode())
                put(tag_index_link_path(repo, f"t{m}", digest), str(digest).encode())
    client.create_bucket(Bucket=bucket)
    for key, data in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    return sum(1 for key in objects if key.endswith("/data"))


def blob_set(client: Any, bucket: str) -> set[str]:
    names = set()
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix="docker/registry/v2/blobs/"
    ):
        names.update(item["Key"].split("/")[-2] for item in page.get("Contents", []))
    return names


def config(path: Path, endpoint: str, bucket: str) -> Path:
    path.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  s3:\n"
        f"    accesskey: {ACCESS}\n    secretkey: {SECRET}\n    region: us-east-1\n"
        f"    regionendpoint: {endpoint}\n    forcepathstyle: true\n    bucket: {bucket}\n"
        "    secure: false\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n"
    )
    return path


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {result.stdout}{result.stderr}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repositories", type=int, default=100)
    parser.add_argument("--manifests", type=int, default=10)
    args = parser.parse_args(argv)
    registry_binary = shutil.which("docker-registry")
    if registry_binary is None:
        raise SystemExit("docker-registry is not installed (apt-get install docker-registry)")
    ours_binary = str(Path(sys.executable).with_name("distribution-storage"))
    endpoint, counter, server = start_moto()
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
    )
    blobs = generate(client, "theirs", args.repositories, args.manifests)
    generate(client, "ours", args.repositories, args.manifests)
    env = {k: v for k, v in os.environ.items() if not k.endswith("CA_BUNDLE")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS, AWS_SECRET_ACCESS_KEY=SECRET)
    counter.reset()  # count the collections only, not the store's generation
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        their_config = config(work / "t.yml", endpoint, "theirs")
        their_seconds = timed([registry_binary, "garbage-collect", "-m", str(their_config)], env)
        our_seconds = timed(
            [
                ours_binary,
                "gc",
                "-m",
                "-q",
                "--grace-period",
                "0",
                str(config(work / "o.yml", endpoint, "ours")),
            ],
            env,
        )
    theirs_requests = counter.for_bucket("theirs")
    ours_requests = counter.for_bucket("ours")
    their_total, our_total = sum(theirs_requests.values()), sum(ours_requests.values())
    report = {
        "store": {"repositories": args.repositories, "blobs": blobs},
        "distribution_gc": {
            "seconds": round(their_seconds, 2),
            "requests": their_total,
            "by_kind": theirs_requests,
        },
        "sdk_gc": {
            "seconds": round(our_seconds, 2),
            "requests": our_total,
            "by_kind": ours_requests,
        },
        "ratio_seconds_sdk_over_distribution": round(our_seconds / their_seconds, 3),
        "ratio_requests_sdk_over_distribution": round(our_total / their_total, 3),
        "same_surviving_blobs": blob_set(client, "ours") == blob_set(client, "theirs"),
    }
    server.shutdown()
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
