"""Migration throughput, filesystem -> S3 (moto), against a plain boto3 copy of the same files.

    python benchmarks/migrate.py [--small 2000] [--small-size 4096] [--large 4]
                                 [--large-size 33554432] [--workers 8] [--rounds 2]

Starts moto's S3 server in its own process on 127.0.0.1, writes a filesystem store of
SMALL blobs of SMALL_SIZE bytes and LARGE blobs of LARGE_SIZE bytes (distribution's layout,
each blob with a layer link), then for each set:

- ``migrate(filesystem, s3, workers=W)``: verified (every blob hashed while it streams), and
- a plain copy: ``W`` threads each calling boto3 ``upload_file`` (no extra transfer threads)
  for every file of the same tree into another bucket,

ROUNDS times each, taking turns going first, against an emptied server every round, and
prints one JSON object: MB/s and objects/s of both (the best round of each), the ratio ours /
plain of those and of the medians (goal: at least 0.8), and every round's time. Measured,
never asserted; on a 2-core machine moto takes one core, so the ratio moves with how busy
the machine is, and a run of under a second (4 x 32 MiB) moves most. Each side makes its
S3 client once, before the first round, and uses it in every round (the plain copy its
boto3 client, ours its driver, whose writers reuse their part buffers from round to round
as they do from blob to blob in a long migration); each round's buckets are made again
under the same names. A set of 0 objects (``--small 0``) is left out.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig

from distribution_storage import open_driver
from distribution_storage.driver import StorageDriver
from distribution_storage.layout import Digest, blob_data_path, layer_link_path
from distribution_storage.migrate import migrate

ACCESS, SECRET = "AKIDBENCH", "bench-secret"


def start_moto() -> tuple[str, subprocess.Popen[bytes]]:
    """moto's server in its own process; returns its endpoint."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return f"http://127.0.0.1:{port}", process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto's server did not start") from None
            time.sleep(0.1)


def write_store(root: Path, count: int, size: int) -> int:
    """``count`` blobs of ``size`` random bytes, each with a layer link; returns bytes."""
    store = open_driver("filesystem", rootdirectory=str(root))
    total = 0
    for number in range(count):
        data = os.urandom(size)
        digest = Digest.of(data)
        store.put_content(blob_data_path(digest), data)
        store.put_content(layer_link_path(f"bench/r{number % 10}", digest), str(digest).encode())
        total += size
    return total


def s3_driver(endpoint: str, bucket: str) -> StorageDriver:
    """This SDK's s3 driver on the bucket."""
    return open_driver(
        "s3",
        bucket=bucket,
        region="us-east-1",
        regionendpoint=endpoint,
        forcepathstyle="true",
        accesskey=ACCESS,
        secretkey=SECRET,
        secure="false",
    )


def plain_copy(client: Any, root: Path, bucket: str, workers: int) -> int:
    """Upload every file below ``root`` with boto3, ``workers`` at a time; returns files."""
    files = [path for path in root.rglob("*") if path.is_file()]
    config = TransferConfig(use_threads=False)

    def one(path: Path) -> None:
        client.upload_file(str(path), bucket, str(path.relative_to(root)), Config=config)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, files))
    return len(files)


def drop_bucket(client: Any, bucket: str) -> None:
    """Delete ``bucket`` and everything in it."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=bucket)


def measure(
    endpoint: str, client: Any, root: Path, total: int, workers: int, rounds: int
) -> dict[str, Any]:
    """Time both copies of the store at ``root`` ``rounds`` times each.

    The two take turns going first (the second of a round meets a server still busy with
    the first's bytes), and both buckets are dropped after every round, so each round
    starts against the same, empty server.
    """
    source = open_driver("filesystem", rootdirectory=str(root))
    plain_bucket, ours_bucket = f"plain-{uuid.uuid4().hex[:8]}", f"ours-{uuid.uuid4().hex[:8]}"
    target = s3_driver(endpoint, ours_bucket)
    plain_times: list[float] = []
    our_times: list[float] = []
    files = 0
    for number in range(rounds):
        client.create_bucket(Bucket=plain_bucket)
        client.create_bucket(Bucket=ours_bucket)
        plain_first = number % 2 == 0
        for plain_turn in (plain_first, not plain_first):
            started = time.monotonic()
            if plain_turn:
                files = plain_copy(client, root, plain_bucket, workers)
                plain_times.append(time.monotonic() - started)
            else:
                report = migrate(source, target, workers=workers)
                our_times.append(time.monotonic() - started)
        assert report.failed == 0 and report.copied == files
        assert migrate(source, target, workers=workers, dry_run=True).copied == 0
        drop_bucket(client, plain_bucket)
        drop_bucket(client, ours_bucket)
    plain, ours = min(plain_times), min(our_times)
    mb = total / 1e6
    return {
        "objects": files,
        "megabytes": round(mb, 1),
        "ours": {
            "seconds": round(ours, 3),
            "MB/s": round(mb / ours, 2),
            "objects/s": round(files / ours, 1),
        },
        "plain_boto3": {
            "seconds": round(plain, 3),
            "MB/s": round(mb / plain, 2),
            "objects/s": round(files / plain, 1),
        },
        "ratio": round(plain / ours, 3),
        "ratio_of_medians": round(statistics.median(plain_times) / statistics.median(our_times), 3),
        "plain_boto3_rounds": [round(seconds, 3) for seconds in plain_times],
        "ours_rounds": [round(seconds, 3) for seconds in our_times],
    }


def main(argv: list[str] | None = None) -> int:
    """Run both sets and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--small-size", type=int, default=4096)
    parser.add_argument("--large", type=int, default=4)
    parser.add_argument("--large-size", type=int, default=32 * 2**20)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="best of N runs of each copy")
    args = parser.parse_args(argv)
    endpoint, process = start_moto()
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
    )
    results: dict[str, Any] = {"workers": args.workers}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for name, count, size in (
                ("many_small", args.small, args.small_size),
                ("few_large", args.large, args.large_size),
            ):
                if count == 0:  # a set left out (e.g. --small 0)
                    continue
                root = Path(scratch) / name
                total = write_store(root, count, size)
                results[name] = measure(endpoint, client, root, total, args.workers, args.rounds)
    finally:
        process.terminate()
        process.wait()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
