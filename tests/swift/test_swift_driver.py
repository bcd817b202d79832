"""Swift-specific behaviour of the swift driver against a real local OpenStack Swift.

What the conformance suite cannot see: TempURLs fetched over HTTP, segments and upload
records never leaking, resuming in a new driver instance, parameters, and the failures an
operator meets (wrong password, a server that goes away mid-upload, missing segments).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.copy_from import check_copy_from
from swift_support import SwiftServer, start_swift, stop_swift

from distribution_storage.driver.contract import Capability
from distribution_storage.driver.errors import (
    ConfigurationError,
    PathNotFoundError,
    StorageDriverError,
)
from distribution_storage.driver.wrapper import validated
from distribution_storage.drivers import open_driver
from distribution_storage.drivers.swift import SwiftDriver
from distribution_storage.drivers.swift_parameters import parse_parameters

MiB = 1 << 20
MakeDriver = Callable[..., SwiftDriver]


def stored_keys(driver: SwiftDriver) -> list[str]:
    """Every object in the driver's container."""
    return sorted(driver.walk_keys())


def write_closed(driver: SwiftDriver, path: str, data: bytes) -> None:
    """Write ``data`` through a writer and close it without committing."""
    writer = driver.writer(path)
    writer.write(data)
    writer.close()


def test_large_write_is_a_static_large_object_and_delete_removes_its_segments(
    make_swift_driver: MakeDriver,
) -> None:
    driver = make_swift_driver()
    data = bytes(range(256)) * (10 * 1024 + 3)  # 2.5 MiB: three segments
    writer = driver.writer("/dir/blob")
    writer.write(data)
    writer.commit()
    keys = stored_keys(driver)
    assert [k for k in keys if k.startswith("segments/")] != []
    assert not [k for k in keys if k.startswith("uploads/")]
    assert driver.get_content("/dir/blob") == data
    with driver.reader("/dir/blob", offset=MiB + 5) as stream:
        assert stream.read() == data[MiB + 5 :]
    driver.delete("/dir")
    assert stored_keys(driver) == []


def test_resume_in_a_new_driver_instance_finds_exactly_the_segments(
    make_swift_driver: MakeDriver,
) -> None:
    first = make_swift_driver()
    part1 = b"a" * (MiB + 17)
    write_closed(first, "/up/load", part1)
    first.close()
    second = make_swift_driver()
    writer = second.writer("/up/load", append=True)
    assert writer.size == len(part1)
    with pytest.raises(PathNotFoundError):
        second.stat("/up/load")  # closed, not committed: nothing under the final name
    assert second.list("/") == []  # the upload record is hidden from listings
    part2 = b"b" * (2 * MiB + 3)
    writer.write(part2)
    writer.commit()
    assert second.get_content("/up/load") == part1 + part2
    second.delete("/up/load")
    assert stored_keys(second) == []


def test_cancel_of_a_resumed_upload_removes_all_segments(make_swift_driver: MakeDriver) -> None:
    driver = make_swift_driver()
    write_closed(driver, "/c/ancel", b"x" * (MiB + 1))
    writer = driver.writer("/c/ancel", append=True)
    writer.write(b"y" * MiB)
    writer.cancel()
    assert stored_keys(driver) == []
    with pytest.raises(PathNotFoundError):
        driver.writer("/c/ancel", append=True)


def test_overwriting_a_large_object_deletes_its_old_segments(make_swift_driver: MakeDriver) -> None:
    driver = make_swift_driver()
    writer = driver.writer("/big")
    writer.write(b"z" * (2 * MiB + 9))
    writer.commit()
    driver.put_content("/big", b"small")
    assert driver.get_content("/big") == b"small"
    assert stored_keys(driver) == ["files/big"]


def test_move_and_copy_of_a_large_object_keep_content_and_leak_nothing(
    make_swift_driver: MakeDriver,
) -> None:
    driver = make_swift_driver()
    data = b"m" * (2 * MiB) + b"tail"
    writer = driver.writer("/src")
    writer.write(data)
    writer.commit()
    driver.move("/src", "/moved/dst")
    assert driver.get_content("/moved/dst") == data
    with pytest.raises(PathNotFoundError):
        driver.stat("/src")
    driver.copy("/moved/dst", "/copy")
    driver.delete("/moved")  # the copy owns its own segments
    assert driver.get_content("/copy") == data
    driver.delete("/copy")
    assert stored_keys(driver) == []


