"""Benchmarks of the s3 driver against moto's S3 server, and against boto3's upload_file.

    python benchmarks/bench_s3.py [--large-size 64MiB] [--stream-size 1GiB]

Starts moto's S3 server in its own process on 127.0.0.1 (so the server does not share this
process's interpreter lock with the code being timed), then prints one JSON object:
``driver`` is distribution's driver benchmark set from ``benchmarks/drivers.py`` (put/get and
streaming of empty, 1 KiB, 1 MiB and the large size; list of 5 and 50 files; recursive
delete of 5 and 50 files) on the s3 driver; ``stream_vs_upload_file`` streams the same
``--stream-size`` file through the driver's writer (8 MiB writes, then commit) and uploads it
with boto3's ``upload_file`` under its default ``TransferConfig`` (8 MiB parts, 10 threads),
and reports the ratio of the best of two timed runs each (driver / upload_file; 1.0 is
parity). moto is not S3:
the numbers compare the two clients on one server and catch regressions; they say nothing
of S3's throughput.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3

HERE = Path(__file__).resolve().parent
CHUNK = 8 * 1024 * 1024
CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench-secret"}


def _bench_module() -> ModuleType:
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    return importlib.import_module("drivers")


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """moto's server in a child process on a free loopback port; returns it and its URL."""
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
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto's server did not start") from None
            time.sleep(0.1)


def make_file(directory: str, size: int) -> Path:
    """A file of ``size`` bytes (one random 8 MiB block repeated)."""
    path = Path(directory) / "stream.bin"
    block = secrets.token_bytes(CHUNK)
    with path.open("wb") as out:
        remaining = size
        while remaining > 0:
            out.write(block[: min(remaining, CHUNK)])
            remaining -= min(remaining, CHUNK)
    return path


def stream_vs_upload_file(driver: Any, client: Any, bucket: str, source: Path) -> dict[str, Any]:
    """Time the driver's streaming write of ``source`` and boto3's ``upload_file`` of it."""
    size = source.stat().st_size

    def through_driver() -> None:
        writer = driver.writer("/stream/driver")
        with source.open("rb") as stream:
            while block := stream.read(CHUNK):
                writer.write(block)
        writer.commit()

    def through_upload_file() -> None:
        client.upload_file(str(source), bucket, "upload-file")

    bench = _bench_module()
    # Two rounds in alternating order, the best of each: load from elsewhere on the machine
    # then weighs on both sides alike.
    driver_seconds = bench.timed(through_driver)
    boto_seconds = min(bench.timed(through_upload_file), bench.timed(through_upload_file))
    driver_seconds = min(driver_seconds, bench.timed(through_driver))
    assert driver.stat("/stream/driver").size == size
    return {
        "size": size,
        "driver_writer": bench.rate(size, driver_seconds),
        "boto3_upload_file": bench.rate(size, boto_seconds),
        "ratio_driver_to_upload_file": round(driver_seconds / boto_seconds, 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print one JSON object."""
    import argparse

    from distribution_storage.drivers.s3 import S3Driver

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--large-size", default="64MiB")
    parser.add_argument("--stream-size", default="1GiB")
    args = parser.parse_args(argv)
    bench = _bench_module()
    large, stream_size = bench.parse_size(args.large_size), bench.parse_size(args.stream_size)
    process, endpoint = start_moto()
    report: dict[str, Any] = {"server": "moto (separate process)", "endpoint": endpoint}
    try:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS)
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        client.create_bucket(Bucket=bucket)
        driver = S3Driver.from_parameters(
            {
                "bucket": bucket,
                "regionendpoint": endpoint,
                "forcepathstyle": True,
                "accesskey": CREDENTIALS["aws_access_key_id"],
                "secretkey": CREDENTIALS["aws_secret_access_key"],
            }
        )
        try:
            report["driver"] = bench.driver_set(driver, large)
            with tempfile.TemporaryDirectory(dir=os.getcwd()) as scratch:
                source = make_file(scratch, stream_size)
                report["stream_vs_upload_file"] = stream_vs_upload_file(
                    driver, client, bucket, source
                )
        finally:
            driver.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
