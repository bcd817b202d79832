"""OSS-specific behaviour of the oss driver against the fake OSS server (``oss_fake``).

What the conformance suite cannot see: signatures (a wrong secret fails, v1 and v4), signed
URLs fetched over HTTP, resuming closed uploads in a new driver instance, OSS's answer to an
unsatisfiable range, copies above CopyObject's limit, encryption headers, pending-upload
cleanup, parameters, and a server that goes away mid-upload.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import oss2
import pytest
from oss_support import ACCESS_KEY_ID, ACCESS_KEY_SECRET, OSSServer, start_oss
from support.copy_from import check_copy_from

from distribution_storage.driver.errors import (
    ConfigurationError,
    PathNotFoundError,
    StorageDriverError,
)
from distribution_storage.drivers import open_driver
from distribution_storage.drivers.oss import OSSDriver
from distribution_storage.drivers.oss_parameters import parse_parameters

MiB = 1 << 20


def write_closed(driver: OSSDriver, path: str, data: bytes) -> None:
    """Write ``data`` through a writer and close it without committing."""
    writer = driver.writer(path)
    writer.write(data)
    writer.close()


def test_wrong_secret_fails_with_a_clear_error_without_the_secret(oss_server: OSSServer) -> None:
    params = oss_server.parameters(accesskeysecret="wrong-secret-value")
    with pytest.raises(StorageDriverError) as info:
        open_driver("oss", **params)
    assert "SignatureDoesNotMatch" in str(info.value)
    assert "wrong-secret-value" not in str(info.value)
    with pytest.raises(StorageDriverError, match="InvalidAccessKeyId"):
        OSSDriver.from_parameters(oss_server.parameters(accesskeyid="nobody"))


def test_missing_bucket_is_a_clear_error(oss_server: OSSServer) -> None:
    params = oss_server.parameters()
    params["bucket"] = "no-such-bucket"
    with pytest.raises(StorageDriverError, match="does not exist"):
        OSSDriver.from_parameters(params)


def test_v1_signatures_are_verified_too(oss_server: OSSServer, oss_params: dict[str, Any]) -> None:
    bucket = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), oss_server.endpoint, oss_params["bucket"]
    )
    bucket.put_object("v1/key", b"signed with v1")
    assert bucket.get_object("v1/key").read() == b"signed with v1"
    url = bucket.sign_url("GET", "v1/key", 60)
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"signed with v1"
    wrong = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, "bad"), oss_server.endpoint, oss_params["bucket"])
    with pytest.raises(oss2.exceptions.ServerError) as info:
        wrong.get_object("v1/key")
    assert (info.value.status, info.value.code) == (403, "SignatureDoesNotMatch")


def test_signed_urls_are_fetched_over_http(oss_params: dict[str, Any]) -> None:
    driver = OSSDriver.from_parameters(oss_params)
    data = b"u" * (MiB + 3)
    driver.put_content("/signed/blob", data)
    url = driver.redirect_url("/signed/blob")
    assert url is not None and "x-oss-signature=" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == data
    head = driver.redirect_url("/signed/blob", method="HEAD")
    assert head is not None
    with urllib.request.urlopen(urllib.request.Request(head, method="HEAD")) as response:
        assert int(response.headers["Content-Length"]) == len(data)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url.replace("x-oss-signature=", "x-oss-signature=0"))
    assert info.value.code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in info.value.read()


def test_resume_in_a_new_instance_with_parts_and_a_small_tail(oss_params: dict[str, Any]) -> None:
    first = OSSDriver.from_parameters(oss_params)
    part1 = b"a" * (5 * MiB + 10)  # one full part and a 10-byte tail kept as a tail object
    write_closed(first, "/up/blob", part1)
    second = OSSDriver.from_parameters(oss_params)
    with pytest.raises(PathNotFoundError):
        second.stat("/up/blob")  # closed, not committed: nothing under the final name
    assert second.list("/") == []  # the tail object is hidden from listings
    writer = second.writer("/up/blob", append=True)
    assert writer.size == len(part1)
    part2 = b"b" * (200 * 1024)
    writer.write(part2)
    writer.close()  # a 200 KiB tail goes up as a part
    third = OSSDriver.from_parameters(oss_params)
    writer = third.writer("/up/blob", append=True)
    assert writer.size == len(part1) + len(part2)
    writer.write(b"c")
    writer.commit()
    assert third.get_content("/up/blob") == part1 + part2 + b"c"
    assert third.list("/") == ["/up"]
    bucket = third.bucket
    assert list(oss2.ObjectIteratorV2(bucket)) and not list(oss2.MultipartUploadIterator(bucket))
    assert [o.key for o in oss2.ObjectIteratorV2(bucket)] == ["up/blob"]


def test_unsatisfiable_range_is_end_of_file(oss_params: dict[str, Any]) -> None:
    driver = OSSDriver.from_parameters(oss_params)
    driver.put_content("/r", b"0123456789")
    raw = driver.bucket.get_object("r", byte_range=(10, None))
    assert raw.status == 200 and raw.read() == b"0123456789"  # what OSS answers
    with driver.reader("/r", 10) as stream:
        assert stream.read() == b""
    with driver.reader("/r", 7) as stream:
        assert stream.read() == b"789"


def test_copy_above_the_copy_object_limit_uses_part_copies(
    oss_server: OSSServer, oss_params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = OSSDriver.from_parameters(oss_params)
    monkeypatch.setattr(OSSDriver, "copy_threshold", MiB)
    data = bytes(range(256)) * (3 * 4096 + 7)  # 3 MiB and a bit
    driver.put_content("/src", data)
    before = len(oss_server.fake.requests)
    driver.move("/src", "/dst")
    calls = oss_server.fake.requests[before:]
    assert any(m == "PUT" and "partNumber=" in p for m, p in calls)
    assert driver.get_content("/dst") == data
    with pytest.raises(PathNotFoundError):
        driver.stat("/src")


def test_encryption_headers_reach_the_server(oss_server: OSSServer) -> None:
    params = oss_server.parameters(encrypt="true", encryptionkeyid="kms-key-1")
    driver = OSSDriver.from_parameters(params)
    driver.put_content("/enc", b"secret")
    stored = oss_server.fake.buckets[params["bucket"]]["enc"]
    assert stored.headers["x-oss-server-side-encryption"] == "KMS"
    assert stored.headers["x-oss-server-side-encryption-key-id"] == "kms-key-1"


def test_abort_pending_uploads(oss_params: dict[str, Any]) -> None:
    driver = OSSDriver.from_parameters(oss_params)
    write_closed(driver, "/p/big", b"1" * (5 * MiB + 1))
    write_closed(driver, "/p/small", b"2" * 10)
    write_closed(driver, "/keep", b"3" * 10)
    past = datetime.now(UTC) - timedelta(hours=1)
    assert driver.abort_pending_uploads("/p", older_than=past) == 0
    future = datetime.now(UTC) + timedelta(hours=1)
    assert driver.abort_pending_uploads("/p", older_than=future) == 2
    with pytest.raises(PathNotFoundError):
        driver.writer("/p/big", append=True)
    assert driver.writer("/keep", append=True).size == 10


def test_cancel_of_a_resumed_upload_leaves_nothing(oss_params: dict[str, Any]) -> None:
    driver = OSSDriver.from_parameters(oss_params)
    write_closed(driver, "/c", b"x" * (5 * MiB + 5))
    writer = driver.writer("/c", append=True)
    writer.cancel()
    assert not list(oss2.ObjectIteratorV2(driver.bucket))
    assert not list(oss2.MultipartUploadIterator(driver.bucket))


def test_parameters() -> None:
    base = {"accesskeyid": "a", "accesskeysecret": "s", "region": "oss-cn-beijing", "bucket": "b"}
    parsed = parse_parameters(base)
    assert parsed.endpoint_url == "https://oss-cn-beijing.aliyuncs.com"
    assert parsed.signing_region == "cn-beijing" and parsed.chunksize == 10 * MiB
    internal = parse_parameters({**base, "internal": "true", "secure": "false"})
    assert internal.endpoint_url == "http://oss-cn-beijing-internal.aliyuncs.com"
    assert parse_parameters({**base, "rootdirectory": "/reg/"}).key_prefix == "reg/"
    with pytest.raises(ConfigurationError, match="chunksize"):
        parse_parameters({**base, "chunksize": str(4 * MiB)})
    with pytest.raises(ConfigurationError, match="bucket"):
        parse_parameters({k: v for k, v in base.items() if k != "bucket"})
    with pytest.raises(ConfigurationError, match="unknown"):
        parse_parameters({**base, "regionendpoint": "x"})


def test_rootdirectory_prefixes_keys(oss_server: OSSServer) -> None:
    params = oss_server.parameters(rootdirectory="/registry/")
    driver = OSSDriver.from_parameters(params)
    driver.put_content("/a/b", b"1")
    assert list(oss_server.fake.buckets[params["bucket"]]) == ["registry/a/b"]
    assert driver.list("/") == ["/a"]


def test_server_going_away_mid_upload_is_a_clear_error() -> None:
    server = start_oss()
    params = server.parameters()
    driver = open_driver("oss", **params)
    writer = driver.writer("/gone")
    writer.write(b"1" * (5 * MiB + 1))
    server.fake.stop()
    with pytest.raises(StorageDriverError) as info:
        writer.write(b"2" * (5 * MiB))
        writer.commit()
    assert "cannot reach" in str(info.value) and ACCESS_KEY_SECRET not in str(info.value)
    assert "gone" not in server.fake.buckets[params["bucket"]]


def test_part_size_grows_instead_of_running_out_of_parts(
    oss_params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from distribution_storage.drivers import oss_writer

    monkeypatch.setattr(oss_writer, "PARTS_PER_SIZE", 2)  # double after every 2 parts
    driver = OSSDriver.from_parameters(oss_params)
    data = bytes(range(256)) * (25 * 4096)  # 25 MiB: parts of 5, 5, 10 MiB and a 5 MiB tail
    write_closed(driver, "/grown", data)
    upload = next(iter(oss2.MultipartUploadIterator(driver.bucket)))
    sizes = [p.size for p in oss2.PartIterator(driver.bucket, "grown", upload.upload_id)]
    assert sizes == [5 * MiB, 5 * MiB, 10 * MiB, 5 * MiB]
    writer = driver.writer("/grown", append=True)
    writer.write(b"!")
    writer.commit()
    assert driver.get_content("/grown") == data + b"!"


def test_resuming_an_upload_that_lost_its_parts_is_a_clear_error(
    oss_params: dict[str, Any],
) -> None:
    driver = OSSDriver.from_parameters(oss_params)
    write_closed(driver, "/lost", b"l" * (5 * MiB + 10))  # one part and a tail
    upload = next(iter(oss2.MultipartUploadIterator(driver.bucket)))
    driver.bucket.abort_multipart_upload("lost", upload.upload_id)  # someone else aborted it
    with pytest.raises(StorageDriverError, match="is gone"):
        driver.writer("/lost", append=True)
    with pytest.raises(PathNotFoundError):
        driver.stat("/lost")


@pytest.mark.parametrize("size", [10, 5 * MiB + 50 * 1024], ids=["small", "part-copied"])
def test_append_to_committed_content_continues_it(oss_params: dict[str, Any], size: int) -> None:
    driver = OSSDriver.from_parameters(oss_params)
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    driver.put_content("/grow", data)
    writer = driver.writer("/grow", append=True)
    assert writer.size == size
    writer.write(b"-more")
    writer.commit()
    assert driver.get_content("/grow") == data + b"-more"


def test_resume_in_another_process(oss_params: dict[str, Any]) -> None:
    script = (
        "import json, sys\n"
        "from distribution_storage.drivers.oss import OSSDriver\n"
        "driver = OSSDriver.from_parameters(json.loads(sys.argv[1]))\n"
        "writer = driver.writer('/proc/blob')\n"
        "writer.write(b'p' * (5 * 1024 * 1024 + 11))\n"
        "writer.close()\n"
    )
    subprocess.run([sys.executable, "-c", script, json.dumps(oss_params)], check=True)
    driver = OSSDriver.from_parameters(oss_params)
    writer = driver.writer("/proc/blob", append=True)
    assert writer.size == 5 * MiB + 11
    writer.write(b"q")
    writer.commit()
    assert driver.get_content("/proc/blob") == b"p" * (5 * MiB + 11) + b"q"


def test_copy_from_another_bucket_of_the_account_copies_inside_oss(oss_server: OSSServer) -> None:
    source, target = (OSSDriver.from_parameters(oss_server.parameters()) for _ in "st")
    target.copy_threshold = MiB  # UploadPartCopy past 1 MiB instead of past 1 GB
    target.copy_part_size = 0  # parts of chunksize (5 MiB): the large blob has a remainder
    large = bytes(range(256)) * (5 * 4096) + b"rest"  # 5 MiB and 4 bytes: two part copies
    source.put_content("/blobs/large", large)
    source.put_content("/blobs/small", b"small blob")
    before = len(oss_server.fake.requests)

    def copies_stay_inside_oss() -> None:
        calls = oss_server.fake.requests[before:]
        assert len([p for m, p in calls if m == "PUT" and "partNumber=" in p]) == 2
        assert not [p for m, p in calls if m == "GET"]  # no byte went through the client

    check_copy_from(
        source,
        target,
        {"/blobs/large": large, "/blobs/small": b"small blob"},
        after_copies=copies_stay_inside_oss,
    )


def test_copy_from_another_account_or_endpoint_declines(
    oss_server: OSSServer, oss_params: dict[str, Any]
) -> None:
    target = OSSDriver.from_parameters(oss_params)
    oss_server.fake.add_account("LTAI-other-account", "other-account-secret")
    oss_server.fake.create_bucket("b-other-account", owner="LTAI-other-account")
    other_account = OSSDriver.from_parameters(
        oss_server.parameters(
            bucket="b-other-account",
            accesskeyid="LTAI-other-account",
            accesskeysecret="other-account-secret",
        )
    )
    other_account.put_content("/blob", b"theirs")
    assert not target.copy_from(other_account, "/blob", "/blob")
    with pytest.raises(oss2.exceptions.AccessDenied):  # OSS would refuse the copy anyway
        target.bucket.copy_object("b-other-account", "blob", "blob")
    elsewhere_server = start_oss()
    try:
        elsewhere = OSSDriver.from_parameters(elsewhere_server.parameters())
        elsewhere.put_content("/blob", b"elsewhere")
        assert not target.copy_from(elsewhere, "/blob", "/blob")
    finally:
        elsewhere_server.fake.stop()
    assert not target.copy_from(open_driver("inmemory"), "/blob", "/blob")
    assert list(oss_server.fake.buckets[oss_params["bucket"]]) == []
