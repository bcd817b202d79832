"""Start and stop a real OpenStack Swift on 127.0.0.1 for the swift driver's tests.

:func:`start_swift` runs ``swift_server.py`` (proxy, account, container and object servers
from the PyPI ``swift`` package, one replica, configs and rings in a given directory) as a
child process and waits for it; :func:`stop_swift` stops it. A missing package or a server
that does not come up fails the test; nothing is skipped.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import uuid
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
    with open(workdir / "stderr.log", "wb") as log:  # the child keeps its own copy
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "swift_server.py"), str(workdir)],
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            cwd=str(HERE),
        )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline().decode() if ready else "(no answer in 60 s)"
    if not line.startswith("READY"):
        proc.kill()
        log = (workdir / "stderr.log").read_text(errors="replace")
        pytest.fail(f"Swift did not start: {line!r}\n{log[-3000:]}")
    return SwiftServer(int(line.split()[1]), proc)


def stop_swift(server: SwiftServer) -> None:
    """Stop the Swift process and reap it."""
    if server.process.stdout is not None:
        server.process.stdout.close()
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)
