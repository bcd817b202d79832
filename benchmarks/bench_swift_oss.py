"""Benchmarks of the swift and oss drivers against their local servers.

    python benchmarks/bench_swift_oss.py [--driver swift|oss|both] [--large-size 64MiB]

Starts a real OpenStack Swift (``tests/swift/swift_support.py``) and/or the fake OSS server
(``tests/oss/oss_support.py``) on 127.0.0.1 the way the tests do, runs distribution's driver
benchmark set from ``benchmarks/drivers.py`` (put/get and streaming of empty, 1 KiB, 1 MiB and
the large size; list of 5 and 50 files; recursive delete of 5 and 50 files) against each
driver, stops the servers and prints one JSON object. A one-replica Swift and an in-memory
fake are not production services: the numbers compare drivers and catch regressions only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _module(directory: Path, name: str) -> ModuleType:
    """Import ``name`` from ``directory`` (the benchmark set, the server helpers)."""
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    return importlib.import_module(name)


def bench_swift(workdir: Path, large: int) -> dict[str, Any]:
    """distribution's driver set on the swift driver over a local Swift (20 MiB segments)."""
    from distribution_storage.drivers.swift import SwiftDriver

    helpers = _module(ROOT / "tests" / "swift", "swift_support")
    bench = _module(HERE, "drivers")
    server = helpers.start_swift(workdir)
    try:
        driver = SwiftDriver.from_parameters(server.parameters(chunksize=20 * 2**20))
        try:
            results: dict[str, Any] = bench.driver_set(driver, large)
        finally:
            driver.close()
    finally:
        helpers.stop_swift(server)
    return results


def bench_oss(large: int) -> dict[str, Any]:
    """distribution's driver set on the oss driver over the fake OSS (10 MiB parts)."""
    from distribution_storage.drivers.oss import OSSDriver

    helpers = _module(ROOT / "tests" / "oss", "oss_support")
    bench = _module(HERE, "drivers")
    server = helpers.start_oss()
    try:
        driver = OSSDriver.from_parameters(server.parameters(chunksize=10 * 2**20))
        try:
            results: dict[str, Any] = bench.driver_set(driver, large)
        finally:
            driver.close()
    finally:
        server.fake.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks and print one JSON object."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--driver", choices=("swift", "oss", "both"), default="both")
    parser.add_argument("--large-size", default="64MiB")
    args = parser.parse_args(argv)
    large = _module(HERE, "drivers").parse_size(args.large_size)
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        if args.driver in ("swift", "both"):
            report["swift"] = bench_swift(Path(scratch), large)
        if args.driver in ("oss", "both"):
            report["oss"] = bench_oss(large)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
