"""Processes killed with SIGKILL mid-operation leave no damage, and re-running completes.

A worker (``crash_worker.py``) uploads blobs or sweeps garbage on a filesystem store and is
killed at a random moment; fsck then finds no damage (leftovers such as an abandoned upload
or an unreferenced blob are notes), and running the operation again finishes the job.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.images import Images

from distribution_storage import open_driver
from distribution_storage.fsck import fsck
from distribution_storage.gc import collect_garbage
from distribution_storage.registry import Registry

WORKER = Path(__file__).resolve().parent / "crash_worker.py"


def start(mode: str, root: Path, *, ready: str) -> subprocess.Popen[str]:
    """Start the worker and wait until it prints ``ready`` (it is then under way)."""
    process = subprocess.Popen(
        [sys.executable, str(WORKER), mode, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip() == ready:
            return process
    raise AssertionError(f"the worker ended before printing {ready!r}")


def kill(process: subprocess.Popen[str], after: float) -> str:
    """SIGKILL the worker after ``after`` seconds; returns what it printed meanwhile."""
    time.sleep(after)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.stdout is not None
    rest = process.stdout.read()
    process.stdout.close()
    return rest


@pytest.mark.parametrize("seed", range(3))
def test_upload_commits_killed_at_random_leave_no_damage(tmp_path: Path, seed: int) -> None:
    root = tmp_path / "store"
    kill(start("upload", root, ready="committed"), random.Random(seed).uniform(0.01, 0.4))
    registry = Registry(open_driver("filesystem", rootdirectory=str(root)))
    report = fsck(registry)
    assert report.whole, report.damage
    collect_garbage(registry, grace_period=0)  # re-running the cleanup completes
    assert fsck(registry).whole


@pytest.mark.parametrize("seed", range(3))
def test_gc_sweeps_killed_at_random_leave_no_damage(tmp_path: Path, seed: int) -> None:
    root = tmp_path / "store"
    registry = Registry(open_driver("filesystem", rootdirectory=str(root)))
    images = Images(registry)
    kept = [images.image(f"r{n % 5}", tag=f"t{n}") for n in range(10)]
    for n in range(120):
        images.image(f"r{n % 5}", layers=3)  # garbage for a sweep that takes a while
    rest = kill(start("gc", root, ready="sweeping"), random.Random(seed).uniform(0.0, 0.5))
    assert "done" not in rest, "the sweep finished before the kill"
    report = fsck(registry)
    assert report.whole, report.damage
    final = collect_garbage(registry, delete_untagged=True, grace_period=0)
    assert fsck(registry).whole
    assert collect_garbage(registry, delete_untagged=True, grace_period=0).deletions == []
    blobs = {b.digest for b in registry.blobs}
    for image in kept:
        assert image.digest in blobs and all(d in blobs for d in image.blobs)
    assert final.manifests_deleted <= 120
