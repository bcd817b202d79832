"""Driver benchmarks: distribution's driver benchmark set, and a baseline run side by side.

    python benchmarks/drivers.py [CONFIG.yml] [--large-size 1GiB] [--skip-baseline]

Prints one JSON object. ``driver`` holds distribution's set (put/get and streaming of empty,
1 KiB, 1 MiB and the large size; list of 5 and 50 files; recursive delete of 5 and 50 files)
for the driver CONFIG describes (default: a filesystem store in a temporary directory), as
bytes/s and operations/s. ``filesystem_stream_vs_cp`` writes the large size through the
filesystem driver's streaming writer and copies the same file with ``cp`` on the same disk,
each timed in this run, and reports the ratio (driver time / cp time; 1.0 is parity).
Speed is measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from distribution_storage import open_driver
from distribution_storage.config import load_config, open_storage
from distribution_storage.driver import StorageDriver

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
CHUNK = 8 * MIB


def parse_size(text: str) -> int:
    """``1GiB``, ``64MiB``, ``512KiB`` or a plain number of bytes."""
    units = {"gib": GIB, "mib": MIB, "kib": KIB, "b": 1}
    lower = text.strip().lower()
    for suffix, factor in units.items():
        if lower.endswith(suffix):
            return int(float(lower[: -len(suffix)]) * factor)
    return int(lower)


def timed(action: Callable[[], object], repeat: int = 1) -> float:
    """Seconds per run of ``action``, the best of ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def stream_in(driver: StorageDriver, path: str, size: int) -> None:
    """Write ``size`` bytes through a writer in CHUNK pieces, then commit."""
    block = secrets.token_bytes(min(size, CHUNK)) if size else b""
    writer = driver.writer(path)
    remaining = size
    while remaining > 0:
        piece = block[: min(remaining, CHUNK)]
        writer.write(piece)
        remaining -= len(piece)
    writer.commit()


def stream_out(driver: StorageDriver, path: str) -> int:
    """Read ``path`` to the end through a reader; returns the byte count."""
    total = 0
    with driver.reader(path) as stream:
        while chunk := stream.read(CHUNK):
            total += len(chunk)
    return total


def rate(size: int, seconds: float) -> dict[str, float]:
    """Bytes/s and operations/s for one operation of ``size`` bytes taking ``seconds``."""
    return {
        "seconds": round(seconds, 6),
        "ops_per_s": round(1 / seconds, 2) if seconds else 0.0,
        "bytes_per_s": round(size / seconds, 1) if seconds else 0.0,
    }


def driver_set(driver: StorageDriver, large: int) -> dict[str, Any]:
    """distribution's driver benchmark set against ``driver``, under a random prefix."""
    prefix = f"/bench-{secrets.token_hex(4)}"
    results: dict[str, Any] = {}
    try:
        for label, size in (("0B", 0), ("1KiB", KIB), ("1MiB", MIB), ("large", large)):
            data = secrets.token_bytes(size)
            path = f"{prefix}/content-{label}"
            repeat = 1 if size >= 64 * MIB else 5
            results[f"put_get_{label}"] = {
                "size": size,
                "put": rate(size, timed(lambda p=path, d=data: driver.put_content(p, d), repeat)),
                "get": rate(size, timed(lambda p=path: driver.get_content(p), repeat)),
            }
            del data
            path = f"{prefix}/stream-{label}"
            results[f"stream_{label}"] = {
                "size": size,
                "write": rate(size, timed(lambda p=path, s=size: stream_in(driver, p, s), repeat)),
                "read": rate(size, timed(lambda p=path: stream_out(driver, p), repeat)),
            }
        for count in (5, 50):
            directory = f"{prefix}/list-{count}"
            for index in range(count):
                driver.put_content(f"{directory}/f{index}", b"x")
            results[f"list_{count}"] = rate(0, timed(lambda d=directory: driver.list(d), 5))
            directory = f"{prefix}/delete-{count}"
            for index in range(count):
                driver.put_content(f"{directory}/f{index}", b"x")
            results[f"delete_{count}"] = rate(0, timed(lambda d=directory: driver.delete(d)))
    finally:
        with contextlib.suppress(FileNotFoundError):
            driver.delete(prefix)
    return results


def filesystem_stream_vs_cp(large: int) -> dict[str, Any]:
    """The filesystem driver's streaming write of ``large`` bytes against ``cp``."""
    with tempfile.TemporaryDirectory(dir=os.getcwd()) as workdir:
        source = os.path.join(workdir, "source")
        with open(source, "wb") as out:
            block = secrets.token_bytes(CHUNK)
            for _ in range(large // CHUNK):
                out.write(block)
            out.write(block[: large % CHUNK])
        driver = open_driver("filesystem", rootdirectory=os.path.join(workdir, "store"))

        def through_driver() -> None:
            writer = driver.writer("/copy")
            with open(source, "rb") as stream:
                while chunk := stream.read(CHUNK):
                    writer.write(chunk)
            writer.commit()

        def with_cp() -> None:
            subprocess.run(["cp", source, os.path.join(workdir, "cp-copy")], check=True)
            fd = os.open(os.path.join(workdir, "cp-copy"), os.O_RDONLY)
            try:
                os.fsync(fd)  # the driver fsyncs on commit; make cp pay the same
            finally:
                os.close(fd)

        cp_seconds = timed(with_cp, 3)
        driver_seconds = timed(through_driver, 3)
        return {
            "size": large,
            "driver_seconds": round(driver_seconds, 4),
            "cp_seconds": round(cp_seconds, 4),
            "ratio_driver_over_cp": round(driver_seconds / cp_seconds, 3),
        }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", help="distribution config.yml (default: filesystem)")
    parser.add_argument("--large-size", default="1GiB", type=parse_size)
    parser.add_argument("--skip-baseline", action="store_true", help="no filesystem-vs-cp run")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=os.getcwd()) as scratch:
        if args.config:
            config = load_config(args.config)
            driver, name = open_storage(config), config.driver
        else:
            driver, name = open_driver("filesystem", rootdirectory=scratch), "filesystem"
        report["driver"] = {"name": name, "results": driver_set(driver, args.large_size)}
        driver.close()
        shutil.rmtree(scratch, ignore_errors=True)
    if not args.skip_baseline:
        report["filesystem_stream_vs_cp"] = filesystem_stream_vs_cp(args.large_size)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
