"""Processes killed with SIGKILL mid-operation leave no damage, and re-running completes.

A worker (``crash_worker.py``) uploads blobs or sweeps garbage on a filesystem store; its
driver holds a chosen call, and the worker is killed there -- between any two steps of an
upload, and at each phase of a sweep on four threads. fsck then finds no damage (leftovers
such as an abandoned upload or an unreferenced blob are notes), and running the operation
again finishes the job.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from support.images import Images
from support.pausing import DEADLOCK_GUARD

from distribution_storage import open_driver
from distribution_storage.fsck import fsck
from distribution_storage.gc import collect_garbage
from distribution_storage.registry import Registry

WORKER = Path(__file__).resolve().parent / "crash_worker.py"


def kill_when_paused(mode: str, root: Path, call: int) -> None:
    """Run the worker until its driver holds ``call``, then SIGKILL it."""
    process = subprocess.Popen(
        [sys.executable, str(WORKER), mode, str(root), str(call)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()]).start()
    try:
        line = lines.get(timeout=DEADLOCK_GUARD).strip()
    except queue.Empty:
        line = f"nothing printed in {DEADLOCK_GUARD:.0f}s"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=DEADLOCK_GUARD)
        process.stdout.close()
    assert line == "paused", f"the worker was not held at call {call}: {line}"


# An upload is eleven calls: put_content of startedat, writer, write, commit, the move that
# fences the data off for the commit, stat of startedat (the upload still there), stat of
# the fenced data, stat of the blob, move into place, put_content of the layer link, delete
# of the upload directory. The worker is held in its second upload, so a whole one is in
# the store too.
UPLOAD_STEPS = [
    "startedat",
    "writer",
    "write",
    "commit",
    "fence",
    "still-there",
    "fenced-size",
    "stat",
    "move",
    "link",
    "cleanup",
]


@pytest.mark.parametrize("step", range(len(UPLOAD_STEPS)), ids=UPLOAD_STEPS)
def test_an_upload_killed_before_each_of_its_steps_leaves_no_damage(
    tmp_path: Path, step: int
) -> None:
    root = tmp_path / "store"
    kill_when_paused("upload", root, call=len(UPLOAD_STEPS) + step + 1)
    registry = Registry(open_driver("filesystem", rootdirectory=str(root)))
    report = fsck(registry)
    assert report.whole, report.damage
    stored = len(list(registry.blobs))
    assert stored == (2 if step > UPLOAD_STEPS.index("move") else 1)
    collect_garbage(registry, grace_period=0)  # re-running the cleanup completes
    assert fsck(registry).whole


SWEEP_POINTS = [
    "before the first deletion",
    "midway through the manifests",
    "after the manifests",
    "midway through the layer links",
    "after the layer links",
    "midway through the blobs",
    "before the last blob",
]


@pytest.mark.parametrize("point", SWEEP_POINTS)
def test_a_gc_sweep_killed_at_each_phase_leaves_no_damage(tmp_path: Path, point: str) -> None:
    root = tmp_path / "store"
    registry = Registry(open_driver("filesystem", rootdirectory=str(root)))
    images = Images(registry)
    kept = [images.image(f"r{n % 5}", tag=f"t{n}") for n in range(10)]
    for n in range(20):
        images.image(f"r{n % 5}", layers=3)  # garbage
    plan = collect_garbage(registry, delete_untagged=True, grace_period=0, dry_run=True)
    # Each deletion is one path here (no untagged manifest has a tag history).
    manifests = plan.manifests_deleted
    links = sum(1 for deletion in plan.deletions if deletion.kind == "layer-link")
    blobs = len(plan.deletions) - manifests - links
    assert (manifests, links, blobs) == (20, 80, 100)
    done = {
        "before the first deletion": 0,
        "midway through the manifests": manifests // 2,
        "after the manifests": manifests,
        "midway through the layer links": manifests + links // 2,
        "after the layer links": manifests + links,
        "midway through the blobs": manifests + links + blobs // 2,
        "before the last blob": manifests + links + blobs - 1,
    }[point]
    kill_when_paused("gc", root, call=done + 1)
    report = fsck(registry)
    assert report.whole, report.damage
    final = collect_garbage(registry, delete_untagged=True, grace_period=0)
    # The rest, and only the rest. (Layer links are not counted: the worker deleted them with
    # ``delete``, which leaves each link's directory, and GC takes such a directory for a
    # link it still has to delete.)
    assert final.manifests_deleted == manifests - min(done, manifests)
    final_blobs = sum(1 for deletion in final.deletions if deletion.kind == "blob")
    assert final_blobs == blobs - max(0, done - manifests - links)
    assert fsck(registry).whole
    assert collect_garbage(registry, delete_untagged=True, grace_period=0).deletions == []
    stored = {b.digest for b in registry.blobs}
    for image in kept:
        assert image.digest in stored and all(d in stored for d in image.blobs)
