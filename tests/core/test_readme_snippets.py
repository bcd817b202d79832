"""Every Python snippet in README.md runs as written after ``./dev run``.

A fresh directory gets what ``./dev run`` makes (``distribution-storage demo``: the sample store
in ``./registry-data``) and the repository's ``examples/config.yml``; each snippet then runs
there in its own interpreter. Where a ``print`` line's comment shows what it prints, the output
must contain it (up to a ``...``). The conformance snippet is a test module: pytest runs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
SNIPPET = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
SHOWN = re.compile(r"^\s*print\(.*\)\s+#\s*(.+)$")


def snippets() -> list[str]:
    """The Python blocks of README.md, in order."""
    return SNIPPET.findall((REPOSITORY / "README.md").read_text(encoding="utf-8"))


def shown_outputs(snippet: str) -> list[str]:
    """What the ``print`` lines' comments say they print (the part before any ``...``)."""
    outputs = []
    for line in snippet.splitlines():
        match = SHOWN.match(line)
        if match:
            shown = match[1].strip()
            if len(shown) > 1 and shown[0] == shown[-1] == '"':
                shown = shown[1:-1]
            outputs.append(shown.split("...")[0])
    return outputs


@pytest.fixture(scope="module")
def after_dev_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory as ``./dev run`` leaves one, with the repository's example config."""
    work = tmp_path_factory.mktemp("readme")
    demo = subprocess.run(
        [sys.executable, "-m", "distribution_storage.cli", "demo"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr
    (work / "examples").mkdir()
    shutil.copy(REPOSITORY / "examples" / "config.yml", work / "examples" / "config.yml")
    return work


def test_the_readme_has_its_snippets() -> None:
    found = snippets()
    assert len(found) == 3, "a snippet was added or removed: the tests below cover each"
    assert sum("DriverConformance" in snippet for snippet in found) == 1


@pytest.mark.parametrize("number", range(3))
def test_each_snippet_runs_as_written(after_dev_run: Path, number: int) -> None:
    snippet = snippets()[number]
    if "DriverConformance" in snippet:
        (after_dev_run / "test_my_driver.py").write_text(snippet)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        command += ["--conformance-quick", "test_my_driver.py"]
    else:
        command = [sys.executable, "-c", snippet]
    result = subprocess.run(command, cwd=after_dev_run, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    if "DriverConformance" in snippet:
        assert re.search(r"\d+ passed", result.stdout), result.stdout[-500:]
        return
    for shown in shown_outputs(snippet):
        assert shown in result.stdout, (shown, result.stdout)
