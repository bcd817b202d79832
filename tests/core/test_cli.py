"""The command line: one clear line and a non-zero exit for bad input, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from distribution_storage.cli import main


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "distribution_storage.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_drivers_lists_every_builtin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drivers"]) == 0
    names = capsys.readouterr().out.split()
    assert {"filesystem", "inmemory", "s3", "gcs", "azure", "swift", "oss"} <= set(names)


@pytest.mark.parametrize(
    ("config_text", "fragment"),
    [
        ("storage: {floppy: {}}", "unknown storage driver 'floppy'"),
        ("storage: {filesystem: {maxthreads: x}}", "storage.filesystem.maxthreads"),
        ("storage:\n  s3: {}\n  gcs: {}\n", "exactly one storage driver"),
        ("storage: [", "not valid YAML"),
    ],
)
def test_bad_config_is_one_line_without_traceback(
    tmp_path: Path, config_text: str, fragment: str
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(config_text)
    result = run_cli("conformance", str(config), "--quick")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("distribution-storage: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    result = run_cli("conformance", str(tmp_path / "absent.yml"))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"distribution-storage: error: {tmp_path / 'absent.yml'}: no such configuration file"
    )


def test_unknown_command_is_a_usage_error() -> None:
    result = run_cli("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
