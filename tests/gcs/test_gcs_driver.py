"""The gcs driver beyond the conformance suite, against fake-gcs-server.

Parameters as distribution spells them, V4 signed URLs fetched over HTTP, resumable uploads
carried on by a new driver instance at sizes that cross the 256 KiB granularity while staying
invisible, the placeholder format distribution uses, aborting stale sessions, and bad input:
a missing bucket, an emulator that is down, a credential that must not leak into errors.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from gcs_emulator import GCSEmulator, free_port, start_emulator
from support.copy_from import check_copy_from
from support.flaky_proxy import FlakyProxy

from distribution_storage.driver.contract import Capability
from distribution_storage.driver.errors import (
    ConfigurationError,
    PathNotFoundError,
    StorageDriverError,
)
from distribution_storage.driver.wrapper import validated
from distribution_storage.drivers import open_driver
from distribution_storage.drivers.gcs import SESSIONS, GCSDriver
from distribution_storage.drivers.gcs_parameters import GCSParameters
from distribution_storage.drivers.gcs_writer import SESSION_CONTENT_TYPE

KiB = 1024
Params = Callable[..., dict[str, Any]]


def test_parameters_defaults_and_strings() -> None:
    """Defaults are distribution's; values given as strings (env overrides) are accepted."""
    params = GCSParameters.from_mapping({"bucket": "b"})
    assert (params.chunksize, params.maxconcurrency, params.rootdirectory) == (16 * 2**20, 50, "")
    params = GCSParameters.from_mapping(
        {"bucket": "b", "chunksize": "524288", "maxconcurrency": "30", "rootdirectory": "/r/x/"}
    )
    assert (params.chunksize, params.maxconcurrency, params.rootdirectory) == (524288, 30, "r/x")


@pytest.mark.parametrize(
    ("parameters", "key"),
    [
        ({}, "bucket"),
        ({"bucket": "b", "chunksize": 300000}, "chunksize"),
        ({"bucket": "b", "chunksize": 128 * KiB}, "chunksize"),
        ({"bucket": "b", "maxconcurrency": 3}, "maxconcurrency"),
        ({"bucket": "b", "keyfile": "/nonexistent/key.json"}, "keyfile"),
        ({"bucket": "b", "credentials": {"client_email": "x@y"}}, "credentials"),
        ({"bucket": "b", "regionendpoint": "x"}, "regionendpoint"),
    ],
)
def test_bad_parameters_name_the_key(parameters: dict[str, Any], key: str) -> None:
    """Each bad parameter is a ConfigurationError naming it."""
    with pytest.raises(ConfigurationError) as caught:
        GCSParameters.from_mapping(parameters)
    assert key in str(caught.value)


def test_keyfile_is_read(tmp_path: Path, service_account_info: dict[str, str]) -> None:
    """``keyfile`` loads a service-account JSON file; its private key is a declared secret."""
    keyfile = tmp_path / "key.json"
    keyfile.write_text(json.dumps(service_account_info))
    params = GCSParameters.from_mapping({"bucket": "b", "keyfile": str(keyfile)})
    assert params.private_key == service_account_info["private_key"]
    assert "private_key" not in repr(params)


def test_open_driver_by_name(gcs_params: Params) -> None:
    """The factory opens ``gcs`` from distribution parameters, behind the wrapper."""
    driver = open_driver("gcs", **gcs_params(rootdirectory="/factory"))
    driver.put_content("/x", b"y")
    assert driver.get_content("/x") == b"y"
    assert Capability.REDIRECT not in driver.capabilities
    assert driver.redirect_url("/x") is None


