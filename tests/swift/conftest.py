"""Fixtures that run a real OpenStack Swift on 127.0.0.1 for the swift driver's tests.

``swift_server`` starts ``swift_server.py`` (proxy, account, container and object servers from
the PyPI ``swift`` package, one replica, configs and rings in a temporary directory) as a
child process for the whole session and stops it afterwards. A missing package or a server
that does not come up fails the tests; nothing is skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent


@dataclass(frozen=True)
class SwiftServer:
    """Where the local Swift answers, with its tempauth account."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def authurl(self) -> str:
        """The tempauth v1 URL."""
        return f"http://127.0.0.1:{self.port}/auth/v1.0"

    def parameters(self, **overrides: Any) -> dict[str, Any]:
        """Driver parameters for this server (a fresh container unless given)."""
        params: dict[str, Any] = {
            "username": "test:tester",
            "password": "testing",
            "authurl": self.authurl,
            "container": f"c-{uuid.uuid4().hex[:12]}",
            "chunksize": 1 << 20,
        }
        params.update(overrides)
        return params


def start_swift(workdir: Path) -> SwiftServer:
    """Start the all-in-one Swift process and wait for its READY line."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "swift_server.py"), str(workdir)],
        stdout=subprocess.PIPE,
        stderr=open(workdir / "stderr.log", "wb"),  # noqa: SIM115 - the child owns it
        env=env,
        cwd=str(HERE),
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    line = proc.stdout.readline().decode()
    if not line.startswith("READY") or time.monotonic() > deadline:
        proc.kill()
        log = (workdir / "stderr.log").read_text(errors="replace")
        pytest.fail(f"Swift did not start: {line!r}\n{log[-3000:]}")
    return SwiftServer(int(line.split()[1]), proc)


def stop_swift(server: SwiftServer) -> None:
    """Stop the Swift process and reap it."""
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)


@pytest.fixture(scope="session")
def swift_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwiftServer]:
    """A real Swift for the session."""
    server = start_swift(tmp_path_factory.mktemp("swift"))
    yield server
    stop_swift(server)


@pytest.fixture
def swift_params(swift_server: SwiftServer) -> dict[str, Any]:
    """Parameters for a fresh container on the session's Swift."""
    return swift_server.parameters()


@pytest.fixture
def make_swift_driver(swift_params: dict[str, Any]) -> Callable[..., Any]:
    """Build a SwiftDriver over ``swift_params`` (overrides as keyword arguments)."""
    from distribution_storage.drivers.swift import SwiftDriver

    def make(**overrides: Any) -> SwiftDriver:
        return SwiftDriver.from_parameters({**swift_params, **overrides})

    return make
