"""A worker the crash tests kill with SIGKILL at a moment they choose.

python crash_worker.py upload ROOT CALL   upload and commit blobs, for ever
python crash_worker.py gc ROOT CALL       collect garbage (delete untagged) once

The worker's driver holds its CALL-th call (1-based; in ``gc`` mode its CALL-th deletion)
and every later one, on any thread; once nothing else is under way the worker prints
``paused`` and waits to be killed. So the kill finds exactly CALL - 1 calls done.
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' ``support``

from support.pausing import VERBS, InThread, PausingDriver

from distribution_storage import open_driver
from distribution_storage.driver import DelegatingDriver, StorageDriver
from distribution_storage.gc import collect_garbage
from distribution_storage.layout import Digest
from distribution_storage.registry import Registry


class OneAtATime(DelegatingDriver):
    """Deletes one path per call, so a kill can fall between any two deletions."""

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        return StorageDriver.delete_many(self, paths)

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        return StorageDriver.delete_files(self, paths)


def upload_for_ever(registry: Registry) -> None:
    repo = registry.repository("crash/upload")
    while True:
        data = os.urandom(64 * 1024)
        with repo.uploads.create() as upload:
            upload.write(data)
            upload.commit(Digest.of(data))


def main() -> None:
    mode, root, call = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pausing = PausingDriver(open_driver("filesystem", rootdirectory=root))
    if mode == "upload":
        held = pausing.pause(*VERBS, call=call, hold=True, name=f"call {call}")
        work = InThread(lambda: upload_for_ever(Registry(pausing)), name="the uploads")
    elif mode == "gc":
        held = pausing.pause("delete", call=call, hold=True, name=f"deletion {call}")
        # Four sweeping threads: the held deletion waits until the others' are done.
        work = InThread(
            lambda: collect_garbage(
                OneAtATime(pausing), delete_untagged=True, grace_period=0, workers=4
            ),
            name="the GC",
        )
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    try:
        held.wait_until_reached(caller=work)
    except AssertionError as exc:
        work.result()  # the work's own error, if it failed
        print(f"done: {exc}", flush=True)
        return
    print("paused", flush=True)
    work.result(timeout=600)  # held until the test kills this process


if __name__ == "__main__":
    main()
