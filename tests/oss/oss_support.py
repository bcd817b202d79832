"""Start and stop the fake OSS server (``oss_fake``) for the oss driver's tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from oss_fake import FakeOSS

ACCESS_KEY_ID = "LTAI-test-key-id"
ACCESS_KEY_SECRET = "fake-oss-secret-0123456789"
REGION = "oss-cn-hangzhou"


@dataclass
class OSSServer:
    """A running fake OSS and how to reach it."""

    fake: FakeOSS
    endpoint: str

    def parameters(self, **overrides: Any) -> dict[str, Any]:
        """Driver parameters for a fresh bucket on this server (unless overridden)."""
        bucket = overrides.pop("bucket", None) or f"b-{uuid.uuid4().hex[:12]}"
        self.fake.create_bucket(bucket)
        params: dict[str, Any] = {
            "accesskeyid": ACCESS_KEY_ID,
            "accesskeysecret": ACCESS_KEY_SECRET,
            "region": REGION,
            "bucket": bucket,
            "endpoint": self.endpoint,
            "chunksize": 5 << 20,
        }
        params.update(overrides)
        return params


def start_oss() -> OSSServer:
    """A fake OSS on a free port of 127.0.0.1."""
    fake = FakeOSS(ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION.removeprefix("oss-"))
    return OSSServer(fake, fake.start())