def test_signed_urls_are_fetched_over_http(
    gcs_params: Params, service_account_info: dict[str, str]
) -> None:
    """With a service-account key, GET and HEAD signed URLs serve the object over HTTP."""
    driver = validated(
        GCSDriver.from_parameters(gcs_params(credentials=service_account_info, rootdirectory="s"))
    )
    assert Capability.REDIRECT in driver.capabilities
    driver.put_content("/signed/blob", b"signed content")
    url = driver.redirect_url("/signed/blob")
    assert url is not None and "X-Goog-Signature=" in url and "X-Goog-Expires=1200" in url
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and response.content == b"signed content"
    head_url = driver.redirect_url("/signed/blob", method="HEAD")
    assert head_url is not None
    head = requests.head(head_url, timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == "14"


def _assert_invisible(driver: Any, path: str) -> None:
    with pytest.raises(PathNotFoundError):
        driver.stat(path)
    with pytest.raises(PathNotFoundError):
        driver.get_content(path)
    with pytest.raises(PathNotFoundError):
        driver.reader(path)
    parent = path.rsplit("/", 1)[0]
    with contextlib.suppress(PathNotFoundError):  # the upload alone does not make a directory
        assert path not in driver.list(parent)
    assert all(info.path != path for info in driver.walk("/"))
    assert all(SESSIONS not in p for p in driver.list("/"))


@pytest.mark.parametrize(
    "sizes",
    [
        (300 * KiB, 700 * KiB, 100 * KiB),  # tails left behind at every close
        (256 * KiB, 512 * KiB, 1),  # exact 256 KiB multiples, no tail
        (100, 200 * KiB, 2 * 1024 * KiB + 5),  # first close sends nothing
    ],
)
def test_resume_in_new_instances_across_256k(
    gcs_params: Params, gcs_emulator: GCSEmulator, gcs_bucket: str, sizes: tuple[int, ...]
) -> None:
    """Each session closes, a new driver resumes it; unfinished data stays invisible."""
    params = gcs_params(rootdirectory="resume")
    path = f"/uploads/u-{sizes[0]}-{sizes[1]}/data"
    written = b""
    for index, size in enumerate(sizes):
        driver = validated(GCSDriver.from_parameters(params))
        writer = driver.writer(path, append=index > 0)
        assert writer.size == len(written)
        chunk = os.urandom(size)
        writer.write(chunk)
        written += chunk
        assert writer.size == len(written)
        if index < len(sizes) - 1:
            writer.close()
            _assert_invisible(driver, path)
        else:
            writer.commit()
        driver.close()
    reader = validated(GCSDriver.from_parameters(params))
    assert reader.get_content(path) == written
    assert reader.stat(path).size == len(written)
    assert _session_keys(gcs_emulator, gcs_bucket, "resume/") == []
    reader.delete("/uploads")


def _session_keys(emulator: GCSEmulator, bucket: str, root: str) -> list[str]:
    listing = requests.get(
        f"{emulator.endpoint}/storage/v1/b/{bucket}/o", params={"prefix": f"{root}{SESSIONS}/"}
    ).json()
    return [item["name"] for item in listing.get("items", [])]


def test_resume_after_append_of_committed_content(gcs_params: Params) -> None:
    """Appending to committed content carries it over into the new upload."""
    driver = validated(GCSDriver.from_parameters(gcs_params(rootdirectory="appendc")))
    driver.put_content("/f", b"abc")
    writer = driver.writer("/f", append=True)
    assert writer.size == 3
    writer.write(b"def")
    writer.commit()
    assert driver.get_content("/f") == b"abcdef"
    driver.delete("/f")


def test_placeholder_is_distributions_format(
    gcs_params: Params, gcs_emulator: GCSEmulator, gcs_bucket: str
) -> None:
    """A closed writer leaves a placeholder with the session URI, offset and unsent tail."""
    driver = validated(GCSDriver.from_parameters(gcs_params(rootdirectory="ph")))
    writer = driver.writer("/up/data")
    writer.write(b"x" * (256 * KiB + 10))
    writer.close()
    name = requests.utils.quote(f"ph/{SESSIONS}/up/data", safe="")
    meta = requests.get(f"{gcs_emulator.endpoint}/storage/v1/b/{gcs_bucket}/o/{name}").json()
    assert meta["contentType"] == SESSION_CONTENT_TYPE
    assert meta["metadata"]["Offset"] == str(256 * KiB)
    assert meta["metadata"]["Session-URI"].startswith(gcs_emulator.endpoint)
    assert int(meta["size"]) == 10
    driver.delete("/up")
    with pytest.raises(PathNotFoundError):
        driver.writer("/up/data", append=True)


def test_abort_pending_uploads_by_age(gcs_params: Params) -> None:
    """Sessions older than the cutoff are aborted; newer ones and other paths stay."""
    driver = validated(GCSDriver.from_parameters(gcs_params(rootdirectory="abort")))
    for name in ("a", "b"):
        writer = driver.writer(f"/uploads/{name}/data")
        writer.write(b"pending")
        writer.close()
    past = datetime.now(UTC) - timedelta(hours=1)
    assert driver.abort_pending_uploads("/uploads", older_than=past) == 0
    future = datetime.now(UTC) + timedelta(hours=1)
    assert driver.abort_pending_uploads("/uploads/a", older_than=future) == 1
    with pytest.raises(PathNotFoundError):
        driver.writer("/uploads/a/data", append=True)
    assert driver.writer("/uploads/b/data", append=True).size == 7
    assert driver.abort_pending_uploads("/", older_than=future) == 1


def test_missing_bucket_is_a_configuration_error(gcs_params: Params) -> None:
    """A bucket that does not exist fails at construction, naming the bucket."""
    with pytest.raises(ConfigurationError) as caught:
        GCSDriver.from_parameters(gcs_params(bucket="no-such-bucket"))
    assert "no-such-bucket" in str(caught.value) and "does not exist" in str(caught.value)


def test_emulator_down_is_a_clear_error_without_credentials(
    monkeypatch: pytest.MonkeyPatch, service_account_info: dict[str, str]
) -> None:
    """An endpoint nobody answers on gives a StorageDriverError, with no key in it."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{free_port()}")
    parameters = GCSParameters.from_mapping({"bucket": "b", "credentials": service_account_info})
    with pytest.raises(StorageDriverError) as caught:
        GCSDriver(parameters, retry_timeout=1.0)
    message = str(caught.value)
    assert "open bucket b" in message and "127.0.0.1" in message
    assert "PRIVATE KEY" not in message


def test_emulator_stopping_midway_names_operation_and_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A driver whose emulator went away reports a typed error naming the verb and path."""
    emulator = start_emulator(tmp_path)
    try:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.endpoint)
        parameters = GCSParameters.from_mapping({"bucket": emulator.create_bucket()})
        driver = validated(GCSDriver(parameters, retry_timeout=1.0))
        driver.put_content("/some/file", b"x")
    finally:
        emulator.stop()
    with pytest.raises(StorageDriverError) as caught:
        driver.stat("/some/file")
    assert not isinstance(caught.value, PathNotFoundError)
    assert "gcs: stat /some/file" in str(caught.value)


