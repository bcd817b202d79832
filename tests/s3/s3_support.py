"""Helpers shared by the s3 driver's tests: request counting, held parts, failing requests
and bulk object creation.

``RequestCounter`` hooks botocore's ``before-call`` event of a driver's client, so a test
can assert how many S3 operations a verb sent (it observes real requests to moto; nothing
is replaced); ``PartGate`` holds a client's parts there for as long as a test wants.
``one_attempt_behind_proxy`` puts a driver behind a proxy that answers chosen requests with
S3's SlowDown. ``populate`` creates many small objects in parallel through a plain client.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from support.flaky_proxy import S3_SLOW_DOWN, FlakyProxy

from distribution_storage.drivers.s3 import S3Driver, read_settings

MiB = 1024 * 1024


class RequestCounter:
    """Counts the S3 operations a boto3 client sends, by operation name."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        client.meta.events.register("before-call.s3.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def reset(self) -> None:
        """Forget the counts so far."""
        self.calls.clear()


def populate(client: Any, bucket: str, keys: list[str], body: bytes = b"x") -> None:
    """Put ``body`` at every key, eight requests at a time."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=key, Body=body), keys))


def random_bytes(size: int) -> bytes:
    """``size`` random bytes."""
    return os.urandom(size)


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


class PartGate:
    """Holds every UploadPart (or ``operation``) a driver's client sends until
    :meth:`release`.

    A handler on botocore's ``before-call`` event waits there, so a test decides how long
    parts stay in flight; the requests themselves then go to the server unchanged.
    """

    def __init__(self, client: Any, operation: str = "UploadPart") -> None:
        self.started = 0
        self._entered = threading.Semaphore(0)
        self._open = threading.Event()
        self._lock = threading.Lock()
        client.meta.events.register(f"before-call.s3.{operation}", self._hold)

    def _hold(self, **_: Any) -> None:
        with self._lock:
            self.started += 1
        self._entered.release()
        self._open.wait(timeout=60)

    def wait_started(self, count: int) -> None:
        """Wait until ``count`` more parts are held."""
        for _ in range(count):
            assert self._entered.acquire(timeout=30), "a part never started"

    def release(self) -> None:
        """Let every held part, and every later one, go."""
        self._open.set()


def in_thread(call: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    """Run ``call`` in a new thread; returns the thread and where its exception lands."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


@contextlib.contextmanager
def one_attempt_behind_proxy(
    moto_server: str, s3_params: Callable[..., dict[str, Any]], s3_admin: Any
) -> Iterator[tuple[FlakyProxy, S3Driver]]:
    """A driver with 5 MiB parts that tries each request once, through a proxy that can
    answer with S3's SlowDown; afterwards the bucket must hold no upload and no object."""
    proxy = FlakyProxy(moto_server, error=S3_SLOW_DOWN).start()
    try:
        params = s3_params(regionendpoint=proxy.endpoint, chunksize=str(5 * MiB))
        yield proxy, S3Driver(dataclasses.replace(read_settings(params), max_attempts=1))
        bucket = params["bucket"]
        assert s3_admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
        assert s3_admin.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    finally:
        proxy.stop()
