"""Fixtures of the interop tests: the example server and Debian's docker-registry, on 127.0.0.1.

Each fixture returns a factory that starts a real server process over a filesystem root on a
free port and returns its ``host:port``; every server started is stopped after the test.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.interop import (
    EXAMPLE_SERVER,
    ServerFactory,
    free_port,
    require_binary,
    running,
    write_config,
)


@pytest.fixture
def example_server(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start the example server over a filesystem root; returns its ``host:port``."""
    with contextlib.ExitStack() as stack:

        def start(root: Path) -> str:
            port = free_port()
            config = write_config(tmp_path / f"example-{port}.yml", root, port)
            command = [sys.executable, str(EXAMPLE_SERVER), str(config)]
            return stack.enter_context(
                running([*command, "--addr", f"127.0.0.1:{port}"], f"127.0.0.1:{port}")
            )

        yield start


@pytest.fixture
def distribution_server(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start Debian's docker-registry (distribution 2.8.2) over a filesystem root."""
    binary = require_binary("docker-registry")
    with contextlib.ExitStack() as stack:

        def start(root: Path) -> str:
            port = free_port()
            config = write_config(tmp_path / f"distribution-{port}.yml", root, port)
            return stack.enter_context(running([binary, "serve", str(config)], f"127.0.0.1:{port}"))

        yield start
