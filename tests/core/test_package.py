"""The package's public face, and its promise that cloud SDKs are optional."""

from __future__ import annotations

import subprocess
import sys

import distribution_storage


def test_importing_the_package_imports_no_cloud_sdk() -> None:
    code = (
        "import sys, distribution_storage, distribution_storage.cli\n"
        "sdks = ('boto3', 'botocore', 'google', 'azure', 'swiftclient', 'oss2')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in sdks))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_root_exports_the_public_api() -> None:
    for name in ("open_driver", "Registry", "collect_garbage", "fsck", "StorageDriverError"):
        assert name in distribution_storage.__all__
        assert getattr(distribution_storage, name).__doc__