def test_append_to_committed_content_continues_it(make_swift_driver: MakeDriver) -> None:
    driver = make_swift_driver()
    driver.put_content("/grow", b"start-")
    writer = driver.writer("/grow", append=True)
    assert writer.size == 6
    writer.write(b"more")
    writer.commit()
    assert driver.get_content("/grow") == b"start-more"


def test_tempurl_redirects_are_fetched_over_http(make_swift_driver: MakeDriver) -> None:
    driver = make_swift_driver(secretkey="a-tempurl-key")
    assert Capability.REDIRECT in driver.capabilities
    data = b"r" * (MiB + 100)
    writer = driver.writer("/redir/blob")
    writer.write(data)
    writer.commit()
    url = driver.redirect_url("/redir/blob")
    assert url is not None and "temp_url_sig=" in url
    with urllib.request.urlopen(url) as response:
        assert response.read() == data
    head_url = driver.redirect_url("/redir/blob", method="HEAD")
    assert head_url is not None
    with urllib.request.urlopen(urllib.request.Request(head_url, method="HEAD")) as response:
        assert int(response.headers["Content-Length"]) == len(data)
    forged = url.replace("temp_url_sig=", "temp_url_sig=0")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(forged)
    assert info.value.code == 401


def test_tempurl_methods_limit_redirects(make_swift_driver: MakeDriver) -> None:
    driver = make_swift_driver(secretkey="k-123456", tempurlmethods="GET")
    driver.put_content("/f", b"1")
    assert driver.redirect_url("/f") is not None
    assert driver.redirect_url("/f", method="HEAD") is None


def test_no_redirect_capability_without_a_key(swift_server: SwiftServer) -> None:
    driver = SwiftDriver.from_parameters(
        swift_server.parameters(username="test2:tester2", password="testing2")
    )
    assert Capability.REDIRECT not in driver.capabilities
    driver.put_content("/f", b"1")
    assert driver.redirect_url("/f") is None


def test_container_key_and_prefix(make_swift_driver: MakeDriver) -> None:
    driver = make_swift_driver(secretkey="container-key", tempurlcontainerkey=True, prefix="/reg/")
    driver.put_content("/a/b", b"data")
    assert stored_keys(driver) == ["reg/files/a/b"]
    url = driver.redirect_url("/a/b")
    assert url is not None
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"data"


def test_abort_pending_uploads_removes_closed_uploads(make_swift_driver: MakeDriver) -> None:
    driver = make_swift_driver()
    write_closed(driver, "/p/one", b"1" * (MiB + 1))
    write_closed(driver, "/p/two", b"2" * 10)
    write_closed(driver, "/other", b"3" * 10)
    past = datetime.now(UTC) - timedelta(hours=1)
    assert driver.abort_pending_uploads("/p", older_than=past) == 0
    future = datetime.now(UTC) + timedelta(hours=1)
    assert driver.abort_pending_uploads("/p", older_than=future) == 2
    assert [k for k in stored_keys(driver) if not k.startswith("segments/")] == ["uploads/other"]


def test_missing_segments_fail_the_commit_clearly(make_swift_driver: MakeDriver) -> None:
    driver = make_swift_driver()
    write_closed(driver, "/broken", b"s" * (MiB + 1))
    segments = [k for k in stored_keys(driver) if k.startswith("segments/")]
    driver.store.delete_keys(segments[:1])
    writer = validated(driver).writer("/broken", append=True)
    writer.write(b"more")
    with pytest.raises(StorageDriverError, match="segments are missing"):
        writer.commit()
    with pytest.raises(PathNotFoundError):
        driver.stat("/broken")


def test_wrong_password_is_a_clear_error_without_the_password(swift_server: SwiftServer) -> None:
    params = swift_server.parameters(password="not-the-password")
    with pytest.raises(StorageDriverError) as info:
        open_driver("swift", **params)
    message = str(info.value)
    assert "authenticate" in message and "401" in message
    assert "not-the-password" not in message


