"""Benchmarks of the gcs and azure drivers against their local emulators.

    python benchmarks/bench_gcs_azure.py [--driver gcs|azure|both] [--large-size 64MiB]

Starts fake-gcs-server and/or Azurite on 127.0.0.1 the way the tests do (the helpers in
``tests/gcs/gcs_emulator.py`` and ``tests/azure/azurite_server.py``), runs distribution's
driver benchmark set from ``benchmarks/drivers.py`` (put/get and streaming of empty, 1 KiB,
1 MiB and the large size; list of 5 and 50 files; recursive delete of 5 and 50 files) against
each driver, stops the servers and prints one JSON object. Emulators are not the cloud: the
numbers compare drivers and catch regressions, they say nothing of service throughput.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _module(directory: Path, name: str) -> ModuleType:
    """Import ``name`` from ``directory`` (the benchmark set, the emulator helpers)."""
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    return importlib.import_module(name)


def bench_gcs(workdir: Path, large: int) -> dict[str, Any]:
    """distribution's driver set on the gcs driver over fake-gcs-server."""
    from distribution_storage.drivers.gcs import GCSDriver

    helpers = _module(ROOT / "tests" / "gcs", "gcs_emulator")
    bench = _module(HERE, "drivers")
    emulator = helpers.start_emulator(workdir)
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = emulator.endpoint
    try:
        bucket = emulator.create_bucket()
        driver = GCSDriver.from_parameters({"bucket": bucket, "chunksize": 8 * 2**20})
        try:
            results: dict[str, Any] = bench.driver_set(driver, large)
        finally:
            driver.close()
    finally:
        if previous is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = previous
        emulator.stop()
    return results


def bench_azure(workdir: Path, large: int) -> dict[str, Any]:
    """distribution's driver set on the azure driver over Azurite."""
    from azure.storage.blob import BlobServiceClient

    from distribution_storage.drivers.azure import AzureDriver

    helpers = _module(ROOT / "tests" / "azure", "azurite_server")
    bench = _module(HERE, "drivers")
    server = helpers.start_azurite(workdir)
    try:
        container = f"bench-{uuid.uuid4().hex[:8]}"
        credential = {"account_name": helpers.ACCOUNT, "account_key": helpers.ACCOUNT_KEY}
        with BlobServiceClient(server.service_url, credential=credential) as client:
            client.create_container(container)
        driver = AzureDriver.from_parameters(
            {
                "accountname": helpers.ACCOUNT,
                "accountkey": helpers.ACCOUNT_KEY,
                "container": container,
                "serviceurl": server.service_url,
            }
        )
        try:
            results: dict[str, Any] = bench.driver_set(driver, large)
        finally:
            driver.close()
    finally:
        server.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks and print one JSON object."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--driver", choices=("gcs", "azure", "both"), default="both")
    parser.add_argument("--large-size", default="64MiB")
    args = parser.parse_args(argv)
    large = _module(HERE, "drivers").parse_size(args.large_size)
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        if args.driver in ("gcs", "both"):
            report["gcs"] = bench_gcs(Path(scratch), large)
        if args.driver in ("azure", "both"):
            report["azure"] = bench_azure(Path(scratch), large)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
