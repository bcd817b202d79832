"""No error message or log line shows a credential from the config, whatever the failure.

Each cloud driver is configured with credentials and pointed at a port where nothing listens
(GCS: at a server that refuses every request), or given a bad parameter; the CLI must fail
with one line that names the driver and never the secret, and nothing the SDKs log at DEBUG
level may contain it either.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from distribution_storage import StorageDriverError
from distribution_storage.config import load_config, open_storage
from distribution_storage.registry import Registry

CLOSED = "127.0.0.1:1"  # nothing listens on port 1


@pytest.fixture(scope="module")
def refusing() -> Iterator[str]:
    """``host:port`` of a server that answers every request 403, at once: a GCS endpoint
    that is there but refuses (where nothing listens, the client retries for a minute)."""

    class Refuse(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _refuse(self) -> None:
            body = b'{"error": {"code": 403, "message": "refused"}}'
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _refuse

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def configs(tmp_path: Path) -> dict[str, tuple[str, list[str]]]:
    """driver -> (config text, the secrets in it)."""
    s3_secret = "S3cr3tValue-do-not-print-0123456789"
    azure_key = "QXp1cmVTZWNyZXRLZXktZG8tbm90LXByaW50LTAxMjM0NTY3ODk="
    swift_password = "Sw1ftPassw0rd-do-not-print"
    oss_secret = "0ssS3cretValue-do-not-print"
    private_key = _private_key()
    keyfile = tmp_path / "service-account.json"
    keyfile.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "p",
                "private_key_id": "k1",
                "private_key": private_key,
                "client_email": "sa@p.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": f"http://{CLOSED}/token",
            }
        )
    )
    key_line = private_key.splitlines()[5]
    return {
        "s3": (
            f"storage:\n  s3:\n    accesskey: AKIAEXAMPLEKEY123456\n    secretkey: {s3_secret}\n"
            f"    region: us-east-1\n    regionendpoint: http://{CLOSED}\n    bucket: mybucket\n",
            [s3_secret],
        ),
        "azure": (
            f"storage:\n  azure:\n    accountname: devstoreaccount1\n    accountkey: {azure_key}\n"
            f"    container: c\n    serviceurl: http://{CLOSED}/devstoreaccount1\n"
            "    max_retries: 1\n",
            [azure_key],
        ),
        "swift": (
            f"storage:\n  swift:\n    username: test:tester\n    password: {swift_password}\n"
            f"    authurl: http://{CLOSED}/auth/v1.0\n    container: c\n",
            [swift_password],
        ),
        "oss": (
            f"storage:\n  oss:\n    accesskeyid: OSSKEYID123\n    accesskeysecret: {oss_secret}\n"
            f"    region: oss-cn-beijing\n    endpoint: {CLOSED}\n    secure: false\n"
            "    bucket: mybucket\n",
            [oss_secret],
        ),
        "oss-bad-bucket": (
            f"storage:\n  oss:\n    accesskeyid: OSSKEYID123\n    accesskeysecret: {oss_secret}\n"
            f"    region: oss-cn-beijing\n    endpoint: {CLOSED}\n    bucket: B\n",
            [oss_secret],
        ),
        "gcs": (
            f"storage:\n  gcs:\n    bucket: mybucket\n    keyfile: {keyfile}\n",
            [key_line],
        ),
    }


CASES = ["s3", "azure", "swift", "oss", "oss-bad-bucket", "gcs"]


@pytest.mark.parametrize("case", CASES)
def test_cli_errors_never_show_a_credential(tmp_path: Path, case: str, refusing: str) -> None:
    text, secrets = configs(tmp_path)[case]
    config = tmp_path / "config.yml"
    config.write_text(text)
    env = {**os.environ, "STORAGE_EMULATOR_HOST": f"http://{refusing}"}
    result = subprocess.run(
        [sys.executable, "-m", "distribution_storage.cli", "fsck", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    driver = case.split("-")[0]
    assert lines[0].startswith(f"distribution-storage: error: {driver}"), lines[0]
    for secret in secrets:
        assert secret not in result.stderr + result.stdout


@pytest.mark.parametrize("case", ["s3", "azure", "swift", "oss"])
def test_debug_logs_never_show_a_credential(
    tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    text, secrets = configs(tmp_path)[case]
    config = tmp_path / "config.yml"
    config.write_text(text)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StorageDriverError) as caught:
        Registry(open_storage(load_config(config, environ={}))).catalog()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in secrets:
        assert secret not in str(caught.value)
        assert secret not in logged