def test_walk_of_a_file_or_missing_path_is_not_found(gcs_params: Params) -> None:
    """Walking a file, or a missing path even with ``start_after``, raises PathNotFoundError."""
    driver = validated(GCSDriver.from_parameters(gcs_params(rootdirectory="walkfile")))
    driver.put_content("/d/file", b"x")
    with pytest.raises(PathNotFoundError):
        list(driver.walk("/d/file"))
    with pytest.raises(PathNotFoundError):
        list(driver.walk("/missing", start_after="/missing/a"))
    assert [info.path for info in driver.walk("/d", start_after="/d/file")] == []
    driver.delete("/d")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_errors_are_retried(
    gcs_emulator: GCSEmulator, gcs_bucket: str, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    """429 and 5xx answers (from a real proxy in front of the emulator) are retried away."""
    with FlakyProxy(gcs_emulator.endpoint) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.endpoint)
        driver = validated(
            GCSDriver.from_parameters({"bucket": gcs_bucket, "rootdirectory": f"retry{status}"})
        )
        calls: list[tuple[str, Callable[[], object]]] = [
            ("put_content", lambda: driver.put_content("/r/file", b"retried")),
            ("get_content", lambda: driver.get_content("/r/file")),
            ("stat", lambda: driver.stat("/r/file")),
            ("list", lambda: driver.list("/r")),
            ("move", lambda: driver.move("/r/file", "/r/moved")),
            ("delete", lambda: driver.delete("/r")),
        ]
        for name, call in calls:
            proxy.fail_next(1, status)
            call()
            assert proxy.injected == 1, name
        with pytest.raises(PathNotFoundError):
            driver.stat("/r/moved")


