"""A worker the crash tests kill with SIGKILL at a random moment.

python crash_worker.py upload ROOT      upload and commit blobs until killed
python crash_worker.py gc ROOT          collect garbage (delete untagged) once
"""

from __future__ import annotations

import builtins
import os
import sys
import time
from collections.abc import Iterable

from distribution_storage import open_driver
from distribution_storage.driver import DelegatingDriver, StorageDriver
from distribution_storage.gc import collect_garbage
from distribution_storage.layout import Digest
from distribution_storage.progress import ProgressUpdate
from distribution_storage.registry import Registry


class SlowDeletes(DelegatingDriver):
    """Deletes one path at a time, slowly, so a kill lands in the middle of a sweep."""

    def delete(self, path: str) -> None:
        time.sleep(0.003)
        self.inner.delete(path)

    def delete_many(self, paths: Iterable[str]) -> builtins.list[str]:
        return StorageDriver.delete_many(self, paths)

    def delete_files(self, paths: Iterable[str]) -> builtins.list[str]:
        return StorageDriver.delete_files(self, paths)


def announce_sweep(update: ProgressUpdate) -> None:
    if update.phase.startswith("deleting") and update.done == 0:
        print("sweeping", flush=True)


def main() -> None:
    mode, root = sys.argv[1], sys.argv[2]
    driver = open_driver("filesystem", rootdirectory=root)
    registry = Registry(driver)
    if mode == "upload":
        repo = registry.repository("crash/upload")
        while True:
            data = os.urandom(64 * 1024)
            with repo.uploads.create() as upload:
                upload.write(data)
                upload.commit(Digest.of(data))
            print("committed", flush=True)
    elif mode == "gc":
        print("collecting", flush=True)
        # Four threads of slow deletes make a sweep of about a second, longer than the
        # test's latest kill (the filesystem's own choice, 16, would finish before it).
        collect_garbage(
            SlowDeletes(driver),
            delete_untagged=True,
            grace_period=0,
            workers=4,
            progress=announce_sweep,
        )
        print("done", flush=True)


if __name__ == "__main__":
    main()
