"""Registry benchmarks: the example server against distribution 2.8.2 and the floor, side by side.

One command runs everything on 127.0.0.1 and prints JSON with ratios:

- one large blob (default 512 MiB) uploaded in a single ``PUT`` to the example server
  (``examples/registry_server.py`` on the filesystem driver) and to ``docker-registry serve``
  (Debian's distribution 2.8.2, same disk), against the floor: ``sha256sum`` then ``cp`` of the
  same file (hash the bytes, write them once);
- many small blobs (default 10,000 of 1 KiB) uploaded one after another (``POST`` then
  ``PUT ?digest=`` on one keep-alive connection), in blobs per second, against distribution.

    python benchmarks/bench_registry.py [--size 512MiB] [--count 10000] [--small-size 1KiB]

Measured, never asserted. Needs ``docker-registry``, ``sha256sum`` and ``cp`` on the PATH.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.interop import EXAMPLE_SERVER, free_port, running, write_config

UNITS = {"kib": 1024, "mib": 1024**2, "gib": 1024**3, "b": 1}


def parse_size(text: str) -> int:
    """``512MiB`` -> bytes."""
    lowered = text.strip().lower()
    for unit, factor in UNITS.items():
        if lowered.endswith(unit):
            return int(float(lowered[: -len(unit)]) * factor)
    return int(lowered)


def make_file(path: Path, size: int) -> str:
    """Write ``size`` pseudo-random bytes; returns their digest."""
    hasher = hashlib.sha256()
    block = os.urandom(1024 * 1024)
    with path.open("wb") as out:
        left = size
        while left > 0:
            chunk = block[: min(left, len(block))]
            out.write(chunk)
            hasher.update(chunk)
            left -= len(chunk)
            block = hashlib.sha256(block[:64]).digest() + block[32:]
    return "sha256:" + hasher.hexdigest()


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def upload(address: str, repo: str, path: Path, digest: str) -> None:
    """POST an upload, then PUT the whole file with its digest."""
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=600, blocksize=1024 * 1024)
    conn.request("POST", f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
    response = conn.getresponse()
    response.read()
    location = response.getheader("Location") or ""
    location = location.split(address, 1)[-1]
    separator = "&" if "?" in location else "?"
    with path.open("rb") as body:
        conn.request(
            "PUT",
            f"{location}{separator}digest={digest}",
            body=body,
            headers={"Content-Length": str(path.stat().st_size)},
        )
        response = conn.getresponse()
        response.read()
    conn.close()
    if response.status != 201:
        raise RuntimeError(f"upload to {address} failed: {response.status}")


def small_blobs(address: str, repo: str, count: int, size: int) -> float:
    """Blobs per second for ``count`` uploads of ``size`` bytes on one connection."""
    if count <= 0:
        return 0.0
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    blobs = [os.urandom(size) for _ in range(count)]
    start = time.perf_counter()
    for data in blobs:
        conn.request("POST", f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
        response = conn.getresponse()
        response.read()
        location = (response.getheader("Location") or "").split(address, 1)[-1]
        separator = "&" if "?" in location else "?"
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        conn.request("PUT", f"{location}{separator}digest={digest}", body=data)
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            raise RuntimeError(f"small upload to {address} failed: {response.status}")
    elapsed = time.perf_counter() - start
    conn.close()
    return count / elapsed


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="512MiB", help="large blob size")
    parser.add_argument("--count", type=int, default=10000, help="number of small blobs")
    parser.add_argument("--small-size", default="1KiB", help="small blob size")
    parser.add_argument("--rounds", type=int, default=3, help="large uploads per server (best)")
    args = parser.parse_args(argv)
    size, small = parse_size(args.size), parse_size(args.small_size)
    distribution = shutil.which("docker-registry")
    if distribution is None:
        parser.error("docker-registry is not installed (apt-get install docker-registry)")
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp_name:
        tmp = Path(tmp_name)
        source = tmp / "blob"
        digest = make_file(source, size)
        floor = timed(
            lambda: (
                subprocess.run(["sha256sum", str(source)], check=True, capture_output=True),
                subprocess.run(["cp", str(source), str(tmp / "copy")], check=True),
            )
        )
        (tmp / "copy").unlink()
        results: dict[str, object] = {"large_size": size, "floor_seconds": round(floor, 3)}
        servers = {
            "example": lambda root, port, config: [
                sys.executable,
                str(EXAMPLE_SERVER),
                str(config),
                "--addr",
                f"127.0.0.1:{port}",
            ],
            "distribution": lambda root, port, config: [distribution, "serve", str(config)],
        }
        for label, command in servers.items():
            port = free_port()
            root = tmp / label
            config = write_config(tmp / f"{label}.yml", root, port)
            with running(command(root, port, config), f"127.0.0.1:{port}") as address:
                seconds = min(
                    timed(lambda a=address, i=i: upload(a, f"bench/large{i}", source, digest))
                    for i in range(args.rounds)
                )
                rate = small_blobs(address, "bench/small", args.count, small)
            shutil.rmtree(root, ignore_errors=True)
            results[f"{label}_large_seconds"] = round(seconds, 3)
            results[f"{label}_large_mib_per_s"] = round(size / 2**20 / seconds, 1)
            results[f"{label}_small_blobs_per_s"] = round(rate, 1)
        example_large = float(results["example_large_seconds"])  # type: ignore[arg-type]
        distribution_large = float(results["distribution_large_seconds"])  # type: ignore[arg-type]
        results["large_example_vs_distribution"] = round(example_large / distribution_large, 2)
        results["large_example_vs_floor"] = round(example_large / floor, 2)
        results["large_distribution_vs_floor"] = round(distribution_large / floor, 2)
        if args.count > 0:
            results["small_example_vs_distribution"] = round(
                float(results["example_small_blobs_per_s"])  # type: ignore[arg-type]
                / float(results["distribution_small_blobs_per_s"]),  # type: ignore[arg-type]
                2,
            )
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
