"""The pytest plugin loads into every pytest run of every project that installs this package:
it must import nothing of the package until a conformance class is used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ELSEWHERE = """
import sys

def test_nothing_of_the_package_was_imported():
    assert "distribution_storage_pytest" in sys.modules  # the plugin was loaded
    loaded = sorted(name for name in sys.modules if name.startswith("distribution_storage."))
    assert loaded == [] and "distribution_storage" not in sys.modules, loaded
"""

USING_THE_SUITE = """
import sys

from distribution_storage import open_driver
from distribution_storage.conformance import DriverConformance
import pytest

class TestInMemory(DriverConformance):
    @pytest.fixture
    def driver_factory(self):
        driver = open_driver("inmemory")
        return lambda: driver

def test_the_suite_was_imported_on_use():
    assert "distribution_storage.conformance.content" in sys.modules
"""


def run_pytest(directory: Path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    (directory / "test_elsewhere.py").write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_another_projects_pytest_run_loads_only_the_plugin(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, ELSEWHERE, "--conformance-quick", "test_elsewhere.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_a_conformance_class_still_brings_the_suite(tmp_path: Path) -> None:
    result = run_pytest(
        tmp_path, USING_THE_SUITE, "--conformance-quick", "-k", "was_imported or put_content"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout
