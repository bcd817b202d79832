"""Helpers shared by the s3 driver's tests: request counting and bulk object creation.

``RequestCounter`` hooks botocore's ``before-call`` event of a driver's client, so a test
can assert how many S3 operations a verb sent (it observes real requests to moto; nothing
is replaced). ``populate`` creates many small objects in parallel through a plain client.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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
