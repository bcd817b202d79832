"""Helpers of the interop tests: run servers on 127.0.0.1, drive skopeo and curl.

Each server is a real process on a free port, stopped when its block ends. A missing
``skopeo``, ``curl`` or ``docker-registry`` binary fails the test (``./dev test`` installs
them from apt); nothing is skipped.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

EXAMPLE_SERVER = Path(__file__).resolve().parents[2] / "examples" / "registry_server.py"
ServerFactory = Callable[[Path], str]
"""Starts a server over a filesystem root; returns its ``host:port``."""


def require_binary(name: str) -> str:
    """The path of a binary the test needs; fails the test (never skips) if it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run ./dev test (it installs it from apt)")
    return path


def write_config(path: Path, root: Path, port: int) -> Path:
    """A distribution config.yml: filesystem storage at ``root``, deletes on, ``port``."""
    path.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    return path


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(
    address: str, process: subprocess.Popen[bytes], log: IO[bytes], timeout: float = 20
) -> None:
    """Wait until ``/v2/`` answers, or fail with the process's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            pytest.fail(f"server exited with {process.returncode}: {output}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://{address}/v2/", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"server at {address} did not become ready in {timeout}s")


@contextlib.contextmanager
def running(command: list[str], address: str) -> Iterator[str]:
    """Run a server process until the block ends; its output goes to a temporary file."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(address, process, log)
            yield address
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def skopeo(*args: str) -> str:
    """Run skopeo with TLS off for local registries; fails the test with its output."""
    binary = require_binary("skopeo")
    result = subprocess.run(
        [binary, "--insecure-policy", *args], capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        pytest.fail(f"skopeo {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def push(layout: Path, tag: str, address: str, target: str, *extra: str) -> None:
    """``skopeo copy --all`` an OCI layout's tag into a registry."""
    skopeo(
        "copy",
        "--all",
        "--quiet",
        "--dest-tls-verify=false",
        *extra,
        f"oci:{layout}:{tag}",
        f"docker://{address}/{target}",
    )


def pull(address: str, source: str, layout: Path, tag: str) -> None:
    """``skopeo copy --all`` an image from a registry into an OCI layout."""
    skopeo(
        "copy",
        "--all",
        "--quiet",
        "--preserve-digests",
        "--src-tls-verify=false",
        f"docker://{address}/{source}",
        f"oci:{layout}:{tag}",
    )


def curl(
    method: str, url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request with curl: status, headers (lowercased names) and body."""
    binary = require_binary("curl")
    command = [binary, "-s", "-i", "-X", method, url]
    if method == "HEAD":
        command[3:5] = ["-I"]
    for key, value in (headers or {}).items():
        command += ["-H", f"{key}: {value}"]
    if data is not None:
        command += ["--data-binary", "@-"]
    result = subprocess.run(command, input=data, capture_output=True, timeout=60, check=True)
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    while head.split(b" ", 2)[1:2] == [b"100"]:  # "Expect: 100-continue" answered first
        head, _, body = body.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in fields.items()}, body
