"""GC speed and memory against distribution's own ``garbage-collect``, side by side.

    python benchmarks/gc.py [--repositories 1000] [--manifests 10] [--runs 1]

Generates a filesystem store in distribution's layout (REPOSITORIES x MANIFESTS image
manifests, each with a config and three layers, half of them tagged: about 40,000 blobs at the
defaults), copies it, and times on identical copies:

- ``docker-registry garbage-collect -m`` (Debian's distribution 2.8.2), and
- ``distribution-storage gc -m --grace-period 0`` (this SDK), each as its own process,

then prints one JSON object with both times, the ratio (ours / theirs; below 1 is faster),
both processes' peak RSS, ours above an idle process's per million blobs, and whether both
left the same blobs (they must, apart from distribution 2.8.2's multi-arch bug, which this
store does not exercise). Speed is measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from distribution_storage.layout import (
    Digest,
    blob_data_path,
    layer_link_path,
    manifest_revision_link_path,
    tag_current_link_path,
    tag_index_link_path,
)

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"


def _write(root: Path, path: str, data: bytes) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _blob(root: Path, repo: str, data: bytes) -> dict[str, Any]:
    digest = Digest("sha256", hashlib.sha256(data).hexdigest())
    _write(root, blob_data_path(digest), data)
    _write(root, layer_link_path(repo, digest), str(digest).encode())
    return {"digest": str(digest), "size": len(data)}


def generate(root: Path, repositories: int, manifests: int, seed: int = 7) -> int:
    """Write the store; returns how many blobs it holds."""
    rng = random.Random(seed)
    base_layers = [rng.randbytes(2048) for _ in range(20)]
    for r in range(repositories):
        repo = f"bench/repo{r:05d}"
        for m in range(manifests):
            config = _blob(root, repo, json.dumps({"repo": r, "n": m}).encode())
            layers = [
                _blob(root, repo, rng.choice(base_layers)),
                _blob(root, repo, rng.randbytes(512)),
                _blob(root, repo, rng.randbytes(256)),
            ]
            doc = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                "layers": [
                    {"mediaType": "application/vnd.oci.image.layer.v1.tar", **d} for d in layers
                ],
            }
            payload = json.dumps(doc).encode()
            digest = Digest("sha256", hashlib.sha256(payload).hexdigest())
            _write(root, blob_data_path(digest), payload)
            _write(root, manifest_revision_link_path(repo, digest), str(digest).encode())
            if m % 2 == 0:
                tag = f"t{m}"
                _write(root, tag_current_link_path(repo, tag), str(digest).encode())
                _write(root, tag_index_link_path(repo, tag, digest), str(digest).encode())
    return sum(1 for _ in (root / "docker/registry/v2/blobs").rglob("data"))


def _config(path: Path, root: Path) -> Path:
    path.write_text(
        "version: 0.1\nlog:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n"
        "http:\n  addr: 127.0.0.1:0\n"
    )
    return path


_MEASURED = (
    "import resource, sys\n"
    "from distribution_storage.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _timed(command: list[str]) -> tuple[float, int]:
    """Seconds a command takes and the peak RSS in KiB it reports (it must succeed)."""
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {result.stdout}{result.stderr}")
    reported = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("maxrss")]
    if reported:
        return seconds, int(reported[-1])
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def _ours(*args: str) -> list[str]:
    """This SDK's command line, run so that it reports its own peak RSS."""
    return [sys.executable, "-c", _MEASURED, *args]


def _blob_set(root: Path) -> set[str]:
    return {p.parent.name for p in (root / "docker/registry/v2/blobs").rglob("data")}


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repositories", type=int, default=1000)
    parser.add_argument("--manifests", type=int, default=10)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)
    registry_binary = shutil.which("docker-registry")
    if registry_binary is None:
        raise SystemExit("docker-registry is not installed (apt-get install docker-registry)")
    with tempfile.TemporaryDirectory(dir=os.getcwd()) as scratch:
        work = Path(scratch)
        original = work / "original"
        started = time.perf_counter()
        blobs = generate(original, args.repositories, args.manifests)
        generated = time.perf_counter() - started
        theirs, ours = work / "theirs", work / "ours"
        shutil.copytree(original, theirs)
        shutil.copytree(original, ours)
        # Theirs first: its peak RSS is then the children maximum before ours runs.
        their_seconds, their_rss = _timed(
            [registry_binary, "garbage-collect", "-m", str(_config(work / "t.yml", theirs))]
        )
        our_seconds, our_rss = _timed(
            _ours(
                "gc",
                "-m",
                "-q",
                "--grace-period",
                "0",
                "--workers",
                str(args.workers),
                str(_config(work / "o.yml", ours)),
            )
        )
        _, idle_rss = _timed(_ours("drivers"))
        report = {
            "store": {
                "repositories": args.repositories,
                "manifests": args.repositories * args.manifests,
                "blobs": blobs,
                "generate_seconds": round(generated, 2),
            },
            "distribution_gc_seconds": round(their_seconds, 3),
            "sdk_gc_seconds": round(our_seconds, 3),
            "ratio_sdk_over_distribution": round(our_seconds / their_seconds, 3),
            "distribution_peak_rss_mib": round(their_rss / 1024, 1),
            "sdk_peak_rss_mib": round(our_rss / 1024, 1),
            "sdk_idle_rss_mib": round(idle_rss / 1024, 1),
            "sdk_rss_mib_per_million_blobs": round((our_rss - idle_rss) / 1024 / blobs * 1e6, 1),
            "same_surviving_blobs": _blob_set(ours) == _blob_set(theirs),
        }
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
