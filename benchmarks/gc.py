"""GC speed and memory against distribution's own ``garbage-collect``, side by side.

    python benchmarks/gc.py [--repositories 1000] [--manifests 10] [--rounds 3] [--workers N]
                            [--directory DIR]

Generates a filesystem store in distribution's layout (REPOSITORIES x MANIFESTS image
manifests, each with a config and three layers, half of them tagged: about 40,000 blobs at the
defaults); each round copies it twice, flushes the copies to disk (so neither run pays for
the other's writeback), and times on the identical copies, first one then the other,
alternating which goes first from round to round:

- ``docker-registry garbage-collect -m`` (Debian's distribution 2.8.2), and
- ``distribution-storage gc -m --grace-period 0`` (this SDK), each as its own process,

then prints one JSON object with every round's times, the median ratio (ours / theirs;
below 1 is faster),
both processes' peak RSS, ours above an idle process's per million blobs, and whether both
left the same blobs (they must, apart from distribution 2.8.2's multi-arch bug, which this
store does not exercise). Speed is measured here, never asserted in a test.

The stores live in a scratch directory under DIR (the current directory by default). Where
they live decides what is measured: on a disk, deleting a file or directory waits for the
filesystem's metadata, which this SDK overlaps on several threads and distribution does one
at a time; in memory (``--directory /dev/shm``) those waits vanish and what is left is each
program's own work.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
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


_SPAWN = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execvp(sys.argv[1], sys.argv[1:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "print('maxrss', usage.ru_maxrss, file=sys.stderr)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)
"""Runs a command and reports its peak RSS. A child's peak RSS starts at its parent's (Linux
carries it over fork and exec), so it is forked from this small process, not from the
benchmark holding the generated store."""


def _timed(command: list[str]) -> tuple[float, int]:
    """Seconds a command takes and its own peak RSS in KiB (it must succeed)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-S", "-c", _SPAWN, *command],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {result.stdout}{result.stderr}")
    reported = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("maxrss")]
    return seconds, int(reported[-1])


def _ours(*args: str) -> list[str]:
    """This SDK's command line."""
    return [sys.executable, "-m", "distribution_storage.cli", *args]


def _blob_set(root: Path) -> set[str]:
    return {p.parent.name for p in (root / "docker/registry/v2/blobs").rglob("data")}


def remove_store(root: Path, workers: int = 8) -> None:
    """Remove a store made here, its blob prefixes and repositories on ``workers`` threads.

    Every removal waits on the disk (on one mounted with ``discard``, a device round trip
    each), so one ``rmtree`` of the three stores took 5-7 minutes after the timed rounds.
    """
    v2 = root / "docker" / "registry" / "v2"
    subtrees = [
        entry
        for parent in (v2 / "blobs" / "sha256", v2 / "repositories")
        if parent.is_dir()
        for entry in parent.iterdir()
    ]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda tree: shutil.rmtree(tree, ignore_errors=True), subtrees))
    shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repositories", type=int, default=1000)
    parser.add_argument("--manifests", type=int, default=10)
    parser.add_argument(
        "--workers", type=int, help="passed to `gc --workers` (default: the command's own)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--directory", default=os.getcwd(), help="where the stores are made")
    args = parser.parse_args(argv)
    registry_binary = shutil.which("docker-registry")
    if registry_binary is None:
        raise SystemExit("docker-registry is not installed (apt-get install docker-registry)")
    Path(args.directory).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.directory) as scratch:
        work = Path(scratch)
        original = work / "original"
        started = time.perf_counter()
        blobs = generate(original, args.repositories, args.manifests)
        generated = time.perf_counter() - started
        theirs, ours = work / "theirs", work / "ours"
        their_command = [
            registry_binary,
            "garbage-collect",
            "-m",
            str(_config(work / "t.yml", theirs)),
        ]
        workers = [] if args.workers is None else ["--workers", str(args.workers)]
        our_command = _ours(
            "gc", "-m", "-q", "--grace-period", "0", *workers, str(_config(work / "o.yml", ours))
        )
        rounds = []
        their_rss = our_rss = 0
        for index in range(args.rounds):
            for copy in (theirs, ours):
                remove_store(copy)
                shutil.copytree(original, copy)
            os.sync()
            order = ["theirs", "ours"] if index % 2 == 0 else ["ours", "theirs"]
            seconds: dict[str, float] = {}
            for who in order:
                seconds[who], rss = _timed(their_command if who == "theirs" else our_command)
                if who == "theirs":
                    their_rss = max(their_rss, rss)
                else:
                    our_rss = max(our_rss, rss)
            rounds.append(
                {
                    "distribution_seconds": round(seconds["theirs"], 3),
                    "sdk_seconds": round(seconds["ours"], 3),
                    "ratio": round(seconds["ours"] / seconds["theirs"], 3),
                }
            )
        _, idle_rss = _timed(_ours("drivers"))
        report = {
            "store": {
                "repositories": args.repositories,
                "manifests": args.repositories * args.manifests,
                "blobs": blobs,
                "generate_seconds": round(generated, 2),
            },
            "directory": args.directory,
            "workers": args.workers,
            "rounds": rounds,
            "median_ratio_sdk_over_distribution": round(
                statistics.median(r["ratio"] for r in rounds), 3
            ),
            "distribution_peak_rss_mib": round(their_rss / 1024, 1),
            "sdk_peak_rss_mib": round(our_rss / 1024, 1),
            "sdk_idle_rss_mib": round(idle_rss / 1024, 1),
            "sdk_rss_mib_per_million_blobs": round((our_rss - idle_rss) / 1024 / blobs * 1e6, 1),
            "same_surviving_blobs": _blob_set(ours) == _blob_set(theirs),
        }
        for store in (original, theirs, ours):
            remove_store(store)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
