"""The s3 driver beyond the shared suite: parameters, config.yml, copies, URLs, bad input.

Everything runs against moto's S3 server on 127.0.0.1 except the parameter checks, which
fail before any request. Failures are provoked for real: a bucket that does not exist, a
port nothing listens on, an upload aborted or a bucket deleted behind a writer's back.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from s3_support import MiB, RequestCounter, random_bytes, sha256

from distribution_storage.config import open_storage, parse_config
from distribution_storage.driver.errors import (
    ConfigurationError,
    PathNotFoundError,
    StorageDriverError,
)
from distribution_storage.driver.wrapper import validated
from distribution_storage.drivers import open_driver
from distribution_storage.drivers.s3 import S3Driver, read_settings
from distribution_storage.drivers.s3.parameters import DEFAULT_CHUNK_SIZE

Params = Callable[..., dict[str, Any]]


def test_parameters_accept_strings_and_natives_with_distribution_defaults() -> None:
    defaults = read_settings({"bucket": "b", "region": "eu-west-1"})
    assert defaults.chunksize == DEFAULT_CHUNK_SIZE
    assert (defaults.secure, defaults.v4auth, defaults.forcepathstyle) == (True, True, False)
    assert defaults.multipartcopythresholdsize == 32 * MiB
    assert defaults.multipartcopymaxconcurrency == 100
    assert (defaults.storageclass, defaults.objectacl) == ("STANDARD", "private")
    as_strings = read_settings(
        {"bucket": "b", "region": "r", "chunksize": "6291456", "encrypt": "true"}
    )
    natives = read_settings({"bucket": "b", "region": "r", "chunksize": 6291456, "encrypt": True})
    assert as_strings == natives
    assert natives.chunksize == 6 * MiB
    assert read_settings({"bucket": "b", "region": "r", "loglevel": False}).loglevel == "off"
    assert read_settings({"bucket": "b", "regionendpoint": "http://h:1"}).region == "us-east-1"
    rooted = read_settings({"bucket": "b", "region": "r", "rootdirectory": "/a/b/"})
    assert rooted.key_prefix == "a/b/"
    assert defaults.checksumalgorithm == "crc32"
    off = read_settings({"bucket": "b", "region": "r", "checksumalgorithm": "NONE"})
    assert off.checksumalgorithm == "none"


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"region": "r"}, "bucket"),
        ({"bucket": "b"}, "region"),
        ({"bucket": "b", "region": "r", "chunksize": 5 * MiB - 1}, "chunksize"),
        ({"bucket": "b", "region": "r", "chunksize": "ten"}, "chunksize"),
        ({"bucket": "b", "region": "r", "storageclass": "COLD"}, "storageclass"),
        ({"bucket": "b", "region": "r", "objectacl": "everyone"}, "objectacl"),
        ({"bucket": "b", "region": "r", "secure": "maybe"}, "secure"),
        ({"bucket": "b", "region": "r", "bukket": "x"}, "bukket"),
        ({"bucket": "b", "region": "r", "accesskey": "AKID"}, "accesskey"),
        ({"bucket": "b", "region": "r", "v4auth": "false"}, "v4auth"),
        ({"bucket": "b", "region": "r", "checksumalgorithm": "md5"}, "checksumalgorithm"),
    ],
)
def test_bad_parameters_name_the_culprit(params: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_driver("s3", **params)
    assert f"storage.s3.{key}" in str(caught.value)


def test_config_yml_opens_the_driver_as_s3_and_s3aws(s3_params: Params) -> None:
    params = s3_params(rootdirectory="/registry")
    for name in ("s3", "s3aws"):
        lines = "\n".join(f"    {k}: {v}" for k, v in params.items())
        text = f"version: 0.1\nstorage:\n  {name}:\n{lines}\n    chunksize: 5242880\n"
        driver = open_storage(parse_config(text, environ={}))
        driver.put_content(f"/from-{name}", name.encode())
        assert driver.get_content(f"/from-{name}") == name.encode()
        inner = driver.unwrap()  # type: ignore[attr-defined]
        assert isinstance(inner, S3Driver)
        assert inner.settings.chunksize == 5 * MiB
        assert inner.key("/x") == "registry/x"


def test_environment_override_arrives_as_a_string(s3_params: Params) -> None:
    params = s3_params()
    lines = "\n".join(f"    {k}: {v}" for k, v in params.items())
    text = f"version: 0.1\nstorage:\n  s3:\n{lines}\n"
    config = parse_config(text, environ={"REGISTRY_STORAGE_S3_CHUNKSIZE": "7340032"})
    inner = open_storage(config).unwrap()  # type: ignore[attr-defined]
    assert inner.settings.chunksize == 7 * MiB


def fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def test_presigned_get_and_head_are_fetched_over_http(s3_params: Params) -> None:
    driver = open_driver("s3", **s3_params())
    data = random_bytes(4096)
    driver.put_content("/blobs/ab/data", data)
    url = driver.redirect_url("/blobs/ab/data")
    assert (url is not None and "Expires=1200" in url) or "X-Amz-Expires=1200" in (url or "")
    status, _, body = fetch(url or "")
    assert (status, body) == (200, data)
    head = driver.redirect_url("/blobs/ab/data", method="HEAD")
    status, headers, body = fetch(head or "", method="HEAD")
    assert (status, headers["Content-Length"], body) == (200, "4096", b"")
    assert driver.redirect_url("/blobs/ab/data", method="DELETE") is None


def test_redirectendpoint_signs_urls_for_the_public_host(
    s3_params: Params, moto_server: str
) -> None:
    port = urlsplit(moto_server).port
    public = f"http://localhost:{port}"
    driver = open_driver("s3", **s3_params(redirectendpoint=public))
    driver.put_content("/file", b"public")
    url = driver.redirect_url("/file") or ""
    assert url.startswith(f"{public}/")
    assert fetch(url)[2] == b"public"


def test_move_above_the_threshold_uses_parallel_part_copies(s3_params: Params) -> None:
    driver = S3Driver.from_parameters(
        s3_params(multipartcopythresholdsize="5242880", multipartcopychunksize="5242880")
    )
    data = random_bytes(12 * MiB)
    driver.put_content("/big/src", data)
    counter = RequestCounter(driver.client)
    driver.move("/big/src", "/big/dst")
    assert counter.calls["UploadPartCopy"] == 3
    assert counter.calls["CopyObject"] == 0
    assert sha256(driver.get_content("/big/dst")) == sha256(data)
    with pytest.raises(PathNotFoundError):
        driver.stat("/big/src")
    counter.reset()
    driver.put_content("/small", b"tiny")
    driver.copy("/small", "/small-copy")
    assert counter.calls["CopyObject"] == 1
    assert driver.get_content("/small-copy") == driver.get_content("/small") == b"tiny"


def test_a_failed_multipart_copy_is_aborted_and_leaves_no_destination(
    s3_params: Params, s3_admin: Any
) -> None:
    driver = S3Driver.from_parameters(
        s3_params(multipartcopythresholdsize="5242880", multipartcopychunksize="5242880")
    )
    driver.put_content("/big/src", random_bytes(11 * MiB))
    bucket = driver.settings.bucket

    def source_vanishes(params: dict[str, Any], **_: Any) -> None:
        # The source is deleted while its parts are being copied: S3 rejects the copy.
        if params.get("PartNumber") == 3:
            s3_admin.delete_object(Bucket=bucket, Key=driver.key("/big/src"))

    driver.client.meta.events.register("provide-client-params.s3.UploadPartCopy", source_vanishes)
    with pytest.raises(PathNotFoundError) as caught:
        driver.move("/big/src", "/big/dst")
    assert caught.value.path == "/big/src"
    assert s3_admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with pytest.raises(PathNotFoundError):
        driver.stat("/big/dst")


def test_missing_bucket_is_a_clear_error_without_credentials(s3_params: Params) -> None:
    params = s3_params(bucket="no-such-bucket-here")
    driver = open_driver("s3", **params)
    with pytest.raises(StorageDriverError) as caught:
        driver.stat("/")
    message = str(caught.value)
    assert message.startswith("s3: stat /: bucket 'no-such-bucket-here' does not exist")
    assert params["secretkey"] not in message
    assert not isinstance(caught.value, PathNotFoundError)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_an_endpoint_refusing_connections_is_a_clear_error(s3_params: Params) -> None:
    params = s3_params(regionendpoint=f"http://127.0.0.1:{free_port()}")
    settings = dataclasses.replace(read_settings(params), max_attempts=2)
    driver = validated(S3Driver(settings))  # two attempts instead of five keep it quick
    with pytest.raises(StorageDriverError) as caught:
        driver.get_content("/x")
    assert "get_content /x: cannot reach the S3 endpoint http://127.0.0.1:" in str(caught.value)
    assert params["secretkey"] not in str(caught.value)


def test_an_upload_aborted_behind_the_writer_fails_commit_and_shows_nothing(
    s3_params: Params, s3_admin: Any
) -> None:
    driver = open_driver("s3", **s3_params(chunksize="5242880"))
    writer = driver.writer("/vanish/data")
    writer.write(random_bytes(6 * MiB))
    bucket = s3_params()["bucket"]
    for upload in s3_admin.list_multipart_uploads(Bucket=bucket)["Uploads"]:
        s3_admin.abort_multipart_upload(
            Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
        )
    with pytest.raises(StorageDriverError) as caught:
        writer.commit()
    # The part in flight or the commit itself fails, depending on timing: both name the path.
    assert re.search(r"^s3: (write|commit) /vanish/data: ", str(caught.value))
    with pytest.raises(PathNotFoundError):
        driver.stat("/vanish/data")


def test_a_bucket_deleted_mid_write_fails_commit(s3_params: Params, s3_admin: Any) -> None:
    driver = open_driver("s3", **s3_params(chunksize="5242880"))
    writer = driver.writer("/vanish/data")
    writer.write(random_bytes(6 * MiB))
    bucket = s3_params()["bucket"]
    for upload in s3_admin.list_multipart_uploads(Bucket=bucket)["Uploads"]:
        s3_admin.abort_multipart_upload(
            Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
        )
    s3_admin.delete_bucket(Bucket=bucket)
    with pytest.raises(StorageDriverError) as caught:
        writer.commit()
    assert "does not exist" in str(caught.value) or "no longer exists" in str(caught.value)
    s3_admin.create_bucket(Bucket=bucket)
    with pytest.raises(PathNotFoundError):
        driver.stat("/vanish/data")


def test_a_rootdirectory_with_characters_s3_encodes_round_trips(
    s3_params: Params, s3_admin: Any
) -> None:
    root = "my root/ü+%&=?#"
    driver = open_driver("s3", **s3_params(rootdirectory=root))
    driver.put_content("/dir/file", b"odd")
    with driver.writer("/dir/streamed") as writer:
        writer.write(b"streamed")
        writer.commit()
    driver.move("/dir/streamed", "/dir/moved")
    assert driver.get_content("/dir/file") == b"odd"
    assert driver.list("/dir") == ["/dir/file", "/dir/moved"]
    assert [i.path for i in driver.walk("/")] == ["/dir", "/dir/file", "/dir/moved"]
    keys = [o["Key"] for o in s3_admin.list_objects_v2(Bucket=s3_params()["bucket"])["Contents"]]
    assert keys == [f"{root}/dir/file", f"{root}/dir/moved"]
    assert fetch(driver.redirect_url("/dir/file") or "")[2] == b"odd"
    driver.delete("/dir")
    assert driver.list("/") == []


def test_object_parameters_reach_s3(s3_params: Params, s3_admin: Any) -> None:
    params = s3_params(
        encrypt="true",
        storageclass="reduced_redundancy",
        objectacl="public-read",
        useragent="registry-test/1.0",
        v4auth="false",
    )
    driver = S3Driver.from_parameters(params)
    agents: list[str] = []

    def remember_agent(request: Any, **_: Any) -> None:
        agent = request.headers["User-Agent"]
        agents.append(agent.decode() if isinstance(agent, bytes) else agent)

    driver.client.meta.events.register("before-send.s3.*", remember_agent)
    driver.put_content("/put", b"a")
    with driver.writer("/streamed") as writer:
        writer.write(random_bytes(6 * MiB))
        writer.commit()
    bucket = params["bucket"]
    for path in ("/put", "/streamed"):
        head = s3_admin.head_object(Bucket=bucket, Key=driver.key(path))
        assert head["ServerSideEncryption"] == "AES256"
        assert head["StorageClass"] == "REDUCED_REDUNDANCY"
        grants = s3_admin.get_object_acl(Bucket=bucket, Key=driver.key(path))["Grants"]
        assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in grants)
    assert agents and all("registry-test/1.0" in agent for agent in agents)
    without_acl = S3Driver.from_parameters(s3_params(objectacl="none"))
    sent: list[Any] = []
    without_acl.client.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: sent.append(request.headers)
    )
    without_acl.put_content("/no-acl", b"b")
    assert sent and "x-amz-acl" not in {name.lower() for name in sent[0]}
    url = driver.redirect_url("/put") or ""
    assert "AWSAccessKeyId=" in url and "X-Amz-Signature" not in url  # v2 signing
    assert fetch(url)[2] == b"a"