def test_persistent_errors_give_up_with_a_typed_error(
    gcs_emulator: GCSEmulator, gcs_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service that keeps failing ends in a StorageDriverError naming the verb and path."""
    with FlakyProxy(gcs_emulator.endpoint) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.endpoint)
        parameters = GCSParameters.from_mapping({"bucket": gcs_bucket})
        driver = validated(GCSDriver(parameters, retry_timeout=1.0))
        proxy.fail_next(1000, 503)
        with pytest.raises(StorageDriverError) as caught:
            driver.get_content("/never")
        assert not isinstance(caught.value, PathNotFoundError)
        assert "gcs: get_content /never" in str(caught.value)
        assert proxy.injected > 1


def test_unusable_key_is_a_configuration_error_without_the_key(
    gcs_params: Params, service_account_info: dict[str, str]
) -> None:
    """A private key that is not a PEM key fails clearly, and the text shows none of it."""
    broken = {**service_account_info, "private_key": "-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n"}
    with pytest.raises(ConfigurationError) as caught:
        GCSDriver.from_parameters(gcs_params(credentials=broken))
    assert "credentials" in str(caught.value) and "bm9wZQ" not in str(caught.value)


def test_a_nested_store_hides_its_uploads_from_the_outer_one(gcs_params: Params) -> None:
    """A store rooted inside another one keeps its pending uploads out of the outer walk."""
    outer = validated(GCSDriver.from_parameters(gcs_params(rootdirectory="outer")))
    inner = validated(GCSDriver.from_parameters(gcs_params(rootdirectory="outer/inner")))
    inner.put_content("/done", b"visible")
    writer = inner.writer("/pending/data")
    writer.write(b"not yet")
    writer.close()
    assert [info.path for info in outer.walk("/")] == ["/inner", "/inner/done"]
    assert outer.list("/inner") == ["/inner/done"]
    outer.delete("/inner")
    with pytest.raises(PathNotFoundError):
        inner.writer("/pending/data", append=True)


def test_resumes_an_upload_distribution_left_at_the_path(
    gcs_params: Params, gcs_emulator: GCSEmulator, gcs_bucket: str
) -> None:
    """distribution's own placeholder (at the path itself) is hidden, and resumable here."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    params = gcs_params(rootdirectory="goplace")
    client = storage.Client(project="test", credentials=AnonymousCredentials())
    bucket = client.bucket(gcs_bucket)
    key = "goplace/uploads/x/data"
    sent, tail = os.urandom(256 * KiB), b"unsent tail"
    uri = bucket.blob(key).create_resumable_upload_session(content_type="application/octet-stream")
    ack = requests.put(uri, data=sent, headers={"Content-Range": f"bytes 0-{len(sent) - 1}/*"})
    assert ack.status_code == 308
    holder = bucket.blob(key)
    holder.metadata = {"Session-URI": uri, "Offset": str(len(sent))}
    holder.upload_from_string(tail, content_type=SESSION_CONTENT_TYPE)

    driver = validated(GCSDriver.from_parameters(params))
    _assert_invisible(driver, "/uploads/x/data")
    writer = driver.writer("/uploads/x/data", append=True)
    assert writer.size == len(sent) + len(tail)
    writer.write(b"+more")
    writer.commit()
    assert driver.get_content("/uploads/x/data") == sent + tail + b"+more"
    driver.delete("/uploads")


def test_walk_with_prune_never_lists_a_pruned_directory(
    gcs_emulator: GCSEmulator, gcs_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``prune``, the walk lists directory by directory and skips pruned subtrees."""
    with FlakyProxy(gcs_emulator.endpoint) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.endpoint)
        driver = validated(GCSDriver.from_parameters({"bucket": gcs_bucket, "rootdirectory": "pw"}))
        for name in ("keep/x", "keep/y/z", "skip/a/b", "skip/c", "top"):
            driver.put_content(f"/t/{name}", b"x")
        proxy.seen.clear()
        walked = [i.path for i in driver.walk("/t", prune=lambda i: i.path.endswith("/skip"))]
        assert walked == ["/t/keep", "/t/keep/x", "/t/keep/y", "/t/keep/y/z", "/t/skip", "/t/top"]
        listings = [line for line in proxy.seen if "prefix=" in line]
        assert any("keep%2F" in line for line in listings), listings
        assert not any("skip%2F" in line for line in listings), listings
        driver.delete("/t")


def test_walk_streams_its_flat_listing_page_by_page(
    gcs_emulator: GCSEmulator, gcs_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``prune``, the walk yields from the first listing page before it asks for the
    next, so a walk of a big store never holds the whole listing; the order is the
    contract's even where ``-`` and ``.`` sort before ``/`` in the listing."""
    with FlakyProxy(gcs_emulator.endpoint) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.endpoint)
        gcs = GCSDriver.from_parameters({"bucket": gcs_bucket, "rootdirectory": "stream"})
        gcs.list_page_size = 4
        driver = validated(gcs)
        names = [f"d{n:02d}/f" for n in range(20)] + ["a/x", "a-b/y", "a.c/z", "a/w/v"]
        for name in names:
            driver.put_content(f"/s/{name}", b"x")
        proxy.seen.clear()
        walk = driver.walk("/s")
        assert next(walk).path == "/s/a"
        pages = [line for line in proxy.seen if "prefix=" in line]
        assert len(pages) == 1, pages
        rest = [i.path for i in walk]
        assert rest[:6] == ["/s/a/w", "/s/a/w/v", "/s/a/x", "/s/a-b", "/s/a-b/y", "/s/a.c"]
        assert rest[-2:] == ["/s/d19", "/s/d19/f"]
        assert len([line for line in proxy.seen if "prefix=" in line]) >= len(names) // 4
        driver.delete("/s")


def test_copy_from_another_bucket_copies_inside_gcs(
    gcs_params: Params, gcs_emulator: GCSEmulator
) -> None:
    """``copy_from`` a driver on another bucket of the same emulator copies the bytes."""
    source = GCSDriver.from_parameters(gcs_params(rootdirectory="copysrc"))
    target = GCSDriver.from_parameters(
        gcs_params(bucket=gcs_emulator.create_bucket(), rootdirectory="copydst")
    )
    data = os.urandom(700 * KiB)
    source.put_content("/blobs/data", data)
    check_copy_from(source, target, {"/blobs/data": data})
    source.delete("/blobs")


def test_copy_from_another_endpoint_or_account_declines(
    gcs_params: Params,
    gcs_emulator: GCSEmulator,
    service_account_info: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A source reached through another endpoint, or with other credentials, is not copied
    server-side (False: the caller streams); the target is left untouched."""
    target = GCSDriver.from_parameters(gcs_params(bucket=gcs_emulator.create_bucket()))
    keyed = GCSDriver.from_parameters(gcs_params(credentials=service_account_info))
    keyed.put_content("/declined/keyed", b"keyed")
    assert target.copy_from(keyed, "/declined/keyed", "/copy") is False
    with FlakyProxy(gcs_emulator.endpoint) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.endpoint)
        proxied = GCSDriver.from_parameters(gcs_params())
        assert target.copy_from(proxied, "/declined/keyed", "/copy") is False
    with pytest.raises(PathNotFoundError):
        target.stat("/copy")
    keyed.delete("/declined")
