"""Starting and stopping Azurite's blob service for the azure tests (used by ``conftest.py``).

Azurite comes from npm (``package.json`` at the repository root; ``./dev test`` runs
``npm install``). It is run with node directly, never through npx (killing an npx wrapper
would leave the server running), in memory, on a free port of 127.0.0.1. Missing node, a
missing package or a server that does not come up fails the test; nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
AZURITE_BLOB = ROOT / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
"""Azurite's published, well-known development key (not a secret)."""


@dataclass(frozen=True)
class Azurite:
    """Where Azurite's blob service answers."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def service_url(self) -> str:
        """The blob endpoint of the development account (path-style)."""
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    def stop(self) -> None:
        """Stop the server and reap it."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def loopback_without_proxy() -> None:
    """Keep HTTP clients from sending 127.0.0.1 traffic to a proxy the machine may set."""
    for name in ("NO_PROXY", "no_proxy"):
        entries = [e for e in os.environ.get(name, "").split(",") if e]
        for host in ("127.0.0.1", "localhost"):
            if host not in entries:
                entries.append(host)
        os.environ[name] = ",".join(entries)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_azurite(workdir: Path) -> Azurite:
    """Start ``azurite-blob`` in memory on a free port and wait until it answers."""
    loopback_without_proxy()
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (Azurite needs Node.js)")
    if not AZURITE_BLOB.exists():
        pytest.fail(f"Azurite is not installed at {AZURITE_BLOB} (./dev test runs npm install)")
    port = free_port()
    log = workdir / "azurite.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                node,
                str(AZURITE_BLOB.resolve()),
                *("--blobHost", "127.0.0.1", "--blobPort", str(port)),
                *("--inMemoryPersistence", "--silent", "--skipApiVersionCheck"),
                "--disableTelemetry",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(workdir),
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            # Any HTTP answer (403 without credentials) means the server is up.
            requests.get(f"http://127.0.0.1:{port}/{ACCOUNT}?comp=list", timeout=2)
            return Azurite(port, process)
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(10)
            pytest.fail(f"Azurite did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