def test_bad_parameters_name_the_parameter(swift_server: SwiftServer) -> None:
    with pytest.raises(ConfigurationError, match="chunksize"):
        parse_parameters(swift_server.parameters(chunksize=1000))
    with pytest.raises(ConfigurationError, match="container"):
        parse_parameters({k: v for k, v in swift_server.parameters().items() if k != "container"})
    with pytest.raises(ConfigurationError, match="bogus"):
        parse_parameters(swift_server.parameters(bogus="1"))
    parsed = parse_parameters(
        swift_server.parameters(chunksize="2097152", insecureskipverify="true", authversion="1")
    )
    assert (parsed.chunksize, parsed.insecureskipverify, parsed.auth_version) == (
        2 * MiB,
        True,
        "1",
    )
    assert parse_parameters(swift_server.parameters(authurl="http://k/v3")).auth_version == "3"


def test_missing_container_is_created(swift_server: SwiftServer) -> None:
    params: dict[str, Any] = swift_server.parameters(container="created-by-driver")
    driver = SwiftDriver.from_parameters(params)
    driver.put_content("/x", b"1")
    assert driver.store.conn.head_container("created-by-driver") is not None


def test_server_going_away_mid_upload_fails_and_leaves_nothing_visible(tmp_path: Path) -> None:
    server = start_swift(tmp_path)
    params = server.parameters(container="fragile")
    try:
        driver = validated(SwiftDriver.from_parameters(params))
        writer = driver.writer("/gone/blob")
        writer.write(b"1" * (MiB + 5))
    finally:
        stop_swift(server)
    with pytest.raises(StorageDriverError) as info:
        writer.write(b"2" * MiB)
        writer.commit()
    assert "swift" in str(info.value) and "testing" not in str(info.value)
    with pytest.raises(StorageDriverError):
        SwiftDriver.from_parameters(params)  # server down at start-up: a clear error too
    again = start_swift(tmp_path)  # same devices, new ports
    try:
        driver = SwiftDriver.from_parameters(again.parameters(container="fragile"))
        with pytest.raises(PathNotFoundError):
            driver.stat("/gone/blob")
    finally:
        stop_swift(again)


def test_past_the_manifest_limit_segments_nest_in_sub_manifests(
    make_swift_driver: MakeDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distribution_storage.drivers import swift_store

    monkeypatch.setattr(swift_store, "MAX_MANIFEST_SEGMENTS", 2)
    driver = make_swift_driver()
    data = bytes(range(256)) * (5 * 4096) + b"end"  # 5 MiB + 3 bytes: six segments
    writer = driver.writer("/nested/blob")
    writer.write(data)
    writer.commit()
    assert len([k for k in stored_keys(driver) if "/manifest-" in k]) == 3
    assert driver.stat("/nested/blob").size == len(data)
    with driver.reader("/nested/blob", offset=3 * MiB - 1) as stream:
        assert stream.read() == data[3 * MiB - 1 :]
    driver.move("/nested/blob", "/nested/moved")
    assert driver.get_content("/nested/moved") == data
    driver.copy("/nested/moved", "/nested/copy")
    writer = driver.writer("/nested/copy", append=True)  # continues the committed content
    assert writer.size == len(data)
    writer.write(b"+more")
    writer.commit()
    assert driver.get_content("/nested/copy") == data + b"+more"
    assert driver.get_content("/nested/moved") == data
    driver.delete("/nested")
    assert stored_keys(driver) == []


def test_without_bulk_delete_objects_are_deleted_one_by_one(make_swift_driver: MakeDriver) -> None:
    driver = make_swift_driver()
    driver.store.bulk_limit = 0  # as on a cluster whose /info offers no bulk_delete
    assert Capability.BATCH_DELETE not in driver.capabilities
    for name in ("a", "b", "c"):
        driver.put_content(f"/one/{name}", b"1")
    writer = driver.writer("/one/big")
    writer.write(b"2" * (MiB + 1))
    writer.commit()
    assert driver.delete_many(["/one", "/missing"]) == ["/missing"]
    assert stored_keys(driver) == []


def test_keystone_options_reach_swiftclient(swift_server: SwiftServer) -> None:
    from distribution_storage.drivers.swift_parameters import connection_options

    params = parse_parameters(
        swift_server.parameters(
            authurl="https://keystone.example/v3",
            tenant="proj",
            tenantid="p-1",
            domain="users",
            tenantdomainid="d-2",
            region="RegionTwo",
            endpointtype="internal",
            insecureskipverify=True,
        )
    )
    options = connection_options(params)
    assert options["auth_version"] == "3" and options["insecure"] is True
    assert options["os_options"] == {
        "endpoint_type": "internal",
        "region_name": "RegionTwo",
        "tenant_name": "proj",
        "project_name": "proj",
        "tenant_id": "p-1",
        "project_id": "p-1",
        "user_domain_name": "users",
        "project_domain_id": "d-2",
    }


def test_a_writer_that_died_before_close_is_cleaned_up(make_swift_driver: MakeDriver) -> None:
    driver = make_swift_driver()
    writer = driver.writer("/crashed")
    writer.write(b"c" * (2 * MiB + 1))  # two segments uploaded, never closed
    del writer
    assert [k for k in stored_keys(driver) if k.startswith("segments/")] != []
    future = datetime.now(UTC) + timedelta(hours=1)
    assert driver.abort_pending_uploads("/", older_than=future) == 1
    assert stored_keys(driver) == []


def test_resume_in_another_process(swift_params: dict[str, Any]) -> None:
    script = (
        "import json, sys\n"
        "from distribution_storage.drivers.swift import SwiftDriver\n"
        "driver = SwiftDriver.from_parameters(json.loads(sys.argv[1]))\n"
        "writer = driver.writer('/proc/blob')\n"
        "writer.write(b'p' * (2 * 1024 * 1024 + 11))\n"
        "writer.close()\n"
    )
    subprocess.run([sys.executable, "-c", script, json.dumps(swift_params)], check=True)
    driver = SwiftDriver.from_parameters(swift_params)
    writer = driver.writer("/proc/blob", append=True)
    assert writer.size == 2 * MiB + 11
    writer.write(b"q")
    writer.commit()
    assert driver.get_content("/proc/blob") == b"p" * (2 * MiB + 11) + b"q"


def test_delete_files_takes_large_object_segments_along(make_swift_driver: MakeDriver) -> None:
    driver = make_swift_driver()
    writer = driver.writer("/blobs/big")
    writer.write(b"b" * (2 * MiB + 1))
    writer.commit()
    driver.put_content("/blobs/small", b"s")
    driver.put_content("/blobs/kept", b"k")
    assert driver.delete_files(["/blobs/big", "/blobs/small", "/blobs/none"]) == ["/blobs/none"]
    assert stored_keys(driver) == ["files/blobs/kept"]


def test_copy_from_another_container_of_the_account_copies_inside_swift(
    swift_server: SwiftServer,
) -> None:
    source, target = (SwiftDriver.from_parameters(swift_server.parameters()) for _ in "st")
    assert source.store.container != target.store.container
    large = bytes(range(256)) * (10 * 1024 + 3)  # 2.5 MiB: a three-segment SLO
    writer = source.writer("/blobs/large")
    writer.write(large)
    writer.commit()
    source.put_content("/blobs/small", b"small blob")
    check_copy_from(source, target, {"/blobs/large": large, "/blobs/small": b"small blob"})
    # The copy's segments live in the target's container: it survives the source's deletion.
    assert len([k for k in stored_keys(target) if k.startswith("segments/")]) == 3
    source.delete("/blobs")
    assert target.get_content("/copied/blobs/large") == large


def test_copy_from_another_account_declines_and_writes_nothing(
    make_swift_driver: MakeDriver, swift_server: SwiftServer
) -> None:
    other_account = SwiftDriver.from_parameters(
        swift_server.parameters(username="test2:tester2", password="testing2")
    )
    other_account.put_content("/blob", b"theirs")
    target = make_swift_driver()
    assert not target.copy_from(other_account, "/blob", "/blob")
    assert not target.copy_from(open_driver("inmemory"), "/blob", "/blob")
    assert stored_keys(target) == []
